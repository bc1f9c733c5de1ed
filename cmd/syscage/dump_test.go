package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
	"github.com/syscage/syscage/seccomp/seccomptest"
)

func TestDumpCommand(t *testing.T) {
	needKernelDump(t)
	progs := []bpf.Program{
		seccomptest.AllowAll(2),
		{
			bpf.LoadAbs(bpf.OffsetArch),
			bpf.JumpIf(bpf.JmpJEQ, unix.AUDIT_ARCH_X86_64, 1, 0),
			bpf.Ret(bpf.RetKillProcess),
			bpf.Ret(bpf.RetAllow),
		},
		seccomptest.AllowAll(1),
	}
	spec := seccomptest.Spec{NoNewPrivs: true}
	for i, p := range progs {
		f := seccomptest.Filter{Program: p}
		if i == 1 {
			f.Flags = seccomp.FlagLog
		}
		spec.Filters = append(spec.Filters, f)
	}
	if runtime.GOARCH != "amd64" {
		// The arch check above would kill the child elsewhere.
		spec.Filters = append(spec.Filters[:1], spec.Filters[2:]...)
		progs = append(progs[:1], progs[2:]...)
	}
	child := seccomptest.Start(t, spec)
	pid := strconv.Itoa(child.PID)

	t.Run("json", func(t *testing.T) {
		out, errOut, code := captureMain(t, "dump", "--json", pid)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var rec dumpJSON
		if err := json.Unmarshal([]byte(out), &rec); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if rec.PID != child.PID || len(rec.Filters) != len(progs) {
			t.Fatalf("pid %d, %d filters; want %d, %d", rec.PID, len(rec.Filters), child.PID, len(progs))
		}
		for i, f := range rec.Filters {
			var got bpf.Program
			for _, in := range f.Instructions {
				got = append(got, bpf.Instruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K})
				if in.Text == "" {
					t.Errorf("filter %d: instruction without text", i)
				}
			}
			if f.Index != i || !slices.Equal(got, progs[i]) {
				t.Errorf("filter %d (index %d): %v, want %v", i, f.Index, got, progs[i])
			}
			if wantLog := spec.Filters[i].Flags == seccomp.FlagLog; (f.Flags == seccomp.FlagLog) != wantLog {
				t.Errorf("filter %d flags %v", i, f.Flags)
			}
		}
	})

	t.Run("text", func(t *testing.T) {
		out, errOut, code := captureMain(t, "dump", pid)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		// Each filter's listing appears under its heading, oldest first.
		rest := out
		for i, p := range progs {
			head := "\nfilter " + strconv.Itoa(i)
			at := strings.Index(rest, head)
			if at < 0 {
				t.Fatalf("no heading %q in what follows:\n%s", head, rest)
			}
			rest = rest[at+len(head):]
			listing := bpf.Disassemble(p, bpf.DisasmOptions{Namer: dumpDisasmOptions(false).Namer})
			if !strings.Contains(rest, listing) {
				t.Errorf("filter %d listing missing:\n%s\nin:\n%s", i, listing, out)
			}
		}
		if !strings.Contains(out, strconv.Itoa(len(progs))+" seccomp filters, oldest first") {
			t.Errorf("no summary line:\n%s", out)
		}
	})

	t.Run("raw and save", func(t *testing.T) {
		dir := t.TempDir()
		out, errOut, code := captureMain(t, "dump", "--raw", "--save", dir, pid)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "0x06 0x00 0x00 0x7fff0000") {
			t.Errorf("no raw columns:\n%s", out)
		}
		for i, p := range progs {
			b, err := os.ReadFile(filepath.Join(dir, "filter-"+strconv.Itoa(i)+".bpf"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := bpf.Decode(b, binary.NativeEndian)
			if err != nil || !slices.Equal(got, p) {
				t.Errorf("saved filter %d: %v, %v", i, got, err)
			}
		}
	})
}

func TestDumpCommandErrors(t *testing.T) {
	needKernelDump(t)
	plain := seccomptest.Start(t, seccomptest.Spec{})
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no filters", []string{"dump", strconv.Itoa(plain.PID)}, exitNegative, "no seccomp filters"},
		{"missing process", []string{"dump", strconv.Itoa(deadPID(t))}, exitSystem, "no process with pid"},
		{"not a pid", []string{"dump", "12x"}, exitUsage, `"12x" is not a process id`},
		{"zero", []string{"dump", "0"}, exitUsage, "not a process id"},
		{"no pid", []string{"dump"}, exitUsage, "accepts 1 arg"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := captureMain(t, c.args...)
			if code != c.code || !strings.Contains(errOut, c.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q (stdout %q)", code, errOut, c.code, c.msg, out)
			}
		})
	}
}

// TestDumpCommandWithoutCapSysAdmin runs the command on a thread whose
// effective set lacks CAP_SYS_ADMIN; the goroutine ends locked, so the
// runtime discards that thread.
func TestDumpCommandWithoutCapSysAdmin(t *testing.T) {
	needKernelDump(t)
	child := seccomptest.Start(t, seccomptest.Spec{NoNewPrivs: true, Filters: []seccomptest.Filter{{Program: seccomptest.AllowAll(1)}}})
	type result struct {
		errOut string
		code   int
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- result{err.Error(), -1}
			return
		}
		data[0].Effective &^= 1 << unix.CAP_SYS_ADMIN
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- result{err.Error(), -1}
			return
		}
		_, errOut, code := captureMain(t, "dump", strconv.Itoa(child.PID))
		done <- result{errOut, code}
	}()
	r := <-done
	if r.code != exitSystem || !strings.Contains(r.errOut, "CAP_SYS_ADMIN") || !strings.Contains(r.errOut, "root") {
		t.Errorf("exit %d, stderr %q; want %d and a message naming CAP_SYS_ADMIN and root", r.code, r.errOut, exitSystem)
	}
}
