package sandbox

import (
	"context"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/internal/procfs"
	"github.com/syscage/syscage/notify"
	"github.com/syscage/syscage/policy"
)

// SupervisorOptions choose what a supervised program's supervisor does
// besides serving the policy's notify rules.
type SupervisorOptions struct {
	// Alerts, when set, receives an event for every refused syscall:
	// the policy is escalated (notify.Escalate) so that its refusals
	// reach the supervisor, which answers them as the policy would.
	Alerts *notify.Alerts
	// KillOnViolation kills the whole sandbox at the first refusal.
	KillOnViolation bool
	// OnKill, when set, is told of the request that made the supervisor
	// end the sandbox.
	OnKill func(r *notify.Request)
	// Logf reports the supervisor's own troubles.
	Logf func(format string, args ...any)
}

// NeedsSupervisor reports whether p has rules that notify (for the file
// broker of its files block, or of their own): such a policy needs a
// supervisor, or its notified syscalls fail with ENOSYS. (A files block
// alone, as Complain leaves it, notifies nothing.)
func NeedsSupervisor(p *policy.Policy) bool {
	if p == nil {
		return false
	}
	if p.Default.Kind == policy.Notify || p.Unknown.Kind == policy.Notify || p.BadArch.Kind == policy.Notify {
		return true
	}
	for _, r := range p.Rules {
		if r.Action.Kind == policy.Notify {
			return true
		}
	}
	return false
}

// UseSupervisedPolicy compiles p for a program whose notifications a
// notify.Supervisor serves in syscage, and sets Filters, Flags and
// Supervise. The file broker serves p's files block; notified syscalls
// no handler serves are answered as p decides them
// (notify.PolicyHandler). When p denies execve, the compiled filter
// notifies the native execve instead of a separate exec gate (a filter
// chain has one listener), and the supervisor lets the program's own
// start through and answers every later execve as p says.
//
// Wait stops the supervisor once the program has ended (see Finish).
func (c *Command) UseSupervisedPolicy(p *policy.Policy, o SupervisorOptions) error {
	env := c.PolicyEnv()
	q := p
	if o.Alerts != nil || o.KillOnViolation {
		q = notify.Escalate(p)
	}
	cp, err := compileForRun(q, env)
	if err != nil {
		return err
	}
	gated := cp.decide != nil
	if gated {
		native := arch.Native()
		relaxed := *q
		relaxed.Rules = append([]*policy.Rule{{
			Syscalls: []policy.Target{{Name: "execve", Arch: native.Name}},
			Action:   policy.Action{Kind: policy.Notify},
			Comment:  "syscage run: the program's own start, let through by the supervisor",
		}}, q.Rules...)
		if len(relaxed.Arches) == 0 {
			relaxed.Arches = []string{native.Name}
		}
		res, err := compile.Policy(&relaxed, compile.Options{Env: env})
		if err != nil {
			return &StartError{Code: ExitInternal, Msg: err.Error()}
		}
		cp.filters, cp.decide = res.Filters, nil
	}
	c.use(cp)

	h := notify.Handlers{}
	var broker *notify.Broker
	if p.Files != nil {
		if broker, err = notify.NewPolicyBroker(p); err != nil {
			return &StartError{Code: ExitInternal, Msg: err.Error()}
		}
		h = broker.Handlers()
	}
	unhandled := notify.PolicyHandler(p, env)
	if gated {
		h["execve"] = c.launchHandler(h["execve"], unhandled)
	}
	opts := notify.Options{
		Unhandled:       unhandled,
		Alerts:          o.Alerts,
		KillOnViolation: o.KillOnViolation,
		Logf:            o.Logf,
		Kill: func(r *notify.Request) error {
			if o.OnKill != nil {
				o.OnKill(r)
			}
			c.KillAll(r.Tgid())
			return nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	c.Supervise = func(listener int) error {
		s, err := notify.New(listener, h, opts)
		if err != nil {
			unix.Close(listener)
			return err
		}
		done.Add(1)
		go func() {
			defer done.Done()
			s.Serve(ctx)
		}()
		return nil
	}
	c.finish = func() {
		cancel()
		done.Wait()
		if broker != nil {
			broker.Close()
		}
	}
	return nil
}

// Finish stops the supervisor of UseSupervisedPolicy; Wait calls it
// once the program has ended. Processes that outlive it (daemonised children) get ENOSYS
// for their notified syscalls from then on. It does nothing for an
// unsupervised command.
func (c *Command) Finish() {
	if c.finish != nil {
		c.finish()
		c.finish = nil
	}
}

// launchHandler lets the init stage's own execve through, once, and
// passes every other execve to next (or, without one, to unhandled).
// Nothing but the init stage's thread runs under the filter before the
// program, so the first native execve of the stage's process is its
// start.
func (c *Command) launchHandler(next, unhandled notify.Handler) notify.Handler {
	if next == nil {
		next = unhandled
	}
	var started atomic.Bool
	return func(ctx context.Context, r *notify.Request) notify.Response {
		if r.Tgid() == c.pid && r.Arch == arch.Native() && started.CompareAndSwap(false, true) {
			return notify.ContinueUnchecked()
		}
		return next(ctx, r)
	}
}

// PolicyEnv is what the policy's only/except blocks are decided for: the
// program's capabilities and the running kernel.
func (c *Command) PolicyEnv() policy.Env {
	return policy.Env{Caps: c.programCaps(), Kernel: kernelVersion()}
}

// KillAll sends SIGKILL to the program and every process descended from
// it, and to the process extra (one that may have left the tree, such as
// the one that violated the policy; 0 for none). The program shares
// syscage's process group, so the tree is found in /proc.
func (c *Command) KillAll(extra int) {
	if c.pidSet != nil {
		// A notification can come from the program before Start has its
		// pid: the direct start's program runs before the fork returns.
		// The violator waits for the answer meanwhile.
		<-c.pidSet
	}
	// Stop the program first, so that it neither forks more while its
	// descendants are collected nor goes on when the violator dies (a
	// shell would run its next command); SIGKILL ends it even when
	// stopped.
	if c.pid > 0 {
		unix.Kill(c.pid, unix.SIGSTOP)
	}
	if extra > 0 {
		unix.Kill(extra, unix.SIGKILL)
	}
	if c.pid <= 0 {
		return
	}
	for _, pid := range descendants(c.pid) {
		unix.Kill(pid, unix.SIGKILL)
	}
	unix.Kill(c.pid, unix.SIGKILL)
}

// descendants lists the processes below root, from /proc/*/stat.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, err := procfs.PPid(pid); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, ch := range children[p] {
			out = append(out, ch)
			queue = append(queue, ch)
		}
	}
	return out
}
