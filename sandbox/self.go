package sandbox

import (
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/seccomp"
)

// Self puts the calling Go program in the cage: it sets no_new_privs and
// installs filters on every thread of the process at once
// (SECCOMP_FILTER_FLAG_TSYNC), so that no thread of the Go runtime
// escapes; threads started later inherit the filters from the thread
// that creates them, and the kernel sets no_new_privs on every thread it
// synchronises (kernel/seccomp.c: seccomp_sync_threads). It fails,
// installing nothing, when a thread already has filters of its own.
//
// The filters must allow what the Go runtime needs (mmap, futex,
// rt_sigreturn, sigaltstack, clone for new threads, ...). flags may add
// seccomp.FlagLog or seccomp.FlagSpecAllow.
func Self(filters []bpf.Program, flags seccomp.Flags) error {
	if err := bpf.ValidateStack(filters); err != nil {
		return err
	}
	return seccomp.InstallProcess(filters, flags)
}

// SelfPolicy compiles p for the running kernel and the capabilities the
// process holds (all, for the policy's only/except blocks) and applies it
// with Self, with the policy's own log and spec_allow flags.
func SelfPolicy(p *policy.Policy) error {
	res, err := compile.Policy(p, compile.Options{Env: policy.Env{Kernel: kernelVersion()}})
	if err != nil {
		return err
	}
	var flags seccomp.Flags
	for _, f := range p.Flags {
		switch f {
		case "log":
			flags |= seccomp.FlagLog
		case "spec_allow":
			flags |= seccomp.FlagSpecAllow
		}
	}
	return Self(res.Filters, flags)
}
