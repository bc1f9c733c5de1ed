package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/policy"
)

// The seccomp agent protocol of the OCI runtime spec (config-linux.md,
// "The Container Process State"): a runtime whose seccomp profile names a
// listenerPath connects to that unix socket once per container and sends
// one ContainerProcessState as JSON, with the descriptors it names in an
// SCM_RIGHTS control message of the same sendmsg; then it closes the
// connection. runc sends it when the container's init has installed the
// filter, before the container's program runs.

// SeccompFdName is the name of the listener in ContainerProcessState.Fds.
const SeccompFdName = "seccompFd"

// ContainerProcessState is the runtime-spec message (specs-go:
// ContainerProcessState).
type ContainerProcessState struct {
	Version string `json:"ociVersion"`
	// Fds names the descriptors passed with the message, in order.
	Fds []string `json:"fds"`
	// Pid is the container process, in the agent's pid namespace.
	Pid int `json:"pid"`
	// Metadata is the profile's listenerMetadata, opaque to the runtime.
	Metadata string         `json:"metadata,omitempty"`
	State    ContainerState `json:"state"`
}

// ContainerState is the runtime-spec state of a container.
type ContainerState struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid,omitempty"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// maxStateSize bounds the message: runc's state with annotations is a
// few KiB.
const maxStateSize = 1 << 20

// maxFDs bounds the descriptors accepted with one message.
const maxFDs = 16

// ReadContainerProcessState reads the message of one connection: the
// JSON (which may arrive in several reads, up to the end of the stream)
// and the descriptors sent with it. It returns the state and the
// listener; every other descriptor received is closed. On error no
// descriptor stays open.
func ReadContainerProcessState(conn *net.UnixConn, timeout time.Duration) (*ContainerProcessState, int, error) {
	if timeout > 0 {
		conn.SetReadDeadline(time.Now().Add(timeout))
	}
	var data []byte
	var fds []int
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(maxFDs*4))
	for {
		n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
		if oobn > 0 {
			got, perr := parseRights(oob[:oobn])
			fds = append(fds, got...)
			if perr != nil {
				closeAll()
				return nil, -1, perr
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			closeAll()
			return nil, -1, fmt.Errorf("more than %d descriptors sent with the container state", maxFDs)
		}
		data = append(data, buf[:n]...)
		if len(data) > maxStateSize {
			closeAll()
			return nil, -1, fmt.Errorf("the container state is larger than %d bytes", maxStateSize)
		}
		if err != nil || n == 0 {
			if n == 0 && (err == nil || errors.Is(err, net.ErrClosed) || isEOF(err)) {
				break
			}
			if len(data) > 0 && isEOF(err) {
				break
			}
			closeAll()
			return nil, -1, fmt.Errorf("read the container state: %w", err)
		}
		// runc sends everything in one message; a complete JSON object
		// ends the read without waiting for the close.
		if json.Valid(data) {
			break
		}
	}
	if len(data) == 0 {
		closeAll()
		return nil, -1, errors.New("the connection closed without sending a container state")
	}
	st, err := ParseContainerProcessState(data)
	if err != nil {
		closeAll()
		return nil, -1, err
	}
	i := slices.Index(st.Fds, SeccompFdName)
	switch {
	case len(fds) == 0:
		return nil, -1, fmt.Errorf("container %s: no descriptor came with the state: the runtime must send the listener with SCM_RIGHTS", st.State.ID)
	case len(fds) != len(st.Fds):
		closeAll()
		return nil, -1, fmt.Errorf("container %s: the state names %d descriptors (%s) but %d came with it", st.State.ID, len(st.Fds), strings.Join(st.Fds, ", "), len(fds))
	}
	l := fds[i]
	for j, fd := range fds {
		if j != i {
			unix.Close(fd)
		}
	}
	return st, l, nil
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed)
}

func parseRights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("malformed control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range got {
			unix.CloseOnExec(fd)
		}
		fds = append(fds, got...)
	}
	return fds, nil
}

// ParseContainerProcessState decodes and checks the JSON message.
func ParseContainerProcessState(data []byte) (*ContainerProcessState, error) {
	var st ContainerProcessState
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&st); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("malformed container state at byte %d: %v", se.Offset, err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("malformed container state: field %q at byte %d is a JSON %s, want %s", te.Field, te.Offset, te.Value, te.Type)
		}
		return nil, fmt.Errorf("malformed container state: %v", err)
	}
	if dec.More() {
		return nil, errors.New("malformed container state: more than one JSON value")
	}
	switch {
	case st.Version == "":
		return nil, errors.New("container state without ociVersion: not a ContainerProcessState")
	case !slices.Contains(st.Fds, SeccompFdName):
		return nil, fmt.Errorf("container state names no %q among its descriptors %q", SeccompFdName, st.Fds)
	case st.Pid <= 0:
		return nil, fmt.Errorf("container state has pid %d: want the container process's pid", st.Pid)
	}
	return &st, nil
}

// PolicyName picks the policy a container asks for in its
// listenerMetadata: "policy=NAME" among key=value pairs separated by
// semicolons, commas or blanks, or a bare NAME. "" means none.
func PolicyName(metadata string) string {
	fields := strings.FieldsFunc(metadata, func(r rune) bool { return r == ';' || r == ',' || r == ' ' || r == '\t' })
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "policy="); ok {
			return v
		}
	}
	if len(fields) == 1 && !strings.Contains(fields[0], "=") {
		return fields[0]
	}
	return ""
}

// Agent is a seccomp agent: it serves the listenerPath socket of
// container runtimes and supervises every container handed to it with
// the file broker of the policy its metadata names.
type Agent struct {
	// Policies by name. The agent serves their files blocks (each must
	// have one); the container's own profile is the filter.
	Policies map[string]*policy.Policy
	// Default applies when the metadata names no policy; nil refuses
	// such containers (their notified syscalls then fail with ENOSYS).
	Default *policy.Policy
	// Alerts receives the violations of every container.
	Alerts *Alerts
	// KillOnViolation ends a container at its first violation.
	KillOnViolation bool
	// BrokerRuntimeInit brokers the syscalls the runtime's own init
	// makes after installing the filter, before it executes the
	// container's program; by default they run as made (see
	// docs/supervisor.md). Set it for runtimes that make none.
	BrokerRuntimeInit bool
	// Logf reports connections, containers and problems; nil discards.
	Logf func(format string, args ...any)

	wg sync.WaitGroup
}

func (a *Agent) logf(format string, args ...any) {
	if a.Logf != nil {
		a.Logf(format, args...)
	}
}

// Serve accepts connections on ln until ctx is cancelled, then closes ln
// and waits for the containers' supervisors to stop. A bad connection is
// reported and dropped; the agent goes on serving the others.
func (a *Agent) Serve(ctx context.Context, ln *net.UnixListener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	defer a.wg.Wait()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.HandleConn(ctx, conn); err != nil {
				a.logf("syscage agent: %v", err)
			}
		}()
	}
}

// HandleConn reads one container's state from conn and supervises the
// container until it exits or ctx is cancelled.
func (a *Agent) HandleConn(ctx context.Context, conn *net.UnixConn) error {
	st, l, err := ReadContainerProcessState(conn, 10*time.Second)
	conn.Close()
	if err != nil {
		return err
	}
	name := PolicyName(st.Metadata)
	p, err := a.choose(name, st)
	if err != nil {
		unix.Close(l) // the container's notified syscalls now fail with ENOSYS
		return err
	}
	b, err := NewPolicyBroker(p)
	if err != nil {
		unix.Close(l)
		return fmt.Errorf("container %s: %w", st.State.ID, err)
	}
	defer b.Close()
	// Hold the container's process by a pidfd, so that a kill after a
	// violation can never hit a process that reused its pid.
	pidfd, perr := unix.PidfdOpen(st.Pid, 0)
	if perr == nil {
		defer unix.Close(pidfd)
	}
	opts := Options{Alerts: a.Alerts, KillOnViolation: a.KillOnViolation, Container: st.State.ID, Logf: a.Logf}
	opts.Kill = func(*Request) error {
		if perr != nil {
			return fmt.Errorf("no pidfd for container process %d: %w", st.Pid, perr)
		}
		// The container's process is the init of its pid namespace
		// (when it has one): its death ends every process in it.
		return unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	}
	h := b.Handlers()
	if !a.BrokerRuntimeInit {
		if init, err := runtimeInit(st.Pid); err == nil {
			h, opts.Unhandled = init.wrap(h, opts.Unhandled)
		} else {
			a.logf("syscage agent: container %s: %v; the runtime's own opens before the container's program starts are brokered like the program's", st.State.ID, err)
		}
	}
	s, err := New(l, h, opts)
	if err != nil {
		unix.Close(l)
		return fmt.Errorf("container %s: %w", st.State.ID, err)
	}
	a.logf("syscage agent: supervising container %s (pid %d) with policy %q", st.State.ID, st.Pid, displayName(name))
	err = s.Serve(ctx)
	stats := s.Stats()
	a.logf("syscage agent: container %s done: %d requests, %d refused, %d gone", st.State.ID, stats.Received, stats.Violations, stats.Gone+stats.Vanished)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("container %s: %w", st.State.ID, err)
	}
	return nil
}

// choose finds the policy a container asks for.
func (a *Agent) choose(name string, st *ContainerProcessState) (*policy.Policy, error) {
	if name == "" {
		if a.Default == nil {
			return nil, fmt.Errorf("container %s names no policy in its metadata %q and the agent has no default (--default-policy): its notified syscalls will fail with ENOSYS", st.State.ID, st.Metadata)
		}
		return a.Default, nil
	}
	p, ok := a.Policies[name]
	if !ok || p == nil {
		return nil, fmt.Errorf("container %s asks for policy %q, which the agent does not have (it has %s): its notified syscalls will fail with ENOSYS", st.State.ID, name, strings.Join(a.names(), ", "))
	}
	return p, nil
}

func displayName(n string) string {
	if n == "" {
		return "default"
	}
	return n
}

func (a *Agent) names() []string {
	var out []string
	for n := range a.Policies {
		out = append(out, n)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return []string{"no named policy"}
	}
	return out
}

// initProcess recognises the container runtime's own init process before
// it executes the container's program.
//
// A runtime hands the listener over while its init process, already under
// the filter, waits to execute the program; in between it makes syscalls
// of its own that the filter notifies too (runc opens its exec FIFO
// through /proc/self/fd). Those are the runtime's, trusted, and made
// before anything of the container runs, so they are let through as made
// (ContinueUnchecked). The init is told by its executable: the one it
// runs when the state arrives; once it has executed the program, every
// request is the container's and goes to the handlers.
type initProcess struct {
	pid  int
	exe  exeKey
	done atomic.Bool // the program runs: stop checking
}

type exeKey struct{ dev, ino uint64 }

func exeOf(pid int) (exeKey, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+itoa(pid)+"/exe", &st); err != nil {
		return exeKey{}, err
	}
	return exeKey{st.Dev, st.Ino}, nil
}

func runtimeInit(pid int) (*initProcess, error) {
	exe, err := exeOf(pid)
	if err != nil {
		return nil, fmt.Errorf("cannot see the executable of the container process %d: %w", pid, err)
	}
	return &initProcess{pid: pid, exe: exe}, nil
}

// runtimes reports whether r comes from the runtime's init before the
// program runs.
func (p *initProcess) runtimes(r *Request) bool {
	if p.done.Load() {
		return false
	}
	exe, err := exeOf(r.PID)
	if err != nil || exe != p.exe || tgidOf(r.PID) != p.pid {
		if err == nil && tgidOf(r.PID) == p.pid {
			p.done.Store(true) // the init has executed the program
		}
		return false
	}
	// The pid may have been reused since the checks: only a valid
	// notification proves they were about the target.
	return r.Valid() == nil
}

func (p *initProcess) wrap(h Handlers, unhandled Handler) (Handlers, Handler) {
	out := Handlers{}
	for name, fn := range h {
		out[name] = func(ctx context.Context, r *Request) Response {
			if p.runtimes(r) {
				return ContinueUnchecked()
			}
			return fn(ctx, r)
		}
	}
	if unhandled == nil {
		unhandled = unhandledHandler
	}
	return out, func(ctx context.Context, r *Request) Response {
		if p.runtimes(r) {
			return ContinueUnchecked()
		}
		return unhandled(ctx, r)
	}
}
