package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/policy/profiles"
	"github.com/syscage/syscage/sandbox"
)

// Distinct errnos for the actions, so that under the probe variant of a
// profile no syscall really runs and each decision stays visible. Errnos
// the profile itself returns (1 to 133) keep their value.
var probeErrno = map[policy.ActionKind]uint16{
	policy.Allow:       4001,
	policy.Log:         4002,
	policy.KillProcess: 4003,
	policy.KillThread:  4004,
	policy.Trap:        4005,
	policy.Notify:      4006,
	policy.Trace:       4007,
}

func probeAction(a policy.Action) policy.Action {
	if a.Kind == policy.Errno {
		return a
	}
	return policy.Action{Kind: policy.Errno, Data: probeErrno[a.Kind]}
}

// probeVariant returns p with every action turned into an errno; write
// and exit_group stay allowed for the probe's own use on x86_64.
func probeVariant(p *policy.Policy) *policy.Policy {
	q := *p
	q.Default, q.Unknown, q.BadArch = probeAction(p.Default), probeAction(p.Unknown), probeAction(p.BadArch)
	q.Rules = []*policy.Rule{{
		Syscalls: []policy.Target{{Name: "write", Arch: "x86_64"}, {Name: "exit_group", Arch: "x86_64"}},
		Action:   policy.ActAllow,
	}}
	for _, r := range p.Rules {
		cp := *r
		cp.Action = probeAction(r.Action)
		q.Rules = append(q.Rules, &cp)
	}
	return &q
}

// TestSweepDefaultProfile installs the compiled probe variant of the
// default profile (native arch only, and with i386 accepted) and checks,
// for every number of the x86_64 and i386 tables and beyond, that the
// kernel's answer is the one policy.Evaluate predicts.
func TestSweepDefaultProfile(t *testing.T) {
	pr := probe(t)
	base, err := profiles.Get("default")
	if err != nil {
		t.Fatal(err)
	}
	withI386, err := sandbox.WithArches(base, []string{"i386"})
	if err != nil {
		t.Fatal(err)
	}
	x86, _ := arch.ByName("x86_64")
	i386, _ := arch.ByName("i386")
	for _, v := range []struct {
		name string
		p    *policy.Policy
	}{{"default", base}, {"default+i386", withI386}} {
		t.Run(v.name, func(t *testing.T) {
			pv := probeVariant(v.p)
			res, err := compile.Policy(pv, compile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Filters) != 1 {
				t.Fatalf("compiled to %d filters; the probe installs one", len(res.Filters))
			}
			file := filepath.Join(t.TempDir(), "filter.bpf")
			if err := os.WriteFile(file, res.Filters[0].Encode(bpf.NativeEndian), 0o644); err != nil {
				t.Fatal(err)
			}
			ranges := []struct {
				bits     string
				a        *arch.Arch
				from, to uint64
			}{
				{"64", x86, 0, uint64(x86.MaxNr()) + 64},
				{"64", x86, 0x40000000, 0x40000000 + 600}, // x32 numbers
				{"64", x86, 0x7fffffff, 0x80000010},       // around 2^31
				{"64", x86, 0xfffffff0, 0xffffffff},       // -16 to -1
				{"32", i386, 0, uint64(i386.MaxNr()) + 64},
			}
			checked := 0
			for _, rg := range ranges {
				out := run(t, "", nil, pr, "sweepf", file, rg.bits, strconv.FormatUint(rg.from, 10), strconv.FormatUint(rg.to, 10))
				if out.code != 0 {
					t.Fatalf("probe failed (%d): %s", out.code, out.stderr)
				}
				lines := strings.Split(strings.TrimSpace(out.stdout), "\n")
				if want := int(rg.to - rg.from + 1); len(lines) != want {
					t.Fatalf("probe answered %d numbers, want %d", len(lines), want)
				}
				for _, line := range lines {
					var nr uint64
					var got int
					if _, err := fmt.Sscanf(line, "%d %d", &nr, &got); err != nil {
						t.Fatalf("probe line %q: %v", line, err)
					}
					if got < 0 {
						// write and exit_group, which the probe needs;
						// uretprobe and uprobe, which the kernel runs
						// without consulting seccomp (kernel/seccomp.c:
						// seccomp_uprobe_exception).
						continue
					}
					d, err := policy.Evaluate(pv, policy.Input{AuditArch: rg.a.AuditArch, Nr: uint32(nr)}, policy.Env{})
					if err != nil {
						t.Fatal(err)
					}
					if d.Action.Kind != policy.Errno {
						t.Fatalf("%s nr %d: the probe variant decided %v", rg.a.Name, nr, d.Action)
					}
					if want := int(d.Action.Data); got != want {
						name, _ := rg.a.SyscallName(int(nr))
						t.Errorf("%s syscall %d (%s): kernel gave errno %d, policy.Evaluate predicts %d (%s, %s)",
							rg.a.Name, nr, name, got, want, d.Action, d.Reason)
					}
					checked++
				}
			}
			t.Logf("%d numbers decided by the kernel as predicted", checked)
		})
	}
}
