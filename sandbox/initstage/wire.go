// Package initstage is the init stage of sandbox.Command: the process
// that syscage re-executes itself as, which hardens itself, installs the
// seccomp filters as its very last step and executes the program.
//
// It depends on nothing but the runtime and the syscall package, on
// purpose: Go initialises packages in import-path order as soon as their
// imports are ready, so this package's init function, which runs the
// stage when the environment says so, comes before the program's heavier
// packages (syscall tables, parsers, the command line) and the stage does
// not pay for initialising them. Importing package sandbox is enough to
// get it.
//
// The parent encodes a Config with Config.Encode and sends it on a pipe;
// the stage answers on a close-on-exec socket with encoded Status
// messages, and says nothing when execve succeeds (the socket closes).
package initstage

import (
	"errors"
	"unsafe"
)

// EnvVar marks a process as the init stage. Its value is
// "CONFIG_FD,STATUS_FD": the pipe the settings arrive on and the
// close-on-exec socket the stage reports on.
const EnvVar = "SYSCAGE_SANDBOX_INIT"

// Exit codes of the stage's own failures, as container runtimes use them.
const (
	ExitInternal      = 125 // failed before the program started
	ExitCannotExecute = 126 // the program exists but cannot be executed
	ExitNotFound      = 127 // the program does not exist
)

// Config is what the parent sends to the stage.
type Config struct {
	Path    string   // program to execute, as given to execve
	Argv    []string // its arguments, argv[0] included
	Env     []string // its whole environment
	Dir     string   // working directory, "" to keep
	Filters [][]byte // encoded sock_filter arrays, installed first to last
	Gate    []byte   // exec gate filter, installed first with a listener; nil for none
	// Listener installs the first of Filters with a notification
	// listener (SECCOMP_FILTER_FLAG_NEW_LISTENER plus ListenerFlags),
	// hands it to the parent and waits for the parent's acknowledgement
	// before execve, so that no notified syscall of the program runs
	// before a supervisor serves the listener. Not with Gate: a filter
	// chain has one listener at most.
	Listener      bool
	ListenerFlags uint32
	Flags         uint32 // SECCOMP_FILTER_FLAG_* for every filter
	Caps          uint64 // capabilities the program keeps, one bit per number
	KeepCaps      bool   // leave capabilities alone
	KeepFDs       []int  // descriptors besides 0, 1, 2 that stay open
	LoopbackUp    bool   // bring up lo (new network namespace)
	// System call numbers on this machine that the syscall package does
	// not have for every architecture; the parent takes them from the
	// arch tables.
	NrSeccomp, NrCloseRange int
	// FailAt makes the stage fail on purpose at a named point ("config",
	// "hardened"), for tests of the all-or-nothing start.
	FailAt string
}

// ListenerAck is the byte the parent writes on the status socket once a
// supervisor serves the listener of Config.Listener.
const ListenerAck = 'A'

const ackByte = ListenerAck

// Status is a message of the stage; every one but a listener hand-off
// ends it.
type Status struct {
	Code     int    // ExitInternal, ExitCannotExecute or ExitNotFound; 0 for a hand-off
	Errno    int    // errno of the failed system call, 0 if none
	Listener bool   // the message carries the listener fd (SCM_RIGHTS)
	Msg      string // what failed
}

// encoder appends fields in the machine's byte order: the stage runs on
// the machine that encoded them.
type encoder struct{ b []byte }

func (e *encoder) u64(v uint64) {
	var x [8]byte
	*(*uint64)(unsafe.Pointer(&x[0])) = v
	e.b = append(e.b, x[:]...)
}
func (e *encoder) bytes(v []byte) { e.u64(uint64(len(v))); e.b = append(e.b, v...) }
func (e *encoder) str(s string)   { e.bytes([]byte(s)) }
func (e *encoder) strs(ss []string) {
	e.u64(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}
func (e *encoder) flag(v bool) {
	if v {
		e.u64(1)
	} else {
		e.u64(0)
	}
}

type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *decoder) u64() uint64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = errShort
		return 0
	}
	v := *(*uint64)(unsafe.Pointer(&d.b[0]))
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.u64()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) count() int {
	n := d.u64()
	if n > uint64(len(d.b)) { // every element takes at least one byte
		d.err = errShort
		return 0
	}
	return int(n)
}

func (d *decoder) strs() []string {
	n := d.count()
	var out []string
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) flag() bool {
	v := d.u64()
	if v > 1 && d.err == nil {
		d.err = errors.New("a flag is neither 0 nor 1")
	}
	return v == 1
}

const configMagic = 0x3167_6174_7367_6373 // "scgstag1"

// Encode returns the wire form of c.
func (c *Config) Encode() []byte {
	e := &encoder{}
	e.u64(configMagic)
	e.str(c.Path)
	e.strs(c.Argv)
	e.strs(c.Env)
	e.str(c.Dir)
	e.u64(uint64(len(c.Filters)))
	for _, f := range c.Filters {
		e.bytes(f)
	}
	e.flag(c.Gate != nil)
	e.bytes(c.Gate)
	e.u64(uint64(c.Flags))
	e.flag(c.Listener)
	e.u64(uint64(c.ListenerFlags))
	e.u64(c.Caps)
	e.flag(c.KeepCaps)
	e.u64(uint64(len(c.KeepFDs)))
	for _, fd := range c.KeepFDs {
		e.u64(uint64(fd))
	}
	e.flag(c.LoopbackUp)
	e.u64(uint64(c.NrSeccomp))
	e.u64(uint64(c.NrCloseRange))
	e.str(c.FailAt)
	return e.b
}

// DecodeConfig reads what Encode writes.
func DecodeConfig(b []byte) (*Config, error) {
	d := &decoder{b: b}
	if d.u64() != configMagic {
		return nil, errors.New("not an init stage configuration")
	}
	c := &Config{}
	c.Path = d.str()
	c.Argv = d.strs()
	c.Env = d.strs()
	c.Dir = d.str()
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		c.Filters = append(c.Filters, d.bytes())
	}
	hasGate := d.flag()
	gate := d.bytes()
	if hasGate {
		c.Gate = gate
	} else if len(gate) != 0 && d.err == nil {
		d.err = errors.New("gate bytes without a gate")
	}
	flags := d.u64()
	if flags > 0xffffffff && d.err == nil {
		d.err = errors.New("filter flags beyond 32 bits")
	}
	c.Flags = uint32(flags)
	c.Listener = d.flag()
	lflags := d.u64()
	if lflags > 0xffffffff && d.err == nil {
		d.err = errors.New("listener flags beyond 32 bits")
	}
	c.ListenerFlags = uint32(lflags)
	if c.Listener && (c.Gate != nil || len(c.Filters) == 0) && d.err == nil {
		d.err = errors.New("a listener needs a filter and no exec gate")
	}
	c.Caps = d.u64()
	c.KeepCaps = d.flag()
	n = d.count()
	for i := 0; i < n && d.err == nil; i++ {
		c.KeepFDs = append(c.KeepFDs, int(int64(d.u64())))
	}
	c.LoopbackUp = d.flag()
	c.NrSeccomp = int(int64(d.u64()))
	c.NrCloseRange = int(int64(d.u64()))
	c.FailAt = d.str()
	if d.err != nil {
		return nil, errors.New("init stage configuration: " + d.err.Error())
	}
	if len(d.b) != 0 {
		return nil, errors.New("init stage configuration: trailing bytes")
	}
	return c, nil
}

const statusMagic = 0x3174_7374_7367_6373 // "scgstst1"

// Encode returns the wire form of s.
func (s *Status) Encode() []byte {
	e := &encoder{}
	e.u64(statusMagic)
	e.u64(uint64(s.Code))
	e.u64(uint64(s.Errno))
	e.flag(s.Listener)
	e.str(s.Msg)
	return e.b
}

// DecodeStatus reads what Status.Encode writes.
func DecodeStatus(b []byte) (*Status, error) {
	d := &decoder{b: b}
	if d.u64() != statusMagic {
		return nil, errors.New("not an init stage status")
	}
	s := &Status{Code: int(d.u64()), Errno: int(d.u64()), Listener: d.flag(), Msg: d.str()}
	if d.err != nil || len(d.b) != 0 {
		return nil, errors.New("malformed init stage status")
	}
	return s, nil
}
