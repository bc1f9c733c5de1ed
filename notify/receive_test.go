package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestKernelRelease(t *testing.T) {
	for _, c := range []struct {
		rel          string
		major, minor int
		ok           bool
	}{
		{"6.18.4-amd64", 6, 18, true},
		{"6.11.0", 6, 11, true},
		{"5.10.0-28-cloud-amd64", 5, 10, true},
		{"6.1", 6, 1, true},
		{"10.2.1+", 10, 2, true},
		{"6", 0, 0, false},
		{"6.", 0, 0, false},
		{".6.1", 0, 0, false},
		{"v6.1", 0, 0, false},
		{"", 0, 0, false},
	} {
		major, minor, ok := kernelRelease(c.rel)
		if major != c.major || minor != c.minor || ok != c.ok {
			t.Errorf("kernelRelease(%q) = %d, %d, %v; want %d, %d, %v", c.rel, major, minor, ok, c.major, c.minor, c.ok)
		}
	}
}

func FuzzKernelRelease(f *testing.F) {
	for _, s := range []string{"6.18.4-amd64", "5.4", "", "6.", "99999999.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		major, minor, ok := kernelRelease(rel)
		if !ok {
			if major != 0 || minor != 0 {
				t.Errorf("kernelRelease(%q) failed but gave %d.%d", rel, major, minor)
			}
			return
		}
		// The numbers are what the release starts with, leading zeros
		// aside.
		want := strings.TrimLeft(itoa(major), "0") + "." + strings.TrimLeft(itoa(minor), "0")
		head, _, _ := strings.Cut(rel, "-")
		got := strings.TrimLeft(head, "0")
		major2, rest, _ := strings.Cut(got, ".")
		got = major2 + "." + strings.TrimLeft(rest, "0")
		if major < 0 || minor < 0 || !strings.HasPrefix(got, want) {
			t.Errorf("kernelRelease(%q) = %d.%d", rel, major, minor)
		}
	})
}

// receiveModes are the two ways workers wait: in RECV itself (kernels
// that end that wait when the last target exits) and in poll first.
func receiveModes(t *testing.T) []struct {
	name   string
	adjust func(*Supervisor)
} {
	direct := func(s *Supervisor) {
		if !s.direct {
			t.Skip("this kernel does not end a waiting SECCOMP_IOCTL_NOTIF_RECV when the filter loses its users (Linux 6.11)")
		}
		s.receivers = 2 // more than one, whatever the processors
	}
	poll := func(s *Supervisor) { s.direct, s.receivers = false, 1 }
	return []struct {
		name   string
		adjust func(*Supervisor)
	}{{"direct", direct}, {"poll", poll}}
}

// Both ways of waiting serve many threads, every answer to the thread
// that asked, and end when the target has gone.
func TestReceiveModesServeThreads(t *testing.T) {
	for _, m := range receiveModes(t) {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			files := distinctFiles(t, dir, 8)
			const iter = 50
			tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "threads", Threads: 8, Iter: iter, Files: files})
			b, err := NewBroker(FileRules{Rules: []FileRule{{Root: dir, Read: true}}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			_, wait := serveTargetWith(t, tg, b.Handlers(), Options{}, m.adjust)
			res := tg.wait(t)
			st := wait()
			if len(res.Bad) > 0 || res.Done != 8*iter {
				t.Fatalf("%d opens done, want %d; bad: %v", res.Done, 8*iter, res.Bad[:min(len(res.Bad), 3)])
			}
			if st.Answered != st.Received-st.Gone {
				t.Errorf("stats %+v: every received notification must be answered or gone", st)
			}
		})
	}
}

// A supervisor cancelled while its workers wait for a notification, the
// target alive and quiet, returns at once; the target's next notified
// syscall then fails with ENOSYS, as with no supervisor at all.
func TestServeCancelledWhileWaiting(t *testing.T) {
	for _, m := range receiveModes(t) {
		t.Run(m.name, func(t *testing.T) {
			root := tree(t)
			a := op{Call: "openat", Path: root + "/ro/a.txt", Read: true}
			tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "ops",
				Ops: []op{a, {Call: "sleep", Flags: 1500}, a}})
			b, err := NewBroker(treeRules(root))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			h := b.Handlers()
			open := h["openat"]
			first := make(chan struct{}, 1)
			h["openat"] = func(ctx context.Context, r *Request) Response {
				defer func() {
					select {
					case first <- struct{}{}:
					default:
					}
				}()
				return open(ctx, r)
			}
			s, err := New(tg.listener, h, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m.adjust(s)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Serve(ctx) }()
			select {
			case <-first:
			case <-time.After(10 * time.Second):
				t.Fatal("the first open never reached the supervisor")
			}
			time.Sleep(100 * time.Millisecond) // the workers wait again
			cancel()
			start := time.Now()
			select {
			case err := <-done:
				if err != context.Canceled {
					t.Errorf("Serve returned %v, want context.Canceled", err)
				}
				// Well before the target's next open, 1.4 s away.
				if d := time.Since(start); d > time.Second {
					t.Errorf("Serve took %v to return after the cancel", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return after the cancel")
			}
			res := tg.wait(t)
			if len(res.Ops) != 3 || res.Ops[0].Content != "A" || res.Ops[2].Errno != int(unix.ENOSYS) {
				t.Errorf("results %+v, want A, then ENOSYS", res.Ops)
			}
		})
	}
}

// Handlers other than the broker's run with the thread's usual signal
// mask: the worker blocks signals only around its own work.
func TestHandlerSignalMask(t *testing.T) {
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: "/", Read: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mine := func(context.Context, *Request) Response { return Return(0) }
	for _, c := range []struct {
		name string
		h    Handler
		own  bool
	}{
		{"broker openat", b.Handlers()["openat"], true},
		{"broker open", b.Handlers()["open"], true},
		{"another handler", mine, false},
		{"a wrapped broker handler", func(ctx context.Context, r *Request) Response { return b.handleOpen(ctx, r) }, false},
	} {
		if got := ownHandler(c.h); got != c.own {
			t.Errorf("ownHandler(%s) = %v, want %v", c.name, got, c.own)
		}
	}

	nr, ok := nativeNr("getppid")
	if !ok {
		t.Skip("no getppid here")
	}
	tg := startTarget(t, targetSpec{Notify: []string{"getppid"}, Scenario: "ops", Ops: []op{{Call: "raw", Nr: nr}}})
	h := Handlers{"getppid": func(context.Context, *Request) Response {
		var cur unix.Sigset_t
		if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &cur); err != nil {
			return Fail(unix.EIO)
		}
		urg := uint(unix.SIGURG - 1)
		if cur.Val[urg/64]&(1<<(urg%64)) != 0 {
			return Return(1) // blocked
		}
		return Return(2)
	}}
	_, wait := serveTarget(t, tg, h, Options{})
	res := tg.wait(t)
	wait()
	if len(res.Ops) != 1 || res.Ops[0].FD != 2 {
		t.Errorf("the handler saw SIGURG blocked or failed: %+v", res.Ops)
	}
}
