package seccomp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/suggest"
)

// Flags is a set of SECCOMP_FILTER_FLAG_* bits for installing a filter
// (include/uapi/linux/seccomp.h).
type Flags uint

// The filter flags. Some are valid only together with others; see
// CheckFlags.
const (
	// FlagTSync installs the filter on every thread of the process.
	FlagTSync Flags = unix.SECCOMP_FILTER_FLAG_TSYNC
	// FlagLog logs every action but allow that the filter returns.
	FlagLog Flags = unix.SECCOMP_FILTER_FLAG_LOG
	// FlagSpecAllow keeps the Speculative Store Bypass mitigation off.
	FlagSpecAllow Flags = unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
	// FlagNewListener returns a user-notification listener fd.
	FlagNewListener Flags = unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	// FlagTSyncESRCH makes a failed TSYNC return ESRCH instead of the
	// thread id, which lets TSYNC and NEW_LISTENER share the return value.
	FlagTSyncESRCH Flags = unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	// FlagWaitKillableRecv makes a notifying thread wait killably once the
	// supervisor has received the notification.
	FlagWaitKillableRecv Flags = unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
)

// flagTable describes each flag: its name without the
// SECCOMP_FILTER_FLAG_ prefix and the first kernel that knows it.
var flagTable = []struct {
	flag  Flags
	name  string
	since string
}{
	{FlagTSync, "TSYNC", "3.17"},
	{FlagLog, "LOG", "4.14"},
	{FlagSpecAllow, "SPEC_ALLOW", "4.17"},
	{FlagNewListener, "NEW_LISTENER", "5.0"},
	{FlagTSyncESRCH, "TSYNC_ESRCH", "5.7"},
	{FlagWaitKillableRecv, "WAIT_KILLABLE_RECV", "5.19"},
}

// AllFlags is the union of the flags this package knows.
const AllFlags = FlagTSync | FlagLog | FlagSpecAllow | FlagNewListener | FlagTSyncESRCH | FlagWaitKillableRecv

// FlagNames returns the names of all known flags, lowest bit first.
func FlagNames() []string {
	out := make([]string, len(flagTable))
	for i, f := range flagTable {
		out[i] = f.name
	}
	return out
}

// String renders the set as NAME|NAME; unknown bits print in hex and the
// empty set as "0".
func (f Flags) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	rest := f
	for _, e := range flagTable {
		if f&e.flag != 0 {
			parts = append(parts, e.name)
			rest &^= e.flag
		}
	}
	if rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// ParseFlags reads flags written as String writes them, separated by "|"
// or ",", case-insensitively, with or without the SECCOMP_FILTER_FLAG_
// prefix; numbers are accepted too. An empty string is the empty set.
func ParseFlags(s string) (Flags, error) {
	var out Flags
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' || r == ' ' }) {
		if v, err := strconv.ParseUint(part, 0, 32); err == nil {
			out |= Flags(v)
			continue
		}
		name := strings.TrimPrefix(strings.ToUpper(part), "SECCOMP_FILTER_FLAG_")
		found := false
		for _, e := range flagTable {
			if e.name == name {
				out |= e.flag
				found = true
				break
			}
		}
		if !found {
			return 0, kinded(ErrInvalid, "unknown seccomp filter flag %q%s (known flags: %s)",
				part, suggest.Phrase(suggest.Nearest(name, FlagNames(), 3)), strings.Join(FlagNames(), ", "))
		}
	}
	return out, nil
}

// Since returns the first Linux release that knows every flag in f, or ""
// if f holds bits this package does not know.
func (f Flags) Since() string {
	if f&^AllFlags != 0 {
		return ""
	}
	best := "3.17"
	for _, e := range flagTable {
		if f&e.flag != 0 {
			best = e.since
		}
	}
	return best
}

// CheckFlags reports combinations the kernel refuses whatever it
// supports, in the order kernel/seccomp.c: seccomp_set_mode_filter tests
// them, before it looks at the filter:
//
//   - TSYNC with NEW_LISTENER needs TSYNC_ESRCH (both report through the
//     return value otherwise);
//   - WAIT_KILLABLE_RECV needs NEW_LISTENER.
func CheckFlags(f Flags) error {
	if f&^AllFlags != 0 {
		return kinded(ErrInvalid, "filter flags %s: unknown bits %#x", f, uint(f&^AllFlags))
	}
	if f&FlagTSync != 0 && f&FlagNewListener != 0 && f&FlagTSyncESRCH == 0 {
		return kinded(ErrInvalid, "filter flags %s: TSYNC together with NEW_LISTENER needs TSYNC_ESRCH as well", f)
	}
	if f&FlagWaitKillableRecv != 0 && f&FlagNewListener == 0 {
		return kinded(ErrInvalid, "filter flags %s: WAIT_KILLABLE_RECV is only valid with NEW_LISTENER", f)
	}
	return nil
}

// companions returns the flags a flag must be probed with to pass
// CheckFlags.
func companions(f Flags) Flags {
	if f&FlagWaitKillableRecv != 0 {
		f |= FlagNewListener
	}
	if f&FlagTSync != 0 && f&FlagNewListener != 0 {
		f |= FlagTSyncESRCH
	}
	return f
}

// ProbeFlags asks the running kernel whether it accepts the flag set f,
// without installing anything: it calls seccomp(SECCOMP_SET_MODE_FILTER,
// f, NULL). The kernel validates the flags first and then copies the
// filter from the NULL pointer, so EFAULT means every flag was accepted
// and EINVAL that some flag or combination was not; no filter, listener fd
// or thread synchronisation is ever reached (kernel/seccomp.c:
// seccomp_set_mode_filter, seccomp_prepare_user_filter).
//
// It returns nil when the kernel accepts f, an error matching
// ErrUnsupported naming the unknown flags, or ErrInvalid for a combination
// the kernel never accepts (see CheckFlags).
func ProbeFlags(f Flags) error {
	const op = "probe seccomp filter flags"
	if err := CheckFlags(f); err != nil {
		return &Error{Op: op, Err: err}
	}
	accepted, err := probeRaw(f)
	if err != nil {
		return &Error{Op: op, Err: err}
	}
	if accepted {
		return nil
	}
	if f == 0 {
		return &Error{Op: op, Err: fmt.Errorf("%w: seccomp filter mode (kernel built without CONFIG_SECCOMP_FILTER)", ErrUnsupported)}
	}
	// Name the flags that the kernel does not know, one by one.
	var unknown []string
	for _, e := range flagTable {
		if f&e.flag == 0 {
			continue
		}
		if ok, err := probeRaw(companions(e.flag)); err == nil && !ok {
			unknown = append(unknown, fmt.Sprintf("%s (Linux %s+)", e.name, e.since))
		}
	}
	if len(unknown) == 0 {
		return &Error{Op: op, Err: fmt.Errorf("%w: the kernel refuses the combination %s", ErrUnsupported, f)}
	}
	return &Error{Op: op, Err: fmt.Errorf("%w: %s", ErrUnsupported, strings.Join(unknown, ", "))}
}

// probeRaw performs the NULL-filter probe and classifies the errno.
func probeRaw(f Flags) (bool, error) {
	_, err := seccompCall(opSetModeFilter, uintptr(f), nil)
	switch {
	case err == nil:
		// Impossible with a NULL filter; fail closed rather than claim
		// anything about the flags.
		return false, errors.New("the kernel accepted a NULL filter")
	case errors.Is(err, unix.EFAULT):
		return true, nil
	case errors.Is(err, unix.EINVAL):
		return false, nil
	case errors.Is(err, unix.ENOSYS):
		return false, fmt.Errorf("%w: the seccomp system call (Linux 3.17+), or a seccomp filter on this process denies it", ErrUnsupported)
	}
	return false, err
}

// FlagSupport says whether the running kernel knows one flag.
type FlagSupport struct {
	Name      string `json:"name"`      // e.g. "TSYNC"
	Value     Flags  `json:"value"`     // the bit
	Since     string `json:"since"`     // first Linux release with the flag
	ProbedAs  Flags  `json:"probed_as"` // the set actually probed: the flag with the companions it needs
	Supported bool   `json:"supported"`
}

// SupportedFlags probes every known flag (with the companions it needs,
// e.g. WAIT_KILLABLE_RECV together with NEW_LISTENER) and reports which
// the running kernel accepts. Nothing is installed.
func SupportedFlags() ([]FlagSupport, error) {
	if _, err := probeRaw(0); err != nil {
		return nil, &Error{Op: "probe seccomp filter flags", Err: err}
	}
	out := make([]FlagSupport, 0, len(flagTable))
	for _, e := range flagTable {
		set := companions(e.flag)
		ok, err := probeRaw(set)
		if err != nil {
			return nil, &Error{Op: "probe seccomp filter flag " + e.name, Err: err}
		}
		out = append(out, FlagSupport{Name: e.name, Value: e.flag, Since: e.since, ProbedAs: set, Supported: ok})
	}
	return out, nil
}

// MarshalText renders the set as String does, so JSON shows names.
func (f Flags) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (f *Flags) UnmarshalText(b []byte) error {
	v, err := ParseFlags(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}
