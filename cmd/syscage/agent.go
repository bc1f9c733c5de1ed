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
)

func init() { subcommands = append(subcommands, newAgentCmd) }

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
when it starts; the agent then opens files for it within the rules of the
policy its listenerMetadata names, and refuses the rest.

A policy is a file of file rules, one per line (see docs/supervisor.md):

    errno EACCES
    read dir /usr /etc /lib
    read,write,create /tmp
    deny /etc/shadow

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
	f.StringArrayVar(&o.policies, "policy", nil, "NAME=FILE: file rules a container picks with listenerMetadata policy=NAME (repeatable)")
	f.StringVar(&o.defaultPolicy, "default-policy", "", "file rules for containers whose metadata names no policy")
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
	a := &notify.Agent{Policies: map[string]notify.FileRules{}, KillOnViolation: o.killOnViolation}
	for _, spec := range o.policies {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return usageErr(fmt.Errorf("--policy %q: want NAME=FILE, like --policy web=/etc/syscage/web.files", spec))
		}
		if _, dup := a.Policies[name]; dup {
			return usageErr(fmt.Errorf("--policy %s is given twice", name))
		}
		rules, err := notify.LoadFileRules(file)
		if err != nil {
			return usageErr(fmt.Errorf("--policy %s: %w", name, err))
		}
		a.Policies[name] = rules
	}
	if o.defaultPolicy != "" {
		rules, err := notify.LoadFileRules(o.defaultPolicy)
		if err != nil {
			return usageErr(fmt.Errorf("--default-policy: %w", err))
		}
		a.Default = &rules
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
