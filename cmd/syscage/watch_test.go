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
	// The kernel's printk rate limit may drop records when other tests
	// flood the log at the same time; watch then reports a loss, and the
	// attempt is repeated rather than failed.
	for attempt := 1; ; attempt++ {
		got, lossReported, out := watchOnce(t, bin)
		want := []struct{ syscall, action string }{{"getpid", "log"}, {"ptrace", "kill_process"}}
		if len(got) != len(want) {
			if lossReported && attempt < 4 {
				t.Logf("attempt %d: the kernel dropped records; retrying", attempt)
				time.Sleep(time.Second)
				continue
			}
			t.Fatalf("events: %+v, want %v\nall output:\n%s", got, want, out)
		}
		for i, w := range want {
			if got[i].Syscall != w.syscall || got[i].Action != w.action || got[i].Arch != "x86_64" || got[i].Exe != bin {
				t.Errorf("event %d = %+v, want %s %s", i, got[i], w.syscall, w.action)
			}
		}
		return
	}
}

// watchOnce runs watch while bin logs and kills itself, and returns the
// events of bin's process and whether watch reported lost records.
func watchOnce(t *testing.T, bin string) (events []audit.Event, lossReported bool, stdout string) {
	t.Helper()
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
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"lost"`) {
			lossReported = true
		}
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.PID != pid {
			continue
		}
		events = append(events, e)
	}
	return events, lossReported, stdout
}

func TestWatchCommandRejectsArgs(t *testing.T) {
	_, _, code := captureMain(t, "watch", "extra")
	if code != exitUsage {
		t.Errorf("watch extra: exit %d, want %d", code, exitUsage)
	}
}
