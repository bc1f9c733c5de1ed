package tests

import (
	"strconv"
	"strings"
	"testing"
)

// TestRunOptions checks options of syscage run that change the filter.
func TestRunOptions(t *testing.T) {
	pr := probe(t)
	cases := []struct {
		name     string
		opts     []string
		argv     []string
		wantOut  string
		wantCode int
	}{
		// i386 entry is killed by default and allowed, through the i386
		// table, with --arch i386.
		{"i386 refused", nil, []string{pr, "int80", strconv.Itoa(nrI386Getpid)}, "", 159},
		{"i386 accepted", []string{"--arch", "i386"}, []string{pr, "int80", strconv.Itoa(nrI386Getpid)}, "int80 ret=", 0},
		{"i386 rules apply", []string{"--arch", "i386"}, []string{pr, "int80", "26"}, "int80 errno=1\n", 0}, // i386 26: ptrace
		// --complain turns denials into log: ptrace runs (and fails
		// with ESRCH for a pid that does not exist, where the filter
		// would say EPERM), strict's kill becomes a log.
		{"ptrace denied", nil, []string{pr, "call", strconv.Itoa(nrPtrace), "16", "0x7ffffff0"}, "call errno=1\n", 0},
		{"complain lets ptrace run", []string{"--complain"}, []string{pr, "call", strconv.Itoa(nrPtrace), "16", "0x7ffffff0"}, "call errno=3\n", 0},
		{"complain under strict", []string{"--complain", "--profile", "strict"}, []string{"sh", "-c", "echo ran"}, "ran\n", 0},
		{"strict without complain", []string{"--profile", "strict"}, []string{"sh", "-c", "echo ran"}, "", 159},
		{"no-network refuses AF_INET", []string{"--profile", "no-network"}, []string{pr, "call", strconv.Itoa(nrSocket), "2", "1", "0"}, "call errno=97\n", 0},
		{"no-network keeps AF_UNIX", []string{"--profile", "no-network"}, []string{pr, "call", strconv.Itoa(nrSocket), "1", "1", "0"}, "call ret=3\n", 0},
		{"no-exec starts the program", []string{"--profile", "no-exec"}, []string{"sh", "-c", "echo started; /bin/true; echo status $?"}, "started\nstatus 126\n", 0},
		{"net none", []string{"--net=none"}, []string{"sh", "-c", "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '"}, "lo\n", 0},
		{"clean env", []string{"--clean-env", "--env", "A=b"}, []string{"sh", "-c", "echo $A ${SECRET:-none}"}, "b none\n", 0},
		{"spec-allow and log flags", []string{"--spec-allow", "--log"}, []string{"sh", "-c", "grep -c '^Seccomp:.2' /proc/self/status"}, "1\n", 0},
		{"cap-drop ALL", []string{"--cap-drop", "ALL"}, []string{"sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000000000000\n", 0},
		{"cap-add", []string{"--cap-drop", "ALL", "--cap-add", "NET_ADMIN"}, []string{"sh", "-c", "grep CapBnd /proc/self/status"}, "CapBnd:\t0000000000001000\n", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := caged(t, "", []string{"SECRET=x"}, c.opts, c.argv...)
			// A want ending in "=" only fixes the start (a pid follows).
			match := r.stdout == c.wantOut || strings.HasSuffix(c.wantOut, "=") && strings.HasPrefix(r.stdout, c.wantOut)
			if !match || r.code != c.wantCode {
				t.Errorf("got status %d stdout %q stderr %q; want status %d stdout %q", r.code, r.stdout, r.stderr, c.wantCode, c.wantOut)
			}
			if c.wantCode == 159 && !strings.Contains(r.stderr, "syscage: ") {
				t.Errorf("no explanation on stderr: %q", r.stderr)
			}
		})
	}
}
