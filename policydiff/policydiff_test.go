package policydiff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
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

// checkExamples asserts that every example of the report really is
// decided differently by the two policies, as the report says.
func checkExamples(t *testing.T, a, b *policy.Policy, r *Report) {
	t.Helper()
	for _, d := range r.Diffs {
		if len(d.Examples) == 0 {
			t.Errorf("%s %s: a difference without examples", d.Arch, d.Syscall)
		}
		for _, ex := range d.Examples {
			in := policy.Input{AuditArch: d.AuditArch, Nr: d.Nr, Args: ex.Args}
			da, err := policy.Evaluate(a, in, d.Env)
			if err != nil {
				t.Fatal(err)
			}
			db, err := policy.Evaluate(b, in, d.Env)
			if err != nil {
				t.Fatal(err)
			}
			ar := d.arch
			if ar == nil {
				ar = arch.Native()
			}
			ra, _ := da.Action.Ret(ar)
			rb, _ := db.Action.Ret(ar)
			if ra == rb {
				t.Errorf("%s %s %x: reported as differing, but both policies return %#x", d.Arch, d.Syscall, ex.Args, ra)
			}
			if ra != ex.A.Ret || rb != ex.B.Ret {
				t.Errorf("%s %s %x: report says %#x/%#x, Evaluate %#x/%#x", d.Arch, d.Syscall, ex.Args, ex.A.Ret, ex.B.Ret, ra, rb)
			}
		}
	}
}

func TestCompareSame(t *testing.T) {
	tests := []struct{ name, a, b string }{
		{"order of independent rules",
			"arch x86_64\ndefault errno(EPERM)\nallow read write\nallow close\n",
			"arch x86_64\ndefault errno(EPERM)\nallow close\nallow write\nallow read\n"},
		{"errno by name and number",
			"arch x86_64\ndefault errno(EPERM)\nerrno(EACCES) ptrace\n",
			"arch x86_64\ndefault errno(1)\nerrno(13) ptrace\n"},
		{"set and disjunction",
			"arch x86_64\ndefault kill_process\nallow socket if family in {AF_INET, AF_INET6}\n",
			"arch x86_64\ndefault kill_process\nallow socket if family == AF_INET || family == 10\n"},
		{"range and comparisons",
			"arch x86_64\ndefault errno(EPERM)\nallow personality if personality in 0..8\n",
			"arch x86_64\ndefault errno(EPERM)\nallow personality if personality >= 0 && personality < 9\n"},
		{"negated mask",
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if prot none PROT_EXEC\n",
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if !(prot & PROT_EXEC == PROT_EXEC)\n"},
		{"int argument compares 32 bits",
			"arch x86_64\ndefault errno(EPERM)\nallow socket if family == -1\n",
			"arch x86_64\ndefault errno(EPERM)\nallow socket if family == 0xffffffff\n"},
		{"shadowed rule",
			"arch x86_64\ndefault errno(EPERM)\nallow getpid\n",
			"arch x86_64\ndefault errno(EPERM)\nallow getpid\nkill_process getpid\n"},
		{"explicit fallbacks",
			"arch x86_64\ndefault errno(EPERM)\n",
			"arch x86_64\ndefault errno(EPERM)\nunknown errno(ENOSYS)\nbadarch kill_process\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := parse(t, "a", tt.a), parse(t, "b", tt.b)
			r, err := Compare(a, b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !r.Same() || !r.Exact {
				var buf bytes.Buffer
				r.WriteText(&buf, TextOptions{})
				t.Errorf("same=%v exact=%v, want same and exact:\n%s", r.Same(), r.Exact, buf.String())
			}
		})
	}
}

func TestCompareDifferent(t *testing.T) {
	i386, _ := arch.ByName("i386")
	tests := []struct {
		name, a, b string
		want       []string // "arch syscall" (or "arch <where>") of every difference
		text       []string // substrings of the text report
	}{
		{"allowed syscall",
			"arch x86_64\ndefault errno(EPERM)\nallow read write close\n",
			"arch x86_64\ndefault errno(EPERM)\nallow read write\n",
			[]string{"x86_64 close"},
			[]string{"close: A allow (line 3), B errno(EPERM) (default)"}},
		{"argument condition",
			"arch x86_64\ndefault errno(EPERM)\nallow openat if flags & O_ACCMODE == O_RDONLY\n",
			"arch x86_64\ndefault errno(EPERM)\nallow openat\n",
			[]string{"x86_64 openat"},
			[]string{"openat (257): 1 of 2 argument classes differ", "A errno(EPERM) (default), B allow (line 3)"}},
		{"errno value",
			"arch x86_64\ndefault errno(EPERM)\nerrno(EACCES) openat if flags all O_WRONLY\n",
			"arch x86_64\ndefault errno(EPERM)\n",
			[]string{"x86_64 openat"},
			[]string{"flags=O_WRONLY (1)", "A errno(EACCES) (line 3)"}},
		{"int width",
			"arch x86_64\ndefault errno(EPERM)\nallow socket if family == 0x80000002\nallow mmap if flags == 1\n",
			"arch x86_64\ndefault errno(EPERM)\nallow socket if family == 0xffffffff80000002\nallow mmap if flags == 0x100000001\n",
			[]string{"x86_64 mmap"}, nil},
		{"extra arch",
			"arch x86_64\ndefault errno(EPERM)\nallow read\n",
			"arch x86_64 i386\ndefault errno(EPERM)\nallow read\n",
			nil, // every i386 slot
			[]string{fmt.Sprintf("arch i386: only B accepts it (A: kill_process (badarch)); B decides %d syscalls errno(EPERM), 1 syscall allow", len(i386.Syscalls())-1)}},
		{"extra arch, arguments of one arch only",
			"arch x86_64\ndefault errno(EPERM)\nallow mmap if prot == PROT_READ\n",
			"arch x86_64 i386\ndefault errno(EPERM)\nonly arch x86_64 {\n    allow mmap if prot == PROT_READ\n}\n",
			nil, // every i386 slot
			[]string{fmt.Sprintf("arch i386: only B accepts it (A: kill_process (badarch)); B decides %d syscalls errno(EPERM)", len(i386.Syscalls()))}},
		{"x32 numbers",
			"arch x86_64\ndefault allow\nbadarch errno(EPERM)\n",
			"arch x86_64\ndefault allow\n",
			[]string{"<other architectures>"}, nil},
		{"unknown numbers",
			"arch x86_64\ndefault errno(EPERM)\n",
			"arch x86_64\ndefault errno(EPERM)\nunknown kill_process\nallow 1000\n",
			[]string{"x86_64 <unknown>", "x86_64 <number 1000>"},
			[]string{"numbers outside the table (such as ", "number 1000 (0x3e8): A errno(ENOSYS) (unknown), B allow (line 4)"}},
		{"capability restriction",
			"arch x86_64\ndefault errno(EPERM)\nonly caps CAP_SYS_ADMIN {\nallow mount\n}\n",
			"arch x86_64\ndefault errno(EPERM)\n",
			[]string{"x86_64 mount"}, nil},
		{"without the capability",
			"arch x86_64\ndefault errno(EPERM)\nonly caps CAP_SYS_ADMIN {\nallow mount\n}\n",
			"arch x86_64\ndefault errno(EPERM)\nallow mount\n",
			[]string{"x86_64 mount"}, []string{"mount: A errno(EPERM) (default), B allow (line 3) (holding no capabilities)"}},
		{"older kernel",
			"arch x86_64\ndefault errno(EPERM)\nonly kernel >= 5.8 {\nallow faccessat2\n}\n",
			"arch x86_64\ndefault errno(EPERM)\nallow faccessat2\n",
			[]string{"x86_64 faccessat2"}, []string{"faccessat2: A errno(EPERM) (default), B allow (line 3) (on a kernel older than every version the policies name)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := parse(t, "a", tt.a), parse(t, "b", tt.b)
			r, err := Compare(a, b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Same() {
				t.Fatal("no difference found")
			}
			checkExamples(t, a, b, r)
			var got []string
			for _, d := range r.Diffs {
				switch d.Where {
				case Syscall:
					got = append(got, d.Arch+" "+d.Syscall)
				case Number:
					got = append(got, fmt.Sprintf("%s <number %d>", d.Arch, d.Nr))
				case Unknown:
					got = append(got, d.Arch+" <unknown>")
				default:
					got = append(got, "<other architectures>")
				}
			}
			if tt.want != nil {
				got = slices.Compact(got)
				slices.Sort(got)
				want := slices.Clone(tt.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("differences %v, want %v", got, want)
				}
			}
			var buf bytes.Buffer
			if err := r.WriteText(&buf, TextOptions{FileA: "a", FileB: "b", Constants: ConstantsOf(a, b)}); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.text {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("text lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

// randomPolicy writes a random policy over a few syscalls whose
// arguments are 32-bit (socket), 64-bit (mmap) or both (prctl).
func randomPolicy(r *rand.Rand) string {
	consts := []string{"0", "1", "2", "3", "5", "0x10", "0xff", "0x7fffffff", "0xffffffff", "0x100000000", "0x100000001", "-1", "AF_INET", "AF_INET6"}
	ops := []string{"==", "!=", "<", "<=", ">", ">=", "all", "none", "only"}
	syscalls := []struct {
		name string
		args int
	}{{"socket", 3}, {"mmap", 4}, {"prctl", 3}, {"getpid", 0}}
	actions := []string{"allow", "errno(EPERM)", "errno(EACCES)", "kill_process", "log", "trap"}
	cond := func(nargs int) string {
		n := 1 + r.IntN(3)
		var parts []string
		for i := 0; i < n; i++ {
			arg := fmt.Sprintf("arg%d", r.IntN(nargs))
			switch r.IntN(5) {
			case 0:
				parts = append(parts, fmt.Sprintf("%s & %s == %s", arg, consts[r.IntN(len(consts))], "0"))
			case 1:
				parts = append(parts, fmt.Sprintf("%s in {%s, %s}", arg, consts[r.IntN(len(consts))], consts[r.IntN(len(consts))]))
			default:
				parts = append(parts, fmt.Sprintf("%s %s %s", arg, ops[r.IntN(len(ops))], consts[r.IntN(len(consts))]))
			}
		}
		sep := " && "
		if r.IntN(2) == 0 {
			sep = " || "
		}
		return strings.Join(parts, sep)
	}
	var b strings.Builder
	b.WriteString("arch x86_64\n")
	fmt.Fprintf(&b, "default %s\n", actions[r.IntN(len(actions))])
	for i := r.IntN(6); i > 0; i-- {
		sc := syscalls[r.IntN(len(syscalls))]
		fmt.Fprintf(&b, "%s %s", actions[r.IntN(len(actions))], sc.name)
		if sc.args > 0 && r.IntN(4) > 0 {
			b.WriteString(" if " + cond(sc.args))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// TestCompareRandom compares random policies and checks, on inputs
// Compare did not choose (random values and the policies' constants with
// random upper halves), that every input decided differently falls in a
// reported difference, and that a report of no difference means none.
func TestCompareRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x86, _ := arch.ByName("x86_64")
	pool := []uint64{0, 1, 2, 3, 4, 5, 6, 10, 0xf, 0x10, 0x11, 0xfe, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
		0x100000000, 0x100000001, 0x100000002, 0xffffffff00000002, ^uint64(0), ^uint64(1)}
	valid, differing := 0, 0
	defer func() { t.Logf("%d valid pairs, %d differing", valid, differing) }()
	for iter := 0; iter < 300; iter++ {
		sa, sb := randomPolicy(r), randomPolicy(r)
		a, err := policy.Parse("a", []byte(sa), policy.ParseOptions{})
		if err != nil {
			continue // a random condition the checker refuses (e.g. an int against 0x100000000)
		}
		b, err := policy.Parse("b", []byte(sb), policy.ParseOptions{})
		if err != nil {
			continue
		}
		rep, err := Compare(a, b, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Exact {
			t.Errorf("not exact for\n%s\n%s", sa, sb)
		}
		checkExamples(t, a, b, rep)
		valid++
		if !rep.Same() {
			differing++
		}
		reported := map[string]bool{}
		for _, d := range rep.Diffs {
			reported[d.Syscall] = true
		}
		for _, name := range []string{"socket", "mmap", "prctl", "getpid"} {
			nr, _ := x86.Lookup(name)
			for k := 0; k < 300; k++ {
				var args [6]uint64
				for i := range args {
					if r.IntN(2) == 0 {
						args[i] = pool[r.IntN(len(pool))]
					} else {
						args[i] = r.Uint64() >> r.UintN(64)
					}
				}
				in := policy.Input{AuditArch: x86.AuditArch, Nr: uint32(nr), Args: args}
				da, _ := policy.Evaluate(a, in, policy.Env{})
				db, _ := policy.Evaluate(b, in, policy.Env{})
				ra, _ := da.Action.Ret(x86)
				rb, _ := db.Action.Ret(x86)
				if ra != rb && !reported[name] {
					t.Fatalf("%s %x: A %s, B %s, but the report has no difference for %s\nA:\n%s\nB:\n%s", name, args, da.Action, db.Action, name, sa, sb)
				}
			}
		}
	}
}

func ExampleCompare() {
	a, _ := policy.Parse("a.policy", []byte("arch x86_64\ndefault errno(EPERM)\nallow read write\nallow socket if family == AF_INET\n"), policy.ParseOptions{})
	b, _ := policy.Parse("b.policy", []byte("arch x86_64\ndefault errno(EPERM)\nallow read\nallow socket\n"), policy.ParseOptions{})
	r, err := Compare(a, b, Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range r.Diffs {
		ex := d.Examples[0]
		fmt.Printf("%s %s: %d of %d classes differ; a %s, b %s\n", d.Arch, d.Syscall, d.Differing, d.Classes, ex.A.Action, ex.B.Action)
	}
	// Output:
	// x86_64 write: 1 of 1 classes differ; a allow, b errno(EPERM)
	// x86_64 socket: 1 of 2 classes differ; a errno(EPERM), b allow
}
