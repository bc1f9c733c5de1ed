package presignal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// scenarioEnv makes the test binary run a scenario in a process of its
// own: the scenarios send signals to themselves.
const scenarioEnv = "SYSCAGE_PRESIGNAL_SCENARIO"

func TestMain(m *testing.M) {
	if name, ok := os.LookupEnv(scenarioEnv); ok {
		os.Exit(scenarios[name]())
	}
	os.Exit(m.Run())
}

var scenarios = map[string]func() int{
	// A signal caught before the subscription is taken reaches the
	// taker.
	"take": func() int {
		Start()
		<-Subscribed()
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		taken := take()
		<-taken.ready
		select {
		case s := <-taken.ch:
			fmt.Println("caught", s)
		case <-time.After(5 * time.Second):
			fmt.Println("nothing caught")
		}
		if take() != nil {
			fmt.Println("taken twice")
		}
		return 0
	},
	// Stop gives what was caught its default effect: SIGTERM ends the
	// process.
	"stop": stopScenario(Start),
	// Intercept's subscription is complete at once, and a signal it
	// catches reaches the taker.
	"intercept take": func() int {
		Intercept()
		select {
		case <-Subscribed():
		default:
			fmt.Println("not complete on return")
		}
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		taken := take()
		select {
		case s := <-taken.ch:
			fmt.Println("caught", s)
		case <-time.After(5 * time.Second):
			fmt.Println("nothing caught")
		}
		return 0
	},
	// Stop gives what Intercept caught its default effect.
	"intercept stop": stopScenario(Intercept),
	// A relay forwards what Intercept catches, before and after the
	// program's pid is known, and nothing after Halt; once it stops, the
	// Go runtime handles the signals again, so os/signal receives them.
	"intercept relay": func() int {
		Intercept()
		r := NewRelay()
		syscall.Kill(syscall.Getpid(), syscall.SIGUSR1) // before the pid
		time.Sleep(20 * time.Millisecond)
		var ws syscall.WaitStatus
		for _, sig := range []syscall.Signal{0, syscall.SIGUSR2} {
			pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "5"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
			if err != nil {
				fmt.Println(err)
				return 1
			}
			r.SetPid(pid)
			if sig != 0 {
				syscall.Kill(syscall.Getpid(), sig)
			}
			syscall.Wait4(pid, &ws, 0, nil)
			fmt.Println("program:", ws.Signal())
		}
		r.Halt() // nothing forwarded, as after Stop
		pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "5"}, &syscall.ProcAttr{Files: []uintptr{0, 1, 2}})
		if err != nil {
			fmt.Println(err)
			return 1
		}
		r.SetPid(pid)
		syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
		time.Sleep(50 * time.Millisecond)
		syscall.Kill(pid, syscall.SIGTERM)
		syscall.Wait4(pid, &ws, 0, nil)
		fmt.Println("after Halt:", ws.Signal())
		r.Stop()
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGUSR1)
		syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
		select {
		case s := <-c:
			fmt.Println("os/signal:", s)
		case <-time.After(5 * time.Second):
			fmt.Println("os/signal: nothing")
		}
		return 0
	},
	// The handlers run on every thread of the process, while the runtime
	// collects garbage and moves goroutines between threads: thousands
	// of signals, each caught, and the process well.
	"intercept storm": func() int {
		Intercept()
		taken := take()
		done := make(chan struct{})
		var sink atomic.Value // keeps the allocations on the heap
		for range 4 {
			go func() {
				for {
					select {
					case <-done:
						return
					default:
						sink.Store(make([]byte, 1<<12))
					}
				}
			}()
		}
		caught := 0
		for i := range 500 {
			// To each thread in turn: the runtime's monitor, idle threads,
			// threads in system calls.
			tasks, err := os.ReadDir("/proc/self/task")
			if err != nil {
				fmt.Println(err)
				return 1
			}
			tid, _ := strconv.Atoi(tasks[i%len(tasks)].Name())
			syscall.Tgkill(syscall.Getpid(), tid, syscall.SIGUSR2)
			select {
			case <-taken.ch:
				caught++
			case <-time.After(5 * time.Second):
			}
		}
		close(done)
		fmt.Println("caught", caught)
		return 0
	},
	"none": func() int {
		if take() != nil || Subscribed() != nil {
			fmt.Println("a subscription without Start")
		}
		Stop() // nothing to stop
		fmt.Println("ok")
		return 0
	},
}

// stopScenario subscribes (Start or Intercept), catches a SIGTERM and
// stops the subscription, which must then end the process by SIGTERM.
func stopScenario(subscribe func()) func() int {
	return func() int {
		subscribe()
		<-Subscribed()
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		time.Sleep(50 * time.Millisecond)
		fmt.Println("alive")
		Stop()
		time.Sleep(5 * time.Second)
		fmt.Println("survived Stop")
		return 0
	}
}

func TestScenarios(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		wantOut string
		wantSig syscall.Signal
	}{
		{"take", "caught terminated\n", 0},
		{"stop", "alive\n", syscall.SIGTERM},
		{"none", "ok\n", 0},
		{"intercept take", "caught terminated\n", 0},
		{"intercept stop", "alive\n", syscall.SIGTERM},
		{"intercept relay", "program: user defined signal 1\nprogram: user defined signal 2\nafter Halt: terminated\nos/signal: user defined signal 1\n", 0},
		{"intercept storm", "caught 500\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), scenarioEnv+"="+tc.name)
			out, err := cmd.Output()
			var ee *exec.ExitError
			switch {
			case tc.wantSig == 0 && err != nil:
				var stderr []byte
				if errors.As(err, &ee) {
					stderr = ee.Stderr
				}
				t.Fatalf("%v: %s\n%s", err, out, stderr)
			case tc.wantSig != 0:
				ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
				if !errors.As(err, &ee) || !ok || !ws.Signaled() || ws.Signal() != tc.wantSig {
					t.Errorf("ended with %v, want death by %v", err, tc.wantSig)
				}
			}
			if string(out) != tc.wantOut {
				t.Errorf("got %q, want %q", out, tc.wantOut)
			}
		})
	}
}
