package audit

import (
	"fmt"
	"time"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// Event is a denied, refused, logged or killed syscall in the structured
// form alerts are written in (one JSON object per line).
type Event struct {
	Time    time.Time `json:"time"`
	PID     int       `json:"pid"`
	Comm    string    `json:"comm,omitempty"`
	Exe     string    `json:"exe,omitempty"`
	UID     *uint32   `json:"uid,omitempty"`
	Arch    string    `json:"arch"`
	Syscall string    `json:"syscall"`
	Nr      int64     `json:"nr"`
	// Args are the syscall's arguments when the source knows them (a
	// notification does; a kernel audit record does not).
	Args []uint64 `json:"args,omitempty"`
	// Action is what the filter decided: "kill_process", "errno(1)", "log"...
	Action string `json:"action"`
	// Rule names the policy line that decided, when known.
	Rule string `json:"rule,omitempty"`
	// Source says where the event came from: "kmsg", "notify", "sigsys".
	Source string `json:"source"`
	IP     uint64 `json:"ip,omitempty"`
	// TID is the thread that made the syscall when it is not the
	// process's main thread (PID is then the process).
	TID int `json:"tid,omitempty"`
	// Path is the path a refused file syscall named, as the target
	// wrote it (a notification supervisor reads it; the kernel does not).
	Path string `json:"path,omitempty"`
	// Reason says in words why the syscall was refused.
	Reason string `json:"reason,omitempty"`
	// Container is the container the process runs in, when a container
	// runtime's seccomp agent reports the event.
	Container string `json:"container,omitempty"`
	// Suppressed, on a summary event (Action "suppressed"), counts the
	// events a rate limit dropped since the previous one.
	Suppressed uint64 `json:"suppressed,omitempty"`
}

// ArchName names an AUDIT_ARCH value and syscall number pair's ABI: x32 for
// x86_64 numbers carrying bit 30, "arch 0x..." when unknown.
func ArchName(auditArch uint32, nr int64) string {
	if a := abiOf(auditArch, nr); a != nil {
		return a.Name
	}
	return fmt.Sprintf("arch %#x", auditArch)
}

// SyscallName names syscall nr of the ABI, or returns "syscall N" for
// numbers the tables do not know.
func SyscallName(auditArch uint32, nr int64) string {
	if a := abiOf(auditArch, nr); a != nil {
		if name, ok := a.SyscallName(int(nr)); ok {
			return name
		}
	}
	return fmt.Sprintf("syscall %d", nr)
}

// abiOf picks among the ABIs sharing an AUDIT_ARCH value (x86_64 and x32)
// by the number: x32 numbers are at or above its NrBase.
func abiOf(auditArch uint32, nr int64) *arch.Arch {
	var best, lowest *arch.Arch
	for _, a := range arch.ByAuditArch(auditArch) {
		if lowest == nil || a.NrBase < lowest.NrBase {
			lowest = a
		}
		if nr >= int64(a.NrBase) && (best == nil || a.NrBase > best.NrBase) {
			best = a
		}
	}
	if best == nil {
		// Numbers below every base (-1, say) belong to the plain ABI.
		return lowest
	}
	return best
}

// ActionName renders a filter return value in the native policy syntax:
// kill_process, kill_thread, trap, errno(1), notify, trace(3), log, allow.
// An action the kernel does not define reads as kill_process, as the
// kernel treats it.
func ActionName(code uint32) string {
	return policy.ActionOfRet(code, nil).String()
}

// Event converts a kernel record into an Event with names resolved.
func (r *Record) Event() Event {
	uid := r.UID
	return Event{
		Time:    r.Time,
		PID:     r.PID,
		Comm:    r.Comm,
		Exe:     r.Exe,
		UID:     &uid,
		Arch:    ArchName(r.AuditArch, r.Syscall),
		Syscall: SyscallName(r.AuditArch, r.Syscall),
		Nr:      r.Syscall,
		Action:  ActionName(r.Code),
		Source:  "kmsg",
		IP:      r.IP,
	}
}

// Summary is the one line a person reads: "pid 1234 (curl) made ptrace on
// x86_64: kill_process".
func (e Event) Summary() string {
	who := fmt.Sprintf("pid %d", e.PID)
	if e.Comm != "" {
		who += " (" + e.Comm + ")"
	}
	return fmt.Sprintf("%s made %s on %s: %s", who, e.Syscall, e.Arch, e.Action)
}
