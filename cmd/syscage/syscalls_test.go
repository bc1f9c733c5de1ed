package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// runSyscallsCLI runs `syscage ARGS...` in-process and returns stdout and
// the exit code runMain would produce.
func runSyscallsCLI(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	out, _, code, err := execCLI(t, nil, args...)
	return out.String(), code, err
}

func TestSyscallsCommand(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		out     []string // substrings of stdout
		errText []string // substrings of the error
	}{
		{[]string{"syscalls", "--arch", "x86_64", "read", "0x101"}, exitOK,
			[]string{"read", "openat", "unsigned int fd [int]", "size_t count [long]"}, nil},
		{[]string{"syscalls", "--arch", "amd64"}, exitOK, []string{"newfstatat", "seccomp", "rseq"}, nil},
		{[]string{"syscalls", "--arch", "x32", "readv"}, exitOK, []string{"1073742339", "0x40000203"}, nil},
		{[]string{"syscalls", "--arch", "mips", "read"}, exitOK, []string{"4003"}, nil},
		{[]string{"syscalls", "--arch", "x86_64", "raed"}, exitUsage, nil, []string{`"read"`}},
		{[]string{"syscalls", "--arch", "aarch64", "open"}, exitUsage, nil, []string{"not on aarch64", `"openat"`}},
		{[]string{"syscalls", "--arch", "x86_64", "read", "nosuchcall"}, exitUsage, []string{"read"}, []string{"nosuchcall"}},
		{[]string{"syscalls", "--arch", "x86_64", "999"}, exitNegative, []string{"no syscall"}, []string{"name no syscall"}},
		{[]string{"syscalls", "--arch", "vax"}, exitUsage, nil, []string{"unknown architecture", "x86_64", "loongarch64"}},
		{[]string{"syscalls", "--arches"}, exitOK, []string{"AUDIT_ARCH_X86_64", "0xc000003e", "x32", "0x40000000", "mips64el", "4000"}, nil},
		{[]string{"syscalls", "--arches", "read"}, exitUsage, nil, []string{"--arches"}},
		{[]string{"syscalls", "--bogus"}, exitUsage, nil, []string{"bogus"}},
	}
	for _, tt := range tests {
		out, code, err := runSyscallsCLI(t, tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (err %v)", tt.args, code, tt.code, err)
		}
		for _, w := range tt.out {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
		for _, w := range tt.errText {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v lacks %q", tt.args, err, w)
			}
		}
	}
}

func TestSyscallsJSON(t *testing.T) {
	out, code, err := runSyscallsCLI(t, "syscalls", "--arch", "s390x", "--json", "clone", "mmap", "getpid")
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	var recs []syscallJSON
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, out)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records", len(recs))
	}
	// s390x's clone takes the stack first (CLONE_BACKWARDS2) and its mmap
	// one pointer (sys_old_mmap).
	if recs[0].Name != "clone" || recs[0].Nr != 120 || recs[0].Signature[1].Name != "clone_flags" {
		t.Errorf("clone: %+v", recs[0])
	}
	if recs[1].Name != "mmap" || len(recs[1].Signature) != 1 || recs[1].Signature[0].Kind != "pointer" {
		t.Errorf("mmap: %+v", recs[1])
	}
	if recs[2].Signature == nil || len(recs[2].Signature) != 0 {
		t.Errorf("getpid has no arguments, so an empty, non-null list: %+v", recs[2])
	}

	out, _, _ = runSyscallsCLI(t, "syscalls", "--arches", "--json")
	var arches []archJSON
	if err := json.Unmarshal([]byte(out), &arches); err != nil || len(arches) != 14 {
		t.Fatalf("--arches --json: %v, %d entries", err, len(arches))
	}
	if arches[2].Name != "x32" || arches[2].NrBase != 0x40000000 || arches[2].AuditArch != "0xc000003e" {
		t.Errorf("x32 entry: %+v", arches[2])
	}
}
