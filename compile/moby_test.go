package compile

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/syscage/syscage/policy"
)

// dockerCaps is the capability set Docker gives a container by default
// (moby's oci/caps/defaults.go), the environment the moby profile is
// usually enforced in.
var dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
	"CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// mobyProfile reads the moby default profile for x86_64.
func mobyProfile(t testing.TB) *policy.Policy {
	t.Helper()
	data, err := os.ReadFile("../policy/testdata/oci/moby-default.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.ParseOCIFor("moby-default.json", data, "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMoby compiles the moby default profile for x86_64 in Docker's
// default capability set and with every capability, and checks it against
// Evaluate on every number of the table and boundary arguments.
func TestMoby(t *testing.T) {
	p := mobyProfile(t)
	for _, env := range []policy.Env{{Caps: dockerCaps, Kernel: "6.18"}, {}} {
		res, err := Policy(p, Options{Env: env})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Filters) != 1 {
			t.Fatalf("moby compiles to %d filters", len(res.Filters))
		}
		pg := &policyGen{r: rand.New(rand.NewPCG(7, 7))}
		checkAgainstEvaluate(t, p, res, env, pg.inputs(p, 20000))
		t.Logf("caps=%d: %d instructions, max path %d, mean path %.2f, %d runs, %d unconditional allows",
			len(env.Caps), res.Stats.Instructions[0], res.Stats.MaxPath, res.Stats.MeanPath, res.Stats.Runs, res.Stats.UnconditionalAllows)
	}
}

// TestMobyCacheCoverage checks that every syscall the moby profile allows
// whatever the arguments is served by the kernel's cache, on x86_64 and
// i386.
func TestMobyCacheCoverage(t *testing.T) {
	p := mobyProfile(t)
	res, err := Policy(p, Options{Env: mobyEnv})
	if err != nil {
		t.Fatal(err)
	}
	cached, total, err := res.CacheCoverage()
	if err != nil {
		t.Fatal(err)
	}
	if total < 600 || cached != total {
		t.Errorf("%d of %d unconditional allows cached; want all (and several hundred)", cached, total)
	}
}
