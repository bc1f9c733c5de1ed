package profiles

import (
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// mobyProfile is Docker's default profile (moby/profiles), as imported
// for the policy package's tests.
const mobyProfile = "../testdata/oci/moby-default.json"

// dockerCaps is the capability set Docker gives a default container; its
// profile allows more syscalls to containers with more capabilities.
var dockerCaps = []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
	"CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}

// verdict is how a policy treats one syscall over sampled arguments.
type verdict int

const (
	denied verdict = iota
	conditional
	allowed
)

// classify evaluates every syscall of a on argument vectors that hit
// zero, all ones and random values, and says whether the policy allows
// it always, for some arguments, or never.
func classify(t *testing.T, p *policy.Policy, a *arch.Arch, env policy.Env) map[string]verdict {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	samples := [][6]uint64{{}, {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}}
	// Every constant a condition compares with, and its neighbours, in
	// every argument: the boundaries where decisions change.
	for _, v := range constants(p) {
		for _, w := range []uint64{v - 1, v, v + 1} {
			samples = append(samples, [6]uint64{w, w, w, w, w, w})
		}
	}
	for range 16 {
		var s [6]uint64
		for i := range s {
			switch rng.IntN(3) {
			case 0:
				s[i] = rng.Uint64N(64)
			case 1:
				s[i] = 1 << rng.IntN(64)
			default:
				s[i] = rng.Uint64()
			}
		}
		samples = append(samples, s)
	}
	out := map[string]verdict{}
	for _, sc := range a.Syscalls() {
		n := 0
		for _, args := range samples {
			d, err := policy.Evaluate(p, policy.Input{AuditArch: a.AuditArch, Nr: uint32(sc.Nr), Args: args}, env)
			if err != nil {
				t.Fatal(err)
			}
			if d.Action.Kind == policy.Allow || d.Action.Kind == policy.Log {
				n++
			}
		}
		switch n {
		case 0:
			out[sc.Name] = denied
		case len(samples):
			out[sc.Name] = allowed
		default:
			out[sc.Name] = conditional
		}
	}
	return out
}

// constants collects the values of every comparison in p's rules.
func constants(p *policy.Policy) []uint64 {
	var out []uint64
	var walk func(e policy.Expr)
	walk = func(e policy.Expr) {
		switch e := e.(type) {
		case *policy.And:
			for _, x := range e.Terms {
				walk(x)
			}
		case *policy.Or:
			for _, x := range e.Terms {
				walk(x)
			}
		case *policy.Not:
			walk(e.X)
		case *policy.Cmp:
			out = append(out, e.Value.Num, e.Mask.Num, e.High.Num)
			for _, v := range e.Values {
				out = append(out, v.Num)
			}
		}
	}
	for _, r := range p.Rules {
		if r.When != nil {
			walk(r.When)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func count(m map[string]verdict, v verdict) int {
	n := 0
	for _, x := range m {
		if x == v {
			n++
		}
	}
	return n
}

func names(m map[string]verdict, pred func(string, verdict) bool) []string {
	var out []string
	for k, v := range m {
		if pred(k, v) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// TestDefaultStricterThanDocker checks that the default profile allows
// nothing on x86_64 that Docker's default profile refuses a default
// container, and that docs/profiles.md publishes the current figures.
func TestDefaultStricterThanDocker(t *testing.T) {
	a, err := arch.ByName("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(mobyProfile)
	if err != nil {
		t.Fatal(err)
	}
	moby, err := policy.ParseOCI("moby-default.json", src)
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]map[string]verdict{}
	for _, n := range Names() {
		p, err := Get(n)
		if err != nil {
			t.Fatal(err)
		}
		ours[n] = classify(t, p, a, policy.Env{Caps: dockerCaps})
	}
	docker := classify(t, moby, a, policy.Env{Caps: dockerCaps})
	def := ours["default"]
	extra := names(def, func(n string, v verdict) bool { return v != denied && docker[n] == denied })
	if len(extra) > 0 {
		t.Errorf("the default profile allows what Docker's refuses: %v", extra)
	}
	looser := names(def, func(n string, v verdict) bool { return v == allowed && docker[n] == conditional })
	if len(looser) > 0 {
		t.Errorf("the default profile allows unconditionally what Docker allows only for some arguments: %v", looser)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "| profile | allowed | allowed for some arguments | denied |\n| --- | --- | --- | --- |\n")
	row := func(name string, m map[string]verdict) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d |\n", name, count(m, allowed), count(m, conditional), count(m, denied))
	}
	row("Docker default (moby)", docker)
	for _, n := range Names() {
		row(n, ours[n])
	}
	table := b.String()
	onlyDocker := names(docker, func(n string, v verdict) bool { return v != denied && def[n] == denied })
	t.Logf("x86_64, %d syscalls:\n%s", len(a.Syscalls()), table)
	t.Logf("allowed by Docker's default, denied by syscage's: %s", strings.Join(onlyDocker, " "))

	doc, err := os.ReadFile("../../docs/profiles.md")
	if err != nil {
		t.Fatalf("docs/profiles.md: %v", err)
	}
	if !strings.Contains(string(doc), table) {
		t.Errorf("docs/profiles.md does not hold the current figures; update its table to:\n%s", table)
	}
	list := regexp.MustCompile(`(?s)<!-- docker-only -->(.*?)<!-- /docker-only -->`).FindSubmatch(doc)
	if want := "\n" + wrapNames(onlyDocker) + "\n"; list == nil || string(list[1]) != want {
		t.Errorf("docs/profiles.md: the list between <!-- docker-only --> markers should be:\n%s", want)
	}
}

// wrapNames prints names in backquotes, about 72 columns a line.
func wrapNames(ns []string) string {
	var lines []string
	line := ""
	for _, n := range ns {
		w := "`" + n + "`"
		if len(line)+len(w)+1 > 72 {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
