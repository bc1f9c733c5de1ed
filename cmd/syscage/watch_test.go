package main

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syscage/syscage/audit"
	"github.com/syscage/syscage/internal/testenv"
)

func TestWatchCommand(t *testing.T) {
	testenv.NeedRoot(t)
	gcc := testenv.NeedCommand(t, "gcc")
	bin := filepath.Join(t.TempDir(), "logkill")
	if out, err := exec.Command(gcc, "-o", bin, "testdata/logkill.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	child := make(chan int, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		cmd := exec.Command(bin)
		_ = cmd.Run() // killed by its own filter
		child <- cmd.Process.Pid
	}()
	stdout, stderr, code := captureMain(t, "watch", "--json", "--timeout", "3s")
	if code != 0 {
		t.Fatalf("watch exited %d: %s", code, stderr)
	}
	pid := <-child
	var got []audit.Event
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			continue // loss reports have another shape
		}
		if e.PID == pid {
			got = append(got, e)
		}
	}
	want := []struct{ syscall, action string }{{"getpid", "log"}, {"ptrace", "kill_process"}}
	if len(got) != len(want) {
		t.Fatalf("events for pid %d: %+v, want %v\nall output:\n%s", pid, got, want, stdout)
	}
	for i, w := range want {
		if got[i].Syscall != w.syscall || got[i].Action != w.action || got[i].Arch != "x86_64" || got[i].Exe != bin {
			t.Errorf("event %d = %+v, want %s %s", i, got[i], w.syscall, w.action)
		}
	}
}

func TestWatchCommandRejectsArgs(t *testing.T) {
	_, _, code := captureMain(t, "watch", "extra")
	if code != exitUsage {
		t.Errorf("watch extra: exit %d, want %d", code, exitUsage)
	}
}
