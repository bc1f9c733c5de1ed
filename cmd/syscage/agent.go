package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/notify"
	"github.com/syscage/syscage/policy"
)

func init() { register("agent", newAgentCmd) }

type agentOptions struct {
	socket          string
	policies        []string
	defaultPolicy   string
	alerts          string
	killOnViolation bool
}

func newAgentCmd() *cobra.Command {
	var o agentOptions
	c := &cobra.Command{
		Use:   "agent --socket PATH [--policy NAME=FILE ...] [--default-policy FILE]",
		Short: "Serve container runtimes as their seccomp agent: broker the files containers open",
		Long: `Serve the runtime-spec seccomp agent protocol on a unix socket. A container
whose seccomp profile names this socket as its listenerPath and notifies
open, openat, openat2 and creat (SCMP_ACT_NOTIFY) is handed to the agent
when it starts; the agent then opens files for it within the files block
of the policy its listenerMetadata names, and refuses the rest.

A policy is an ordinary policy file with a files block (see
docs/policy-language.md and docs/supervisor.md):

    default allow
    files errno(EACCES) {
        read dir /usr /etc /lib
        read write create /tmp
        deny /etc/shadow
    }
    notify open openat openat2 creat

'syscage compile --format oci' turns the same file into the container's
profile; give it a listener line for the listenerPath and metadata.

The metadata "policy=NAME" (or just NAME) picks --policy NAME=FILE; a
container that names none gets --default-policy. A container asking for a
policy the agent lacks is refused: its notified syscalls fail with ENOSYS.

Violations are written as JSON lines to --alerts (a file, or - for stderr).
The agent runs until interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runAgent(ctx, cmd.ErrOrStderr(), o, nil)
		},
	}
	f := c.Flags()
	f.StringVar(&o.socket, "socket", "", "unix socket to listen on (the profile's listenerPath)")
	f.StringArrayVar(&o.policies, "policy", nil, "NAME=FILE: a policy with a files block, which a container picks with listenerMetadata policy=NAME (repeatable)")
	f.StringVar(&o.defaultPolicy, "default-policy", "", "the policy for containers whose metadata names no policy")
	f.StringVar(&o.alerts, "alerts", "-", "where violations go as JSON lines: a file, or - for stderr")
	f.BoolVar(&o.killOnViolation, "kill-on-violation", false, "end a container at its first violation")
	return c
}

// runAgent runs the agent until ctx ends. ready, when not nil, is called
// once the socket listens (tests use it).
func runAgent(ctx context.Context, errOut io.Writer, o agentOptions, ready func()) error {
	if o.socket == "" {
		return usageErr(errors.New("--socket is required: the path runtimes connect to (the profile's listenerPath)"))
	}
	a := &notify.Agent{Policies: map[string]*policy.Policy{}, KillOnViolation: o.killOnViolation}
	for _, spec := range o.policies {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return usageErr(fmt.Errorf("--policy %q: want NAME=FILE, like --policy web=/etc/syscage/web.policy", spec))
		}
		if _, dup := a.Policies[name]; dup {
			return usageErr(fmt.Errorf("--policy %s is given twice", name))
		}
		p, err := loadAgentPolicy(errOut, file)
		if err != nil {
			return usageErr(fmt.Errorf("--policy %s: %w", name, err))
		}
		a.Policies[name] = p
	}
	if o.defaultPolicy != "" {
		p, err := loadAgentPolicy(errOut, o.defaultPolicy)
		if err != nil {
			return usageErr(fmt.Errorf("--default-policy: %w", err))
		}
		a.Default = p
	}
	if len(a.Policies) == 0 && a.Default == nil {
		return usageErr(errors.New("no policy: give --policy NAME=FILE or --default-policy FILE"))
	}
	alerts, err := notify.OpenAlerts(o.alerts, notify.AlertLimit{})
	if err != nil {
		return systemErr(err)
	}
	defer alerts.Close()
	a.Alerts = alerts
	a.Logf = func(format string, args ...any) { fmt.Fprintf(errOut, format+"\n", args...) }
	ln, err := listenUnix(o.socket)
	if err != nil {
		return systemErr(err)
	}
	defer os.Remove(o.socket)
	names := make([]string, 0, len(a.Policies))
	for n := range a.Policies {
		names = append(names, n)
	}
	sort.Strings(names)
	a.Logf("syscage agent: listening on %s (policies: %s; default: %v)", o.socket, strings.Join(names, ", "), a.Default != nil)
	if ready != nil {
		ready()
	}
	if err := a.Serve(ctx, ln); err != nil {
		return systemErr(err)
	}
	return nil
}

// loadAgentPolicy reads a policy for the agent: it must have a files
// block, which is what the agent serves, and its broker must accept the
// rules. Warnings go to errOut.
func loadAgentPolicy(errOut io.Writer, file string) (*policy.Policy, error) {
	p, err := policy.ParseFile(file, policy.ParseOptions{})
	if err != nil {
		return nil, err
	}
	b, err := notify.NewPolicyBroker(p)
	if err != nil {
		return nil, err
	}
	b.Close()
	for _, w := range p.Warnings {
		fmt.Fprintf(errOut, "syscage agent: warning: %s\n", w)
	}
	return p, nil
}

// listenUnix listens on path, replacing a stale socket file (one nobody
// listens on) but never another kind of file or a live socket.
func listenUnix(path string) (*net.UnixListener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; choose another --socket path", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("%s is in use by another agent", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove the stale socket %s: %w", path, err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(false)
	// Only root may hand containers over: a runtime runs as root, and
	// anyone else could feed the agent listeners of their own.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
