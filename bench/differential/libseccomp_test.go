package differential

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/syscage/syscage/bench/gen"
	"github.com/syscage/syscage/bench/peer"
	"github.com/syscage/syscage/policy"
)

var (
	policies   = flag.Int("policies", 2000, "number of generated policies the differential tests compare")
	perSyscall = flag.Int("per-syscall", 48, "argument vectors probed per syscall a rule names")
	seed       = flag.Uint64("seed", 1, "seed of the generated policies and inputs")
)

// TestGeneratedAgainstLibseccomp compiles generated policies with syscage
// and with libseccomp (both layouts) and decides boundary-directed and
// random inputs with both programs and with the policy itself.
func TestGeneratedAgainstLibseccomp(t *testing.T) {
	n := *policies
	if testing.Short() {
		n /= 10
	}
	r := rand.New(rand.NewPCG(*seed, 7))
	env := policy.Env{}
	var total Report
	skipped, done := 0, 0
	for i := 0; done < n; i++ {
		tree := i%2 == 1
		begin := time.Now()
		p, err := gen.Policy(r, gen.Options{MaxRules: 24, Syscalls: peer.LibseccompKnows, ActionPerSyscall: true})
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		mine, err := peer.Syscage{}.Compile(p, env)
		if err != nil {
			t.Fatalf("policy %d: syscage: %v\n%s", i, err, policy.Format(p))
		}
		start := time.Now()
		theirs, err := peer.Libseccomp{Tree: tree}.Compile(p, env)
		if d := time.Since(start); d > time.Second {
			t.Logf("policy %d: libseccomp took %v\n%s", i, d, policy.Format(p))
		}
		if err != nil {
			if _, ok := err.(*peer.Unsupported); ok {
				// Still hold syscage to the policy on these.
				inputs, err := gen.Inputs(r, p, env, *perSyscall/4)
				if err != nil {
					t.Fatal(err)
				}
				f, err := NewFacts(p, env, nil)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := Compare(f, mine, nil, inputs, nil)
				if err != nil {
					t.Fatalf("policy %d: %v", i, err)
				}
				for _, d := range rep.Disagreements {
					t.Errorf("policy %d: %s\n%s", i, d, policy.Format(p))
				}
				skipped++
				if skipped > n {
					t.Fatalf("%d policies could not be given to libseccomp, %d could: the generator has drifted from what it accepts", skipped, done)
				}
				continue
			}
			t.Fatalf("policy %d: libseccomp: %v\n%s", i, err, policy.Format(p))
		}
		inputs, err := gen.Inputs(r, p, env, *perSyscall)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewFacts(p, env, peer.LibseccompKnows)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Compare(f, mine, theirs, inputs, Libseccomp)
		if err != nil {
			t.Fatalf("policy %d: %v", i, err)
		}
		if len(rep.Disagreements) > 0 && len(total.Disagreements) < 20 {
			t.Errorf("policy %d (tree %v):\n%s", i, tree, policy.Format(p))
			for j, d := range rep.Disagreements {
				if j == 5 {
					break
				}
				t.Errorf("  %s", d)
			}
		}
		total.Add(rep)
		done++
		if d := time.Since(begin); d > 2*time.Second {
			t.Logf("policy %d took %v (%d inputs)\n%s", i, d, len(inputs), policy.Format(p))
		}
	}
	t.Logf("%d policies (and %d beyond the translation's limits, not compared): %s", n, skipped, total.Summary())
	if len(total.Disagreements) > 0 {
		t.Errorf("%d disagreements", len(total.Disagreements))
	}
}

// TestLibseccompMergeDefect shows why peer.Libseccomp refuses several
// rules of one syscall with ordered or not-equal comparisons: libseccomp
// before 2.6.1 compiles this policy so that a 64-bit "arg1 > hi" test
// reads the low half of the argument, and the syscall is killed although
// no rule matches. Once the linked libseccomp merges correctly the
// refusal must go.
func TestLibseccompMergeDefect(t *testing.T) {
	src := `arch x86_64
default trap
kill_thread getpmsg if !(arg1 in 0x1..0x461dca21c0bd4a7a || arg2 == 0x23643a70c0717853)
`
	p, err := policy.Parse("defect.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Unknown = p.Default
	env := policy.Env{}
	if _, err := (peer.Libseccomp{}).Compile(p, env); err == nil && !peer.LibseccompMergesOrdered() {
		t.Fatalf("libseccomp %s: the translation gave it a rule set it merges wrongly", peer.LibseccompVersion())
	}
	theirs, err := peer.Libseccomp{Unchecked: true}.Compile(p, env)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFacts(p, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := policy.Input{AuditArch: auditArchX86_64, Nr: 181, Args: [6]uint64{0x22555cfe, 0x93f52fca, 0xe709764d}}
	rep, err := Compare(f, nil, theirs, []policy.Input{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrong := len(rep.Disagreements) > 0
	if wrong != !peer.LibseccompMergesOrdered() {
		t.Errorf("libseccomp %s: defect present = %v, but LibseccompMergesOrdered says %v", peer.LibseccompVersion(), wrong, peer.LibseccompMergesOrdered())
	}
	for _, d := range rep.Disagreements {
		t.Logf("libseccomp %s: %s", peer.LibseccompVersion(), d)
	}
}
