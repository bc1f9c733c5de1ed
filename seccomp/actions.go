package seccomp

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/internal/suggest"
)

// actionTable lists every action the kernel defines, under the names its
// sysctls use and in their order, strictest first (kernel/seccomp.c:
// seccomp_log_names and seccomp_actions_avail).
var actionTable = []struct {
	name string
	ret  uint32
}{
	{"kill_process", bpf.RetKillProcess},
	{"kill_thread", bpf.RetKillThread},
	{"trap", bpf.RetTrap},
	{"errno", bpf.RetErrno},
	{"user_notif", bpf.RetUserNotif},
	{"trace", bpf.RetTrace},
	{"log", bpf.RetLog},
	{"allow", bpf.RetAllow},
}

// ActionNames returns the sysctl names of all actions the kernel defines,
// strictest first: kill_process kill_thread trap errno user_notif trace
// log allow.
func ActionNames() []string {
	out := make([]string, len(actionTable))
	for i, a := range actionTable {
		out[i] = a.name
	}
	return out
}

// ActionValue returns the SECCOMP_RET_* value of an action's sysctl name.
func ActionValue(name string) (uint32, bool) {
	for _, a := range actionTable {
		if a.name == name {
			return a.ret, true
		}
	}
	return 0, false
}

// ActionName returns the sysctl name of the action part of a filter return
// value, or "" for a value the kernel does not define.
func ActionName(ret uint32) string {
	for _, a := range actionTable {
		if a.ret == ret&bpf.RetActionFull {
			return a.name
		}
	}
	return ""
}

// ReadActionsAvail returns the actions the kernel lists in
// /proc/sys/kernel/seccomp/actions_avail (Linux 4.14+).
func ReadActionsAvail() ([]string, error) {
	s, err := readTrimmed(actionsAvailPath)
	if err != nil {
		return nil, sysctlError("read", actionsAvailPath, err)
	}
	return strings.Fields(s), nil
}

// ProbeAction asks the kernel whether it supports an action, with
// seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action) (Linux 4.14+). The data
// part of ret is ignored. The error is non-nil only when the question
// cannot be asked.
func ProbeAction(ret uint32) (bool, error) {
	action := ret & bpf.RetActionFull
	_, err := seccompCall(opGetActionAvail, 0, unsafe.Pointer(&action))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EOPNOTSUPP):
		// kernel/seccomp.c: seccomp_get_action_avail rejects actions it
		// does not define with EOPNOTSUPP.
		return false, nil
	case errors.Is(err, unix.EINVAL):
		// do_seccomp: an unknown operation, so a kernel before 4.14.
		return false, &Error{Op: "probe seccomp actions", Err: fmt.Errorf("%w: SECCOMP_GET_ACTION_AVAIL (Linux 4.14+)", ErrUnsupported)}
	case errors.Is(err, unix.ENOSYS):
		return false, &Error{Op: "probe seccomp actions", Err: fmt.Errorf("%w: the seccomp system call (Linux 3.17+), or a seccomp filter on this process denies it", ErrUnsupported)}
	}
	return false, &Error{Op: "probe seccomp actions", Err: err}
}

// ActionSupport says whether the kernel supports one action, by each of
// its two interfaces.
type ActionSupport struct {
	Name   string `json:"name"`   // sysctl name, e.g. "kill_process"
	Value  uint32 `json:"value"`  // SECCOMP_RET_* value
	Listed bool   `json:"listed"` // named in actions_avail
	Probed bool   `json:"probed"` // accepted by SECCOMP_GET_ACTION_AVAIL
}

// Actions is the kernel's answer about every action.
type Actions struct {
	Actions []ActionSupport `json:"actions"`
	// ListError and ProbeError say why one of the two sources could not
	// be consulted; its column is then all false.
	ListError  string `json:"list_error,omitempty"`
	ProbeError string `json:"probe_error,omitempty"`
	// Extra lists names in actions_avail that this package does not know:
	// actions of a newer kernel.
	Extra []string `json:"extra,omitempty"`
}

// AvailableActions reads actions_avail and probes every action the kernel
// can define, so the two answers can be compared.
func AvailableActions() Actions {
	var out Actions
	listed, err := ReadActionsAvail()
	if err != nil {
		out.ListError = err.Error()
	}
	for _, a := range actionTable {
		s := ActionSupport{Name: a.name, Value: a.ret, Listed: slices.Contains(listed, a.name)}
		if out.ProbeError == "" {
			ok, err := ProbeAction(a.ret)
			if err != nil {
				out.ProbeError = err.Error()
			}
			s.Probed = ok
		}
		out.Actions = append(out.Actions, s)
	}
	for _, n := range listed {
		if _, ok := ActionValue(n); !ok {
			out.Extra = append(out.Extra, n)
		}
	}
	return out
}

// Available returns the names of the actions both sources agree on (or
// that the one working source reports).
func (a Actions) Available() []string {
	var out []string
	for _, s := range a.Actions {
		if (s.Listed || a.ListError != "") && (s.Probed || a.ProbeError != "") {
			out = append(out, s.Name)
		}
	}
	return out
}

// Disagreements describes every action on which the sysctl and the probe
// differ; both sources must have been readable. The kernel derives both
// from the same switch, so any entry here is worth a bug report.
func (a Actions) Disagreements() []string {
	if a.ListError != "" || a.ProbeError != "" {
		return nil
	}
	var out []string
	for _, s := range a.Actions {
		switch {
		case s.Listed && !s.Probed:
			out = append(out, fmt.Sprintf("%s is listed in actions_avail but SECCOMP_GET_ACTION_AVAIL rejects it", s.Name))
		case !s.Listed && s.Probed:
			out = append(out, fmt.Sprintf("%s is accepted by SECCOMP_GET_ACTION_AVAIL but not listed in actions_avail", s.Name))
		}
	}
	for _, n := range a.Extra {
		out = append(out, fmt.Sprintf("%s is listed in actions_avail but unknown to syscage (a newer kernel)", n))
	}
	return out
}

// ReadActionsLogged returns the actions the kernel logs, from
// /proc/sys/kernel/seccomp/actions_logged.
func ReadActionsLogged() ([]string, error) {
	s, err := readTrimmed(actionsLoggedPath)
	if err != nil {
		return nil, sysctlError("read", actionsLoggedPath, err)
	}
	return strings.Fields(s), nil
}

// LoggableActions returns the names actions_logged accepts: every action
// but allow (kernel/seccomp.c: write_actions_logged refuses
// SECCOMP_LOG_ALLOW with EINVAL).
func LoggableActions() []string {
	var out []string
	for _, a := range actionTable {
		if a.name != "allow" {
			out = append(out, a.name)
		}
	}
	return out
}

// ParseLogActions reads a list of action names separated by commas or
// spaces ("kill_process,kill_thread,errno"), case-insensitively, and
// checks each one is an action the kernel can log. The result is in the
// kernel's order without duplicates. An empty list (or "none") means
// logging no action.
func ParseLogActions(list string) ([]string, error) {
	fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 1 && strings.EqualFold(fields[0], "none") {
		return []string{}, nil
	}
	want := map[string]bool{}
	for i, f := range fields {
		name := strings.ToLower(f)
		if name == "allow" {
			return nil, kinded(ErrInvalid, "action list %q, item %d: \"allow\" cannot be logged (the kernel refuses it in actions_logged); choose from %s",
				list, i+1, strings.Join(LoggableActions(), ", "))
		}
		if _, ok := ActionValue(name); !ok {
			return nil, kinded(ErrInvalid, "action list %q, item %d: unknown action %q%s (actions that can be logged: %s)",
				list, i+1, f, suggest.Phrase(suggest.Nearest(name, LoggableActions(), 3)), strings.Join(LoggableActions(), ", "))
		}
		want[name] = true
	}
	out := []string{}
	for _, a := range actionTable {
		if want[a.name] {
			out = append(out, a.name)
		}
	}
	return out, nil
}

// SetActionsLogged makes the kernel log exactly the given actions, by
// writing /proc/sys/kernel/seccomp/actions_logged, and reads the file back
// to confirm. Names are checked as ParseLogActions does and against the
// running kernel's actions_avail. It needs CAP_SYS_ADMIN.
func SetActionsLogged(names []string) error {
	const op = "set the logged seccomp actions"
	canon, err := ParseLogActions(strings.Join(names, ","))
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	if avail, err := ReadActionsAvail(); err == nil {
		for _, n := range canon {
			if !slices.Contains(avail, n) {
				return &Error{Op: op, Err: fmt.Errorf("%w: the running kernel does not know action %q", ErrUnsupported, n),
					Fix: "it supports " + strings.Join(avail, ", ")}
			}
		}
	}
	// The kernel splits on single spaces and stops at the first empty
	// name (seccomp_actions_logged_from_names), so the separator must be
	// exactly one space or later names would be silently dropped.
	data := strings.Join(canon, " ") + "\n"
	f, err := os.OpenFile(actionsLoggedPath, os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return sysctlError("write", actionsLoggedPath, err)
	}
	got, err := ReadActionsLogged()
	if err != nil {
		return err
	}
	if !slices.Equal(got, canon) {
		return &Error{Op: op, Err: fmt.Errorf("the kernel logs %q after writing %q", strings.Join(got, " "), strings.Join(canon, " "))}
	}
	return nil
}

// sysctlError explains a failure to read or write a seccomp sysctl.
func sysctlError(verb, path string, err error) error {
	op := verb + " " + path
	switch {
	case errors.Is(err, os.ErrNotExist):
		return &Error{Op: op, Err: fmt.Errorf("%w: the file is missing (kernel before 4.14, or built without CONFIG_SECCOMP_FILTER / CONFIG_SYSCTL)", ErrUnsupported)}
	case errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM):
		// write_actions_logged checks capable(CAP_SYS_ADMIN); the file
		// mode (0644) stops other users before that.
		return &Error{Op: op, Err: fmt.Errorf("%w: changing it needs CAP_SYS_ADMIN", ErrPermission), Fix: "run as root (e.g. with sudo)"}
	case errors.Is(err, unix.EINVAL):
		return &Error{Op: op, Err: fmt.Errorf("%w: the kernel rejected the list", ErrInvalid)}
	case errors.Is(err, unix.EROFS):
		return &Error{Op: op, Err: err, Fix: "/proc/sys is mounted read-only here (a container?); change it on the host"}
	}
	return &Error{Op: op, Err: err}
}
