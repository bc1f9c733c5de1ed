package differential

import (
	"github.com/syscage/syscage/bench/peer"
	"github.com/syscage/syscage/policy"
)

// Runc lists the intended differences between syscage reading an OCI
// profile (policy.ParseOCI) and runc building its libseccomp filter from
// it (moby.Runc), besides those of Libseccomp. docs/oci-profiles.md
// explains each.
var Runc = append([]Difference{
	{
		Name: "unknown-numbers",
		Why: "Numbers syscage's tables do not know get the policy's unknown action (ENOSYS for the moby " +
			"profile, as runc's own patchbpf stub returns for newer syscalls); the libseccomp filter alone " +
			"gives them the default action. Covered: inputs of an accepted architecture whose number is not in " +
			"its table.",
		Covers: func(f *Facts, in policy.Input) bool {
			a := f.Arch(in)
			if a == nil {
				return false
			}
			_, known := a.SyscallName(int(in.Nr))
			return !known
		},
	},
	{
		Name: "names-libseccomp-lacks",
		Why: "runc skips profile entries naming syscalls libseccomp " + peer.LibseccompVersion() + " does not " +
			"know (mseal, statmount, the *xattrat calls, ...), so the default denies them; syscage's tables " +
			"know them and apply the profile's rule. Also i386's direct socket calls, which libseccomp 2.5 " +
			"knows only as socketcall operations. Covered: syscalls libseccomp does not know as such on the " +
			"input's architecture.",
		Covers: func(f *Facts, in policy.Input) bool {
			a := f.Arch(in)
			if a == nil {
				return false
			}
			name, known := a.SyscallName(int(in.Nr))
			return known && !peer.LibseccompKnows(name, a)
		},
	},
	{
		Name: "badarch-kills-thread",
		Why: "runc leaves libseccomp's bad-arch action, SCMP_ACT_KILL, which kills the thread; syscage kills " +
			"the process, which is stricter. Covered: inputs of architectures the profile does not accept.",
		Covers: func(f *Facts, in policy.Input) bool { return f.Arch(in) == nil },
	},
}, Libseccomp...)
