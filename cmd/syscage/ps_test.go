package main

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/syscage/syscage/seccomp"
	"github.com/syscage/syscage/seccomp/seccomptest"
)

func TestPsCommand(t *testing.T) {
	needKernelDump(t)
	child := seccomptest.Start(t, seccomptest.Spec{
		NoNewPrivs: true,
		Filters:    []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}, {Program: seccomptest.AllowAll(2)}},
	})
	split := seccomptest.Start(t, seccomptest.Spec{
		NoNewPrivs: true, MainThreadOnly: true,
		Filters: []seccomptest.Filter{{Program: seccomptest.AllowAll(3)}},
	})
	self := os.Getpid()

	decode := func(t *testing.T, out string) map[int]seccomp.Process {
		t.Helper()
		var list []seccomp.Process
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		m := map[int]seccomp.Process{}
		for _, p := range list {
			m[p.PID] = p
		}
		return m
	}

	t.Run("given pids", func(t *testing.T) {
		out, errOut, code := captureMain(t, "ps", "--json", strconv.Itoa(child.PID), strconv.Itoa(self))
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		m := decode(t, out)
		if len(m) != 2 {
			t.Fatalf("%d processes, want 2", len(m))
		}
		if c := m[child.PID]; c.Mode != seccomp.ModeFilter || c.Filters != 2 || !c.NoNewPrivs {
			t.Errorf("child: %+v", c)
		}
		if s := m[self]; s.Mode != seccomp.ModeDisabled || s.Filters != 0 {
			t.Errorf("self: %+v", s)
		}
	})

	t.Run("filtered", func(t *testing.T) {
		out, errOut, code := captureMain(t, "ps", "--json", "--filtered")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		m := decode(t, out)
		if _, ok := m[child.PID]; !ok {
			t.Errorf("filtered child %d missing", child.PID)
		}
		if p, ok := m[split.PID]; !ok || len(p.Divergent) == 0 {
			t.Errorf("child with one filtered thread: %+v (listed %v)", p, ok)
		}
		if _, ok := m[self]; ok {
			t.Errorf("unfiltered test process listed")
		}
	})

	t.Run("table", func(t *testing.T) {
		out, errOut, code := captureMain(t, "ps", strconv.Itoa(child.PID), strconv.Itoa(split.PID))
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "PID") {
			t.Fatalf("want a header and two rows:\n%s", out)
		}
		for i, want := range [][]string{
			{strconv.Itoa(child.PID), "filter", "2", "yes"},
			{strconv.Itoa(split.PID), "filter", "1", "yes", "differ)"},
		} {
			f := strings.Fields(lines[i+1])
			for j, w := range want[:4] {
				if f[j] != w {
					t.Errorf("row %d column %d: %q, want %q (%s)", i, j, f[j], w, lines[i+1])
				}
			}
			if len(want) > 4 && !strings.Contains(lines[i+1], want[4]) {
				t.Errorf("row %d lacks %q: %s", i, want[4], lines[i+1])
			}
		}
	})

	t.Run("all", func(t *testing.T) {
		out, errOut, code := captureMain(t, "ps", "--json")
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		m := decode(t, out)
		for _, pid := range []int{1, self, child.PID, split.PID} {
			if _, ok := m[pid]; !ok {
				t.Errorf("pid %d not listed", pid)
			}
		}
	})
}

func TestPsCommandErrors(t *testing.T) {
	gone := strconv.Itoa(deadPID(t))
	cases := []struct {
		name    string
		args    []string
		code    int
		msg     string
		stdoutP string // a pid the output must still list
	}{
		{"missing pid", []string{"ps", gone}, exitSystem, "no process with pid " + gone, ""},
		{"missing among present", []string{"ps", "1", gone}, exitSystem, "no process with pid " + gone, "1"},
		{"not a number", []string{"ps", "init"}, exitUsage, `"init" is not a process id`, ""},
		{"negative", []string{"ps", "-3"}, exitUsage, "unknown shorthand flag", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := captureMain(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, c.code, c.msg)
			}
			if c.stdoutP != "" && !strings.Contains(out, "\n"+c.stdoutP+" ") {
				t.Errorf("pid %s not listed:\n%s", c.stdoutP, out)
			}
		})
	}
}
