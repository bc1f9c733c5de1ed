package policy

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
)

// FuzzParseOCI checks that ParseOCI never panics, that every error has a
// position, and that what parses also formats, parses back to the same
// decisions, and reaches a fixed point after one more round.
func FuzzParseOCI(f *testing.F) {
	f.Add(readMoby(f))
	for _, src := range ociSemanticsProfiles {
		f.Add([]byte(src))
	}
	f.Add([]byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 1, "op": "SCMP_CMP_GT"}]}]}`))
	f.Add([]byte(`{"ociVersion": "1.0.0", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_LOG"}}}`))
	f.Add([]byte(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "x"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if a := arch.Native(); a == nil || a.Name != "x86_64" {
			t.Skip("x86_64 host only")
		}
		p, err := ParseOCI("f.json", data)
		if err != nil {
			fuzzCheckErrors(t, err)
			return
		}
		fuzzRoundTrip(t, p,
			func(p *Policy) ([]byte, error) { return FormatOCI(p) },
			func(b []byte) (*Policy, error) { return ParseOCI("f2.json", b) })
	})
}

// FuzzParseSPO is FuzzParseOCI for SeccompProfile YAML.
func FuzzParseSPO(f *testing.F) {
	f.Add([]byte(spoExample))
	f.Add([]byte("apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata: {name: a}\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - names: [ioctl]\n    action: SCMP_ACT_ALLOW\n    args: [{index: 1, value: 0x5401, op: SCMP_CMP_EQ}, {index: 0, value: 3, op: SCMP_CMP_LE}]\n"))
	f.Add([]byte("apiVersion: x\nkind: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if a := arch.Native(); a == nil || a.Name != "x86_64" {
			t.Skip("x86_64 host only")
		}
		p, err := ParseSPO("f.yaml", data)
		if err != nil {
			fuzzCheckErrors(t, err)
			return
		}
		fuzzRoundTrip(t, p,
			func(p *Policy) ([]byte, error) { return FormatSPO(p, "fuzz") },
			func(b []byte) (*Policy, error) { return ParseSPO("f2.yaml", b) })
	})
}

// fuzzCheckErrors requires an ErrorList whose errors name a file.
func fuzzCheckErrors(t *testing.T, err error) {
	list, ok := err.(ErrorList)
	if !ok || len(list) == 0 {
		t.Fatalf("error %T %v, want a non-empty ErrorList", err, err)
	}
	for _, e := range list {
		if e.Pos.File == "" {
			t.Fatalf("error without position: %v", e)
		}
	}
}

// fuzzRoundTrip formats p, reads it back and checks the decisions on a
// sample of inputs; a second round must change nothing.
func fuzzRoundTrip(t *testing.T, p *Policy, format func(*Policy) ([]byte, error), parse func([]byte) (*Policy, error)) {
	out1, err := format(p)
	if err != nil {
		// What a format cannot say is refused, with a reason.
		for _, ok := range []string{"OCI entries", "below 2^63", "no defaultErrnoRet", "cannot say", "one number on every architecture"} {
			if strings.Contains(err.Error(), ok) {
				return
			}
		}
		t.Fatalf("format: %v\npolicy:\n%s", err, Format(p))
	}
	q, err := parse(out1)
	if err != nil {
		t.Fatalf("the formatted profile does not read back: %v\n%s", err, out1)
	}
	fuzzSameDecisions(t, p, q)
	out2, err := format(q)
	if err != nil {
		t.Fatalf("second format: %v", err)
	}
	r, err := parse(out2)
	if err != nil {
		t.Fatalf("second read: %v\n%s", err, out2)
	}
	out3, err := format(r)
	if err != nil {
		t.Fatalf("third format: %v", err)
	}
	if !bytes.Equal(out2, out3) {
		t.Fatalf("no fixed point:\n%s\n---\n%s", out2, out3)
	}
	if !reflect.DeepEqual(ociCanon(q), ociCanon(r)) && len(q.Rules) == len(r.Rules) {
		fuzzSameDecisions(t, q, r)
	}
}

// fuzzSameDecisions compares two policies on the syscalls their rules
// name, with arguments built from the constants they compare.
func fuzzSameDecisions(t *testing.T, p, q *Policy) {
	arches, err := p.AcceptedArches()
	if err != nil {
		t.Fatal(err)
	}
	vals := []uint64{0, 1, 0xffffffff, 1 << 32, ^uint64(0)}
	for _, r := range p.Rules {
		WalkCmps(r.When, func(c *Cmp) {
			for _, v := range []uint64{c.Value.Num, c.Mask.Num, c.Value.Num | ^c.Mask.Num} {
				vals = append(vals, v, v+1, v-1, v|0xabc0000000000000)
			}
		})
	}
	if len(vals) > 16 {
		vals = vals[:16]
	}
	for _, env := range []Env{{}, {Caps: []string{}, Kernel: "4.0"}} {
		for _, a := range arches {
			for i, r := range p.Rules {
				if i > 30 {
					break
				}
				for j, tg := range r.Syscalls {
					if j > 3 {
						break
					}
					for _, sc := range tg.Syscalls(a) {
						for _, v := range vals {
							in := Input{AuditArch: a.AuditArch, Nr: uint32(sc.Nr), Args: [6]uint64{v, v, v, v, v, v}}
							for k := range 2 {
								if k == 1 {
									in.Args = [6]uint64{v, 0, v, 1, v, 0}
								}
								dp, err1 := Evaluate(p, in, env)
								dq, err2 := Evaluate(q, in, env)
								if err1 != nil || err2 != nil {
									t.Fatalf("evaluate: %v %v", err1, err2)
								}
								rp, _ := dp.Action.Ret(a)
								rq, _ := dq.Action.Ret(a)
								if rp != rq {
									t.Fatalf("%s %s(%#x) in %+v: %s before, %s after the round trip\n%s\n---\n%s",
										a, sc.Name, in.Args, env, dp.Action, dq.Action, Format(p), Format(q))
								}
							}
						}
					}
				}
			}
		}
	}
}
