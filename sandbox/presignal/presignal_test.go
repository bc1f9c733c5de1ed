package presignal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
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
		ch, ready := Take()
		<-ready
		select {
		case s := <-ch:
			fmt.Println("caught", s)
		case <-time.After(5 * time.Second):
			fmt.Println("nothing caught")
		}
		if ch, _ := Take(); ch != nil {
			fmt.Println("taken twice")
		}
		return 0
	},
	// Stop gives what was caught its default effect: SIGTERM ends the
	// process.
	"stop": func() int {
		Start()
		<-Subscribed()
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		time.Sleep(50 * time.Millisecond)
		fmt.Println("alive")
		Stop()
		time.Sleep(5 * time.Second)
		fmt.Println("survived Stop")
		return 0
	},
	"none": func() int {
		if ch, ready := Take(); ch != nil || ready != nil || Subscribed() != nil {
			fmt.Println("a subscription without Start")
		}
		Stop() // nothing to stop
		fmt.Println("ok")
		return 0
	},
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(exe)
			cmd.Env = append(os.Environ(), scenarioEnv+"="+tc.name)
			out, err := cmd.Output()
			var ee *exec.ExitError
			switch {
			case tc.wantSig == 0 && err != nil:
				t.Fatalf("%v: %s", err, out)
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
