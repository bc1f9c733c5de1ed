// Package peer wires in the seccomp filter compilers syscage is measured
// against — libseccomp (through libseccomp-golang), gVisor's pkg/seccomp and
// elastic/go-seccomp-bpf — behind one interface, together with syscage's own
// compiler, so that every peer compiles the same policy and the results can
// be run by one interpreter (bpf.Run) and compared.
//
// Each peer gets a syscage policy.Policy and translates it into its own API.
// Where a peer cannot express part of a policy, Compile says so with an
// error of type *Unsupported rather than compiling something else; callers
// then leave that peer out of the comparison for that policy.
package peer
