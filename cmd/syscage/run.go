package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/cmd/syscage/internal/quickrun"
	"github.com/syscage/syscage/notify"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/policy/profiles"
	"github.com/syscage/syscage/record"
	"github.com/syscage/syscage/sandbox"
	"github.com/syscage/syscage/sandbox/presignal"
	"github.com/syscage/syscage/seccomp"
)

// syscage run re-executes syscage as the sandbox's init stage; package
// sandbox/initstage, linked in through package sandbox, takes that
// process over while packages are still being initialised.
func init() {
	register("run", newRunCmd)
}

type runOptions struct {
	profile   string
	keepFDs   []int
	capAdd    []string
	capDrop   []string
	net       string
	userns    bool
	cleanEnv  bool
	env       []string
	specAllow bool
	complain  bool
	arches    []string
	logFilter bool
	dir       string
	exec      bool
	alerts    string
	kill      bool
}

func newRunCmd() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [options] -- CMD [ARG...]",
		Short: "Run a program under a seccomp profile in a hardened process",
		Long: `Run CMD under a seccomp profile: the embedded "default" profile unless
--profile names another embedded profile (` + strings.Join(profiles.Names(), ", ") + `)
or a policy file (native syntax or OCI/Docker JSON, recognised by content).

Before the filter goes on, the program's process is hardened: every file
descriptor but 0, 1, 2 and those given with --keep-fd is closed,
no_new_privs is set, capabilities are reduced to the set container
runtimes give a default container (change it with --cap-add/--cap-drop),
and, on request, new network and user namespaces and a clean environment
are set up. The filter is installed as the very last step before execve,
so the program and everything it starts inherit it.

With --exec, syscage hardens its own process and executes the program in
place of itself: the start is faster (one program start instead of two),
but nothing stays to explain a kill by the filter; see docs/run.md.

A profile with a files block or notify rules is served by a supervisor
in syscage (the file broker opens the allowed files for the program).
--alerts FILE ("-" for stderr) writes every syscall the profile refuses
as a JSON line, naming the rule; --kill-on-violation kills the whole
sandbox at the first refusal. See docs/supervisor.md.

Exit status: the program's own, or 128+N when it dies of signal N; 125
when syscage fails before the program starts, 126 when the program
cannot be executed, 127 when it does not exist. See docs/run.md.`,
		Example: `  syscage run -- sh -c 'echo hello from the cage'
  syscage run --profile no-network -- curl https://example.com
  syscage run --profile ./app.policy --net=none --clean-env -- ./app
  syscage run --complain -- make   # log what the profile would deny
  syscage run --alerts - --kill-on-violation -- ./untrusted`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr(errors.New("run: no command given: write it after --, e.g. syscage run -- sh -c 'echo hi'"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runRun(o, args, cmd.ErrOrStderr()) },
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVar(&o.profile, "profile", profiles.Default, "embedded profile name or policy file (native or OCI JSON)")
	f.IntSliceVar(&o.keepFDs, "keep-fd", nil, "keep this file descriptor open for the program (repeatable)")
	f.StringSliceVar(&o.capAdd, "cap-add", nil, "add capabilities to the default set (comma-separated, or ALL)")
	f.StringSliceVar(&o.capDrop, "cap-drop", nil, "drop capabilities from the set (comma-separated, or ALL)")
	f.StringVar(&o.net, "net", "host", `network: "host" (syscage's own) or "none" (a new namespace with only loopback)`)
	f.BoolVar(&o.userns, "userns", false, "run in a new user namespace, as root mapped to your own uid")
	f.BoolVar(&o.cleanEnv, "clean-env", false, "start from an empty environment (PATH, and TERM and HOME when set)")
	f.StringArrayVar(&o.env, "env", nil, "set KEY=VALUE in the program's environment (repeatable)")
	f.BoolVar(&o.specAllow, "spec-allow", false, "leave the speculative store bypass mitigation off (SECCOMP_FILTER_FLAG_SPEC_ALLOW)")
	f.BoolVar(&o.complain, "complain", false, "log every syscall the profile would deny instead of denying it")
	f.StringSliceVar(&o.arches, "arch", nil, "also accept these architectures' entry points (e.g. i386, x32)")
	f.BoolVar(&o.logFilter, "log", false, "have the kernel log every action but allow (SECCOMP_FILTER_FLAG_LOG)")
	f.StringVar(&o.dir, "dir", "", "working directory of the program")
	f.StringVar(&o.alerts, "alerts", "", "write every refused syscall as a JSON line to the file `DEST` (\"-\": stderr); the supervisor answers it as the profile would")
	f.BoolVar(&o.kill, "kill-on-violation", false, "kill the whole sandbox at the first refused syscall")
	f.BoolVar(&o.exec, "exec", false, "execute the program in place of syscage, with no supervisor: a faster start, but no explanation of a kill by the filter and no --userns, --complain or profile that denies execve")
	return cmd
}

// isProfileFile says whether --profile names a file rather than an
// embedded profile.
func isProfileFile(name string) bool {
	if strings.ContainsRune(name, '/') || strings.HasSuffix(name, ".policy") || strings.HasSuffix(name, ".json") {
		return true
	}
	_, err := os.Stat(name)
	return err == nil
}

// loadProfile reads --profile: a file when the value names one (or looks
// like a path), an embedded profile otherwise.
func loadProfile(name string) (*policy.Policy, string, error) {
	if !isProfileFile(name) {
		p, err := profiles.Get(name)
		if err != nil {
			return nil, "", usageErr(err)
		}
		return p, fmt.Sprintf("the %s profile", name), nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, "", usageErr(fmt.Errorf("profile: %w", err))
	}
	p, err := policy.ParseAny(name, data, policy.ParseOptions{})
	if err != nil {
		return nil, "", usageErr(err)
	}
	return p, "the profile " + name, nil
}

func runRun(o *runOptions, args []string, stderr io.Writer) error {
	if pid, sig, kmsgFD, ok := quickrun.Killed(); ok {
		// Package quickrun ran the program, which the filter killed:
		// say why, as below.
		ex := sandbox.ReportedKill(kmsgFD, pid, sig)
		p, _ := profiles.Get(profiles.Default)
		fmt.Fprintln(stderr, "syscage:", killMessage(ex, p, fmt.Sprintf("the %s profile", profiles.Default)))
		return silentExit(ex.Code)
	}
	if o.exec {
		// Nothing forwards signals: the program takes syscage's place.
		// (Package runearly subscribed only if it misread the options.)
		presignal.Stop()
	} else {
		// The signal subscription (package runearly's, already complete
		// where presignal.Intercept has handlers of its own) and the
		// launching thread get going while the profile loads.
		sandbox.Prepare()
	}
	// An embedded profile used as it is takes the form compiled when
	// syscage was built (sandbox.Command.UseProfile): it is parsed only
	// if a kill needs explaining.
	supervisedOpt := o.alerts != "" || o.kill
	embedded := !isProfileFile(o.profile) && len(o.arches) == 0 && !o.complain && !supervisedOpt
	var p *policy.Policy
	var err error
	what := fmt.Sprintf("the %s profile", o.profile)
	if !embedded {
		if p, what, err = loadProfile(o.profile); err != nil {
			return err
		}
	}
	if len(o.arches) > 0 {
		if p, err = sandbox.WithArches(p, o.arches); err != nil {
			return usageErr(fmt.Errorf("--arch: %w", err))
		}
	}
	if o.exec && o.userns {
		return usageErr(errors.New("--exec cannot create a user namespace (the kernel needs a single-threaded process, and syscage's is not): drop --exec or --userns"))
	}
	if o.exec && o.complain {
		return usageErr(errors.New("--complain reports after the program ends, and with --exec syscage does not stay: drop --exec, or use --log to have the kernel log the profile's actions"))
	}
	if o.complain && supervisedOpt {
		return usageErr(errors.New("--complain refuses nothing, so --alerts and --kill-on-violation would never act: drop one or the other"))
	}
	if o.exec && supervisedOpt {
		return usageErr(errors.New("--alerts and --kill-on-violation need syscage to stay as the supervisor: drop --exec"))
	}
	enforced := p
	if o.complain {
		enforced = sandbox.Complain(p)
	}
	supervised := supervisedOpt || sandbox.NeedsSupervisor(enforced)
	if o.exec && supervised {
		return usageErr(fmt.Errorf("%s notifies syscalls (a files block or notify rules), which needs syscage to stay as the supervisor: drop --exec", what))
	}
	for _, kv := range o.env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return usageErr(fmt.Errorf("--env %q: want KEY=VALUE, e.g. --env %s=1", kv, strings.TrimPrefix(kv, "=")))
		}
	}
	c := &sandbox.Command{
		Path:           args[0],
		Args:           args,
		Dir:            o.dir,
		KeepFDs:        o.keepFDs,
		NewUser:        o.userns,
		ForwardSignals: true,
	}
	switch o.net {
	case "host", "":
	case "none":
		c.NewNetwork = true
	default:
		return usageErr(fmt.Errorf("--net=%s: want host or none", o.net))
	}
	caps, err := capSet(o.capAdd, o.capDrop)
	if err != nil {
		return err
	}
	if !o.userns {
		if err := capsHeld(o.capAdd); err != nil {
			return err
		}
	}
	c.Caps, c.NoCaps = caps, caps == 0
	c.Env = programEnv(o.cleanEnv, o.env)
	if embedded {
		if err := c.UseProfile(o.profile); err != nil {
			var se *sandbox.StartError
			if errors.As(err, &se) {
				return startFailure(err)
			}
			return usageErr(err) // an unknown name
		}
	} else if !supervised {
		if err := c.UsePolicy(enforced); err != nil {
			return startFailure(err)
		}
	}
	var killedBy atomic.Pointer[string]
	if supervised {
		so := sandbox.SupervisorOptions{
			KillOnViolation: o.kill,
			OnKill: func(r *notify.Request) {
				s := fmt.Sprintf("syscall %d (%s) on %s", r.Data.Nr, r.Syscall, archName(r))
				killedBy.CompareAndSwap(nil, &s)
			},
			Logf: func(format string, args ...any) {
				fmt.Fprintf(stderr, "syscage: supervisor: "+format+"\n", args...)
			},
		}
		if o.alerts != "" {
			a, err := notify.OpenAlerts(o.alerts, notify.AlertLimit{})
			if err != nil {
				return &exitError{exitInternal, fmt.Errorf("--alerts %s: %w", o.alerts, err)}
			}
			defer a.Close()
			so.Alerts = a
		}
		if err := c.UseSupervisedPolicy(enforced, so); err != nil {
			return startFailure(err)
		}
	}
	if o.specAllow {
		c.Flags |= seccomp.FlagSpecAllow
	}
	if o.logFilter {
		c.Flags |= seccomp.FlagLog
	}
	if o.exec {
		if c.Gate != nil {
			return usageErr(fmt.Errorf("%s denies execve: only a supervisor can let the program's own start through, so it cannot be used with --exec", what))
		}
		// Exec returns only when the program could not be started.
		return startFailure(c.Exec())
	}
	// Complain mode reports what the profile would have denied, from the
	// kernel's audit records of the program's process tree; the watch
	// opens before the start so that no record of the program is missed.
	var watch *record.ComplainWatch
	if o.complain {
		if watch, err = record.WatchComplaints(); err != nil {
			fmt.Fprintf(stderr, "syscage: warning: complain mode cannot report what the profile would deny (%v); the kernel's audit log (ausearch -m SECCOMP, or dmesg) still has it\n", err)
		}
	}
	if err := c.Start(); err != nil {
		if watch != nil {
			watch.Stop()
		}
		return startFailure(err)
	}
	if watch != nil {
		watch.Track(c.Pid())
	}
	ex, err := c.Wait()
	if err != nil {
		return &exitError{exitInternal, err}
	}
	if k := killedBy.Load(); k != nil && ex.Signal == unix.SIGKILL {
		if o.kill {
			fmt.Fprintf(stderr, "syscage: the supervisor killed the sandbox: %s refused by %s (--kill-on-violation)\n", *k, what)
		} else {
			fmt.Fprintf(stderr, "syscage: the supervisor killed the sandbox: %s, which %s answers with a kill action\n", *k, what)
		}
	} else if ex.Seccomp {
		if p == nil {
			p, _ = profiles.Get(o.profile)
		}
		fmt.Fprintln(stderr, "syscage:", killMessage(ex, p, what))
	}
	if watch != nil {
		watch.Stop().Write(stderr)
	}
	return silentExit(ex.Code)
}

// capSet applies --cap-add and --cap-drop to the default set as container
// runtimes do: "--cap-drop ALL" starts from nothing and "--cap-add ALL"
// from everything; then the named capabilities are added, and the named
// ones dropped (a capability both added and dropped is dropped).
func capSet(add, drop []string) (sandbox.CapSet, error) {
	parse := func(opt string, lists []string) (sandbox.CapSet, bool, error) {
		var s sandbox.CapSet
		all := false
		for _, list := range lists {
			for _, name := range strings.Split(list, ",") {
				if strings.EqualFold(strings.TrimSpace(name), "all") {
					all = true
					continue
				}
				one, err := sandbox.ParseCapList(name)
				if err != nil {
					return 0, false, usageErr(fmt.Errorf("%s: %w", opt, err))
				}
				s |= one
			}
		}
		return s, all, nil
	}
	adds, addAll, err := parse("--cap-add", add)
	if err != nil {
		return 0, err
	}
	drops, dropAll, err := parse("--cap-drop", drop)
	if err != nil {
		return 0, err
	}
	caps := sandbox.DefaultCaps
	if dropAll {
		caps = 0
	}
	if addAll {
		caps = sandbox.AllCaps
	}
	return (caps | adds) &^ drops, nil
}

// capsHeld refuses capabilities named in --cap-add that syscage itself
// does not hold: a process cannot give its child a capability outside its
// own permitted set, and the program would silently go without it.
func capsHeld(add []string) error {
	var named sandbox.CapSet
	for _, list := range add {
		for _, name := range strings.Split(list, ",") {
			if strings.EqualFold(strings.TrimSpace(name), "all") {
				continue
			}
			if one, err := sandbox.ParseCapList(name); err == nil {
				named |= one
			}
		}
	}
	if named == 0 {
		return nil
	}
	have, err := sandbox.Permitted()
	if err != nil {
		return nil // the init stage applies what it can
	}
	if missing := named &^ have; missing != 0 {
		return &exitError{exitInternal, fmt.Errorf("--cap-add %s: syscage does not hold it (its permitted set lacks it), so the program cannot get it: run syscage as root, or with --userns to be root in a new user namespace", missing)}
	}
	return nil
}

func archName(r *notify.Request) string {
	if r.Arch != nil {
		return r.Arch.Name
	}
	return fmt.Sprintf("audit arch %#x", r.Data.Arch)
}

// programEnv builds the program's environment.
func programEnv(clean bool, set []string) []string {
	var env []string
	if clean {
		env = []string{"PATH=" + sandbox.DefaultPath()}
		for _, k := range []string{"TERM", "HOME"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
	} else {
		env = os.Environ()
	}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		out := env[:0]
		for _, e := range env {
			if !strings.HasPrefix(e, k+"=") {
				out = append(out, e)
			}
		}
		env = append(out, kv)
	}
	return env
}

// killMessage says in one line what the filter killed the program for.
func killMessage(ex *sandbox.Exit, p *policy.Policy, what string) string {
	v := ex.Violation
	if v == nil {
		return fmt.Sprintf("the program died of %s, which a seccomp filter's kill or trap action gives; %s", unix.SignalName(ex.Signal), ex.NoViolation)
	}
	why := v.Explain(p, what)
	if !strings.HasPrefix(why, ",") {
		why = " " + why
	}
	if bpf.ActionOf(v.Action) == bpf.RetTrap {
		return fmt.Sprintf("killed by seccomp: %s%s; the filter trapped it and the program did not handle SIGSYS", v.Describe(), why)
	}
	return fmt.Sprintf("killed by seccomp: %s%s", v.Describe(), why)
}

// startFailure turns a failure before the program started into syscage's
// exit code for it.
func startFailure(err error) error {
	var se *sandbox.StartError
	if errors.As(err, &se) {
		return &exitError{se.Code, err}
	}
	return &exitError{exitInternal, err}
}
