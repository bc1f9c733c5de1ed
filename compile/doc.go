// Package compile turns a policy into the fastest seccomp filter it can
// prove equal to it: classic BPF that decides every input exactly as
// policy.Evaluate does, validated before it is returned.
//
// # The shape of the code
//
// A filter checks the architecture first, loads the syscall number, finds
// the number's run with a search tree and runs the run's first-match rule
// chain. This policy
//
//	arch x86_64
//	default errno(EPERM)
//	allow read write close
//	allow mprotect if prot none PROT_EXEC
//
// compiles to
//
//	0000: A = arch
//	0001: if (A != ARCH_X86_64) goto 0017
//	0002: A = sys_number
//	0003: if (A >= munmap) goto 0010
//	0004: if (A >= stat) goto 0006
//	0005: if (A == open) goto 0018 else goto 0009
//	0006: if (A < mprotect) goto 0018
//	0007: A = args[2]
//	0008: if (A & 0x4) goto 0018
//	0009: return ALLOW
//	0010: if (A < 337) goto 0018
//	0011: if (A >= 0x40000000) goto 0014
//	0012: if (A < pidfd_send_signal) goto 0016
//	0013: if (A >= 472) goto 0016 else goto 0018
//	0014: if (A < 0x80000000) goto 0017
//	0015: if (A >= 0xc0000000) goto 0017
//	0016: return ERRNO(38)
//	0017: return KILL_PROCESS
//	0018: return ERRNO(1)
//
// Instructions 3 to 6 and 10 to 15 are the search tree over the runs of
// numbers with one decision: read, write and close (0 to 3) are one run
// with open (2) as a hole that one JEQ decides; 7 and 8 are mprotect's
// rule; 10 to 15 sort out the cold numbers above the table, unknown ones
// (ENOSYS) and x32 ones, which this policy does not accept.
//
// Arch dispatch: one test per accepted AUDIT_ARCH value, the first
// architecture of the policy first. x86_64 and x32 share a value; under
// it the x32 bit of the number selects the table, so x32 numbers on a
// filter that does not accept x32 fall in a range of the search tree that
// returns the bad-arch action.
//
// Chains: for each architecture and syscall number, the applicable rules
// in file order (only/except decided for Options.Env) up to the first
// without a condition, then the default (known numbers) or the
// unknown-syscall action. Conditions are resolved per architecture
// (argument slots, widths, constants); a condition that reads slots by
// number and compares with numbers is resolved once for every syscall
// and architecture where the slots have the same widths, so identical
// chains on x86_64, x32 and i386 share their code.
//
// Code: built through a hash-consing builder, so equal code is one node,
// return blocks included (one node per return value). Optimised before
// the search trees are built, so that numbers whose code became equal
// share a run.
//
// Runs: consecutive numbers with the same code (unknown numbers and gaps
// included) form one run, a leaf of the search tree.
//
// Search tree: for the first AUDIT_ARCH value, an optimal alphabetic tree
// (Knuth's O(n^2) algorithm) over the runs that carry a visible share of
// the frequency mix, with the cold runs between them grouped in blocks
// searched by balanced trees; for other AUDIT_ARCH values a
// weight-bisection tree. JGE at inner nodes; a JEQ chain where a run is
// interrupted by a few single numbers. The depth stays within two of a
// balanced tree over the runs. Every syscall the policy allows whatever
// its arguments is a leaf reached by number tests only, so the kernel's
// constant-action cache serves it.
//
// Conditions: And, Or and Not are lowered into branching code with
// short circuits; each comparison becomes tests on the 32-bit halves it
// needs (only the low half of an int argument, 64-bit orderings as "high
// greater, or high equal and low ...", masks without a high half skip
// it), with argument words at the offsets of the target's byte order.
// Conditions on one argument that are unions of ranges (a set of values,
// "fd < 3 || fd == 7"), and runs of consecutive rules testing one
// argument that way, become a search over the ranges: thirty allowed
// socket families cost six comparisons, not thirty.
//
// Optimiser: on every edge it knows which word A holds and what earlier
// tests established about each word (a range, bits known set or clear, a
// few values it is not); it redirects edges past loads of the word
// already in A and past tests those facts decide (redundant-load removal
// and jump threading), then rebuilds the code through the builder, which
// drops dead code and merges code that became equal, to a fixed point.
//
// Layout: blocks in reverse postorder with the hotter successor next;
// jumps beyond the 255 instructions a conditional jump reaches go through
// a copy of the return they target or a trampoline. A policy that needs
// more than 4096 instructions becomes a stack of filters, each deciding a
// range of numbers and allowing the rest, which the kernel combines
// exactly (the strictest value wins and ALLOW is the least strict).
//
// Output is deterministic: the same policy and options give the same
// programs. Compiling is cheap enough to do per container start: the
// buffers of a compilation are recycled for the next.
package compile
