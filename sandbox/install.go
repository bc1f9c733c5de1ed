package sandbox

import (
	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

// orderForInstall orders filters so that each can be installed under the
// ones before it. Installing is itself a system call (seccomp(2)) that
// the filters already on must allow; only the last filter may deny it.
// Filters that allow it keep their order and the one that denies it goes
// last; more than one is refused. The order changes no decision: the
// strictest action of all filters wins whatever their order. With an
// exec gate, the gate goes first and allows seccomp(2).
func orderForInstall(filters []bpf.Program, flags seccomp.Flags, gate bool) ([]bpf.Program, error) {
	stack := filters
	if gate {
		stack = append([]bpf.Program{gateFilter()}, filters...)
	}
	if err := bpf.ValidateStack(stack); err != nil {
		return nil, startErr("the seccomp filters cannot be installed: %v", err)
	}
	if len(filters) < 2 {
		return filters, nil
	}
	native := arch.Native()
	if native == nil {
		return filters, nil
	}
	nr, _ := native.Lookup("seccomp")
	data := &bpf.SeccompData{Nr: int32(nr), Arch: native.AuditArch,
		Args: [6]uint64{unix.SECCOMP_SET_MODE_FILTER, uint64(flags)}}
	var allow, deny []bpf.Program
	for _, f := range filters {
		r, err := bpf.Run(f, data, bpf.NativeEndian)
		if err != nil {
			return nil, startErr("the seccomp filters cannot be installed: %v", err)
		}
		switch bpf.ActionOf(r.Action) {
		case bpf.RetAllow, bpf.RetLog:
			allow = append(allow, f)
		default:
			deny = append(deny, f)
		}
	}
	if len(deny) > 1 {
		return nil, startErr("%d of the %d seccomp filters deny seccomp(2), so no order lets them all be installed: only the last may deny it", len(deny), len(filters))
	}
	return append(allow, deny...), nil
}
