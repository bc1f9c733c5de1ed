package record

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/execerr"
)

// stageEnv marks a process as the recorder's init stage. Its value is
// "CONFIG_FD,STATUS_FD".
const stageEnv = "SYSCAGE_RECORD_INIT"

// stageConfig is what the recorder sends the init stage, as one JSON line.
type stageConfig struct {
	Path   string   `json:"path"`
	Argv   []string `json:"argv"`
	Env    []string `json:"env"`
	Dir    string   `json:"dir,omitempty"`
	Filter []byte   `json:"filter"` // native-endian sock_filter array
}

// stageMsg is what the stage reports, one JSON object per line.
type stageMsg struct {
	// Tid is the thread that will execute the program; the recorder
	// seizes it and answers with one byte on the config pipe.
	Tid int `json:"tid,omitempty"`
	// Code, Msg and Errno report a failure; the stage then exits.
	Code  int    `json:"code,omitempty"`
	Msg   string `json:"msg,omitempty"`
	Errno int    `json:"errno,omitempty"`
}

// Init runs the recorder's init stage and never returns when this
// process was started as one by Record; otherwise it returns at once.
// Call it first thing in main (or an init function, or TestMain) of every
// program that calls Record.
func Init() {
	v, ok := os.LookupEnv(stageEnv)
	if !ok {
		return
	}
	runtime.LockOSThread()
	os.Exit(runStage(v))
}

func runStage(fds string) int {
	cfgS, statusS, ok := strings.Cut(fds, ",")
	cfgFD, err1 := strconv.Atoi(cfgS)
	statusFD, err2 := strconv.Atoi(statusS)
	if !ok || err1 != nil || err2 != nil {
		fmt.Fprintf(os.Stderr, "syscage: %s=%q is malformed; it is internal to syscage record and should not be set by hand\n", stageEnv, fds)
		return ExitInternal
	}
	report := func(m stageMsg) {
		b, _ := json.Marshal(m)
		unix.Write(statusFD, append(b, '\n'))
	}
	fail := func(code int, errno unix.Errno, format string, args ...any) int {
		report(stageMsg{Code: code, Msg: fmt.Sprintf(format, args...), Errno: int(errno)})
		return code
	}
	line, err := readLine(cfgFD)
	if err != nil {
		return fail(ExitInternal, 0, "record init stage: read the settings: %v", err)
	}
	var cfg stageConfig
	if err := json.Unmarshal(line, &cfg); err != nil {
		return fail(ExitInternal, 0, "record init stage: decode the settings: %v", err)
	}
	if cfg.Dir != "" {
		if err := unix.Chdir(cfg.Dir); err != nil {
			return fail(ExitInternal, err.(unix.Errno), "record init stage: change directory to %s", cfg.Dir)
		}
	}
	if code, errno := checkExecutable(cfg.Path); code != 0 {
		return fail(code, errno, "%s", cfg.Path)
	}
	prog, err := bpf.Decode(cfg.Filter, bpf.NativeEndian)
	if err != nil || len(prog) == 0 {
		return fail(ExitInternal, 0, "record init stage: filter: %v", err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	path, err := unix.BytePtrFromString(cfg.Path)
	if err != nil {
		return fail(ExitInternal, 0, "record init stage: program path %q: %v", cfg.Path, err)
	}
	argv, err := cStrings(cfg.Argv)
	if err != nil {
		return fail(ExitInternal, 0, "record init stage: arguments: %v", err)
	}
	envv, err := cStrings(cfg.Env)
	if err != nil {
		return fail(ExitInternal, 0, "record init stage: environment: %v", err)
	}

	// Hand this thread to the tracer and wait until it is seized: every
	// seccomp stop from here on must find a tracer, or the kernel fails
	// the syscall with ENOSYS (kernel/seccomp.c: __seccomp_filter,
	// SECCOMP_RET_TRACE without a tracer).
	report(stageMsg{Tid: unix.Gettid()})
	var b [1]byte
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(cfgFD), uintptr(unsafe.Pointer(&b[0])), 1)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || n != 1 {
			return ExitInternal // the recorder went away
		}
		break
	}
	// The same no_new_privs syscage run sets, so that the program runs
	// as it will in the cage (and the filter needs it without
	// CAP_SYS_ADMIN).
	if _, _, e := unix.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
		return fail(ExitInternal, e, "record init stage: set no_new_privs")
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(fprog))); e != 0 {
		return fail(ExitInternal, e, "record init stage: install the tracing filter")
	}
	// The first syscall under the filter: the program's own execve.
	_, _, e := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	runtime.KeepAlive(fprog)
	runtime.KeepAlive(filter)
	switch e {
	case unix.ENOENT, unix.ENOTDIR:
		return fail(ExitNotFound, e, "%s", cfg.Path)
	default:
		return fail(ExitCannotExecute, e, "%s", cfg.Path)
	}
}

// checkExecutable returns 127 or 126 and the errno when execve would
// fail for want of the file or of permission to execute it.
func checkExecutable(path string) (int, unix.Errno) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		e := err.(unix.Errno)
		if e == unix.ENOENT || e == unix.ENOTDIR {
			return ExitNotFound, e
		}
		return ExitCannotExecute, e
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return ExitCannotExecute, unix.EISDIR
	}
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); err != nil {
		return ExitCannotExecute, err.(unix.Errno)
	}
	return 0, 0
}

// readLine reads one line from fd byte by byte, so that nothing after it
// (the go-ahead byte) is consumed.
func readLine(fd int) ([]byte, error) {
	var out []byte
	var b [1]byte
	for {
		n, err := unix.Read(fd, b[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("settings ended early")
		}
		if b[0] == '\n' {
			return out, nil
		}
		out = append(out, b[0])
	}
}

// cStrings builds a NULL-terminated array of C strings for execve.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, len(ss)+1)
	for i, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out[i] = p
	}
	return out, nil
}

// Exit codes for failures before the program ran, as syscage run uses
// them (and container runtimes do).
const (
	ExitInternal      = 125 // syscage failed
	ExitCannotExecute = 126 // the program exists but cannot be executed
	ExitNotFound      = 127 // the program does not exist
)

// StartError is a failure before the program ran; nothing was recorded.
type StartError = execerr.StartError
