package policymerge

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

func parse(t testing.TB, name, src string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse(name, []byte(src), policy.ParseOptions{})
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, src)
	}
	return p
}

// checkUnion samples inputs (random and boundary values, every syscall
// the policies name, on every architecture) and asserts that the union
// decides each as the most permissive input does: everything any input
// allows is allowed, and nothing else.
func checkUnion(t *testing.T, ps []*policy.Policy, u *policy.Policy, r *rand.Rand) {
	t.Helper()
	pool := []uint64{0, 1, 2, 3, 4, 5, 10, 16, 17, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000, ^uint64(0)}
	var arches []*arch.Arch
	for _, p := range append(ps, u) {
		as, _ := p.AcceptedArches()
		for _, a := range as {
			if !contains(arches, a) {
				arches = append(arches, a)
			}
		}
	}
	arches = append(arches, arch.All()...)
	names := []string{"socket", "mmap", "openat", "read", "getpid", "clone3", "ptrace", "prctl"}
	for _, env := range Envs(append(ps, u)...) {
		for _, a := range arches {
			for _, n := range names {
				nr, ok := a.Lookup(n)
				if !ok {
					continue
				}
				for k := 0; k < 60; k++ {
					var args [6]uint64
					for i := range args {
						if r.IntN(3) > 0 {
							args[i] = pool[r.IntN(len(pool))]
						} else {
							args[i] = r.Uint64() >> r.UintN(64)
						}
					}
					in := policy.Input{AuditArch: a.AuditArch, Nr: uint32(nr), Args: args}
					var best policy.Decision
					var bestRet uint32
					for i, p := range ps {
						d, err := policy.Evaluate(p, in, env)
						if err != nil {
							t.Fatal(err)
						}
						ret, _ := d.Action.Ret(a)
						if i == 0 || d.Action.Kind > best.Action.Kind {
							best, bestRet = d, ret
						}
					}
					d, err := policy.Evaluate(u, in, env)
					if err != nil {
						t.Fatal(err)
					}
					ret, _ := d.Action.Ret(a)
					if ret != bestRet {
						t.Fatalf("%s %s %x env %+v: union %s, most permissive input %s\nunion:\n%s", a.Name, n, args, env, d.Action, best.Action, policy.Format(u))
					}
				}
			}
		}
	}
}

func contains(as []*arch.Arch, a *arch.Arch) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

func TestUnion(t *testing.T) {
	tests := []struct {
		name   string
		inputs []string
		want   []string // lines of the formatted union
	}{
		{"recordings", []string{
			"# run 1\narch x86_64\ndefault errno(EPERM)\n\n# I/O\nallow read write close\nallow openat if flags & O_ACCMODE == O_RDONLY\n",
			"# run 2\narch x86_64\ndefault errno(EPERM)\nallow read write\nallow openat if flags all O_WRONLY\nallow getpid\n",
		}, []string{"# I/O", "allow read write close", "allow openat if flags & O_ACCMODE == O_RDONLY || flags all O_WRONLY", "allow getpid"}},
		{"unconditional wins", []string{
			"arch x86_64\ndefault kill_process\nallow socket if family == AF_INET\n",
			"arch x86_64\ndefault kill_process\nallow socket\n",
		}, []string{"allow socket\n"}},
		{"exception first", []string{
			"arch x86_64\ndefault errno(EPERM)\nkill_process socket if family == AF_PACKET\nallow socket\n",
			"arch x86_64\ndefault errno(EPERM)\nkill_process socket if family == AF_PACKET\nallow getpid\n",
		}, []string{"allow socket if !(family == AF_PACKET)", "kill_process socket if family == AF_PACKET"}},
		{"stricter than default in one input only", []string{
			"arch x86_64\ndefault errno(EPERM)\nkill_process ptrace\nkill_process socket if family == AF_PACKET\nallow socket\n",
			"arch x86_64\ndefault errno(EPERM)\nkill_process ptrace\n",
		}, []string{"kill_process ptrace"}},
		{"different arches", []string{
			"arch x86_64\ndefault errno(EPERM)\nallow read\n",
			"arch x86_64 i386\ndefault errno(EPERM)\nallow write\n",
		}, []string{"arch x86_64 i386", "only arch x86_64 {", "allow read"}},
		{"arguments of one arch only", []string{
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if prot == PROT_READ\n",
			"arch x86_64 i386\ndefault errno(EPERM)\nonly arch i386 {\n    allow getppid\n}\n",
		}, []string{"arch x86_64 i386", "only arch x86_64 {\n    allow mmap if prot == PROT_READ", "only arch i386 {\n    allow getppid"}},
		{"an arch one input accepts decides as that input", []string{
			"arch i386\ndefault errno(EPERM)\nallow mmap if arg0 == 0\nkill_process ptrace\n",
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if flags == 1\nkill_process ptrace\n",
		}, []string{"arch i386 x86_64", "only arch i386 {", "only arch x86_64 {", "kill_process ptrace"}},
		{"groups split where needed", []string{
			"arch x86_64\ndefault errno(EPERM)\nerrno(EACCES) kill if sig == 9\nallow @signal\n",
		}, []string{"allow kill if !(sig == 9)", "rt_sigaction", "errno(EACCES) kill if sig == 9"}},
		{"groups kept whole", []string{
			"arch x86_64\ndefault errno(EPERM)\nallow @default-base\n",
			"arch x86_64\ndefault errno(EPERM)\nallow @basic-io\n",
		}, []string{"allow @default-base", "allow @basic-io"}},
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*policy.Policy
			for i, src := range tt.inputs {
				ps = append(ps, parse(t, fmt.Sprintf("in%d.policy", i+1), src))
			}
			u, err := Union(ps...)
			if err != nil {
				t.Fatal(err)
			}
			text := string(policy.Format(u))
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("union lacks %q:\n%s", w, text)
				}
			}
			// The union parses back to itself.
			back := parse(t, "union", text)
			checkUnion(t, ps, back, r)
		})
	}
}

func TestUnionConflicts(t *testing.T) {
	tests := []struct {
		name   string
		inputs []string
		msg    []string
	}{
		{"defaults", []string{
			"arch x86_64\ndefault errno(EPERM)\n", "arch x86_64\ndefault kill_process\n",
		}, []string{"`default errno(EPERM)`", "`default kill_process`", "make them agree"}},
		{"unknown", []string{
			"arch x86_64\ndefault errno(EPERM)\n", "arch x86_64\ndefault errno(EPERM)\nunknown kill_process\n",
		}, []string{"unknown"}},
		{"errno values", []string{
			"arch x86_64\ndefault errno(EPERM)\nerrno(EACCES) openat\n", "arch x86_64\ndefault errno(EPERM)\nerrno(ENOENT) openat\n",
		}, []string{"x86_64 openat", "errno(EACCES)", "errno(ENOENT)", "neither is more permissive"}},
		{"errno against default", []string{
			"arch x86_64\ndefault errno(EPERM)\nerrno(EACCES) openat\n", "arch x86_64\ndefault errno(EPERM)\n",
		}, []string{"x86_64 openat", "in2.policy decides errno(EPERM) (its default action)"}},
		{"badarch more permissive than the arch's other input", []string{
			"arch x86_64\ndefault errno(EPERM)\nbadarch errno(EPERM)\nallow read\n",
			"arch x86_64 i386\ndefault errno(EPERM)\nbadarch errno(EPERM)\nkill_process ptrace\n",
		}, []string{"i386 ptrace", "in1.policy does not accept i386", "badarch action errno(EPERM)", "in2.policy decides there, kill_process (the rule at in2.policy:4:1)"}},
		{"restrictions", []string{
			"arch x86_64\ndefault errno(EPERM)\nonly caps CAP_SYS_ADMIN {\nkill_process mount if flags == 1\n}\nallow mount\n", "arch x86_64\ndefault errno(EPERM)\n",
		}, []string{"restrictions differ"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*policy.Policy
			for i, src := range tt.inputs {
				ps = append(ps, parse(t, fmt.Sprintf("in%d.policy", i+1), src))
			}
			_, err := Union(ps...)
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a ConflictError", err)
			}
			for _, m := range tt.msg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
		})
	}
}

// randomPolicy writes a policy with a fixed default and random rules.
func randomPolicy(r *rand.Rand) string {
	consts := []string{"0", "1", "2", "5", "0x10", "0xff", "AF_INET", "AF_PACKET", "0xffffffff"}
	ops := []string{"==", "!=", "<", ">=", "all", "none"}
	targets := []string{"socket", "prctl", "getpid", "read", "@network-io", "ptrace"}
	actions := []string{"allow", "allow", "log", "errno(EPERM)", "kill_process", "allow", "errno(EACCES)"}
	var b strings.Builder
	arches := []string{"x86_64", "x86_64 i386"}[r.IntN(2)]
	fmt.Fprintf(&b, "arch %s\ndefault errno(EPERM)\n", arches)
	for n := r.IntN(6); n > 0; n-- {
		t := targets[r.IntN(len(targets))]
		fmt.Fprintf(&b, "%s %s", actions[r.IntN(len(actions))], t)
		if t == "ptrace" && arches == "x86_64" && r.IntN(2) == 0 {
			// mmap's arguments differ on i386 (one pointer): a
			// condition on them exists on x86_64 only.
			fmt.Fprintf(&b, "\nallow mmap if prot %s %s", ops[r.IntN(len(ops))], consts[r.IntN(len(consts))])
		}
		if (t == "socket" || t == "prctl") && r.IntN(3) > 0 {
			fmt.Fprintf(&b, " if arg0 %s %s", ops[r.IntN(len(ops))], consts[r.IntN(len(consts))])
			if r.IntN(2) == 0 {
				fmt.Fprintf(&b, " || arg1 %s %s", ops[r.IntN(len(ops))], consts[r.IntN(len(consts))])
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestUnionRandom: for random inputs, Union either refuses with a
// ConflictError or returns a union that decides sampled inputs as the
// most permissive input does.
func TestUnionRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	merged, refused := 0, 0
	for iter := 0; iter < 150; iter++ {
		var ps []*policy.Policy
		var srcs []string
		for i := 0; i < 2+r.IntN(2); i++ {
			src := randomPolicy(r)
			p, err := policy.Parse(fmt.Sprintf("in%d", i), []byte(src), policy.ParseOptions{})
			if err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			ps = append(ps, p)
			srcs = append(srcs, src)
		}
		u, err := Union(ps...)
		if err != nil {
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a ConflictError\n%s", err, strings.Join(srcs, "---\n"))
			}
			refused++
			if refused <= 8 {
				t.Log(err)
			}
			continue
		}
		merged++
		checkUnion(t, ps, parse(t, "union", string(policy.Format(u))), r)
	}
	t.Logf("%d merged, %d refused", merged, refused)
	if merged < 50 {
		t.Errorf("only %d of 150 random merges succeeded", merged)
	}
}

func ExampleUnion() {
	a, _ := policy.Parse("run1.policy", []byte("arch x86_64\ndefault errno(EPERM)\nallow read write\nallow socket if family == AF_INET\n"), policy.ParseOptions{})
	b, _ := policy.Parse("run2.policy", []byte("arch x86_64\ndefault errno(EPERM)\nallow read close\nallow socket if family == AF_INET6\n"), policy.ParseOptions{})
	u, err := Union(a, b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(policy.Format(u)))
	// Output:
	// # The union of run1.policy, run2.policy (syscage merge).
	//
	// arch x86_64
	// default errno(EPERM)
	// unknown errno(ENOSYS)
	// badarch kill_process
	//
	// allow read write
	// allow socket if family == AF_INET || family == AF_INET6
	// allow close
}
