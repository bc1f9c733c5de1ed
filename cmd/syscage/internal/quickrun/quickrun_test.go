package quickrun

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestProgram(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		inPlace bool
	}{
		{[]string{"run", "--", "sh", "-c", "x"}, []string{"sh", "-c", "x"}, false},
		{[]string{"run", "sh", "-c", "x"}, []string{"sh", "-c", "x"}, false},
		{[]string{"run", "--", "--weird-name"}, []string{"--weird-name"}, false},
		{[]string{"run", "--exec", "--", "sh"}, []string{"sh"}, true},
		{[]string{"run", "--exec", "sh", "--exec"}, []string{"sh", "--exec"}, true},
		{[]string{"run", "--exec"}, nil, false},
		{[]string{"run", "--exec", "--"}, nil, false},
		{[]string{"run", "--exec=true", "--", "sh"}, nil, false},
		{[]string{"run", "--exec", "--profile", "strict", "--", "sh"}, nil, false},
		{[]string{"run", "--profile", "strict", "--", "sh"}, nil, false},
		{[]string{"run", "-h"}, nil, false},
		{[]string{"run", "--"}, nil, false},
		{[]string{"run", "--", ""}, nil, false},
		{[]string{"run"}, nil, false},
		{[]string{"record", "--", "sh"}, nil, false},
		{nil, nil, false},
	} {
		got, inPlace := Program(tc.args)
		if !slices.Equal(got, tc.want) || inPlace != tc.inPlace {
			t.Errorf("%q: %q %v, want %q %v", tc.args, got, inPlace, tc.want, tc.inPlace)
		}
	}
}

func TestKilled(t *testing.T) {
	for _, tc := range []struct {
		value   string
		set, ok bool
		pid     int
		sig     syscall.Signal
		fd      int
	}{
		{"1234,31,7", true, true, 1234, syscall.SIGSYS, 7},
		{"1234,31,-1", true, true, 1234, syscall.SIGSYS, -1},
		{"", false, false, 0, 0, 0},
		{"1234,31", true, false, 0, 0, 0},
		{"0,31,7", true, false, 0, 0, 0},
		{"-1,31,7", true, false, 0, 0, 0},
		{"1234,99,7", true, false, 0, 0, 0},
		{"x,31,7", true, false, 0, 0, 0},
		{"1234,31,7,8", true, false, 0, 0, 0},
	} {
		os.Unsetenv(ExplainEnv)
		if tc.set {
			t.Setenv(ExplainEnv, tc.value)
		}
		pid, sig, fd, ok := Killed()
		if ok != tc.ok || pid != tc.pid || sig != tc.sig || fd != tc.fd {
			t.Errorf("%q: %d %v %d %v, want %d %v %d %v", tc.value, pid, sig, fd, ok, tc.pid, tc.sig, tc.fd, tc.ok)
		}
	}
}

// FuzzKilled feeds arbitrary values to the variable's parser: it never
// panics, and what it accepts is a plausible pid and signal.
func FuzzKilled(f *testing.F) {
	f.Add("1234,31,7")
	f.Add(",,")
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 {
			return // no environment variable holds a NUL
		}
		t.Setenv(ExplainEnv, v)
		pid, sig, fd, ok := Killed()
		if ok && (pid <= 0 || sig <= 0 || sig > 64) {
			t.Errorf("%q accepted as pid %d signal %d", v, pid, sig)
		}
		// The same reading with strings.Split, which Killed may not use.
		parts := strings.Split(v, ",")
		want := len(parts) == 3
		var n [3]int
		for i := 0; want && i < 3; i++ {
			var err error
			n[i], err = strconv.Atoi(parts[i])
			want = err == nil
		}
		want = want && n[0] > 0 && n[1] > 0 && n[1] <= 64
		if ok != want || (ok && (pid != n[0] || int(sig) != n[1] || fd != n[2])) {
			t.Errorf("%q: Killed() = %d %d %d %v, want %v %v", v, pid, sig, fd, ok, n, want)
		}
	})
}

// FuzzProgram feeds arbitrary command lines to Program: it never panics,
// and what it returns is the tail of the arguments, a program name first.
func FuzzProgram(f *testing.F) {
	f.Add("run\x00--\x00sh\x00-c\x00x")
	f.Add("run\x00--exec\x00prog")
	f.Add("run\x00--profile\x00strict")
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		argv, inPlace := Program(args)
		if argv == nil {
			if inPlace {
				t.Errorf("%q: in place without a program", args)
			}
			return
		}
		if argv[0] == "" || len(argv) >= len(args) || !slices.Equal(argv, args[len(args)-len(argv):]) {
			t.Errorf("%q: program %q is not a tail of the arguments", args, argv)
		}
	})
}
