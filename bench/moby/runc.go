package moby

import (
	"fmt"
	"runtime/debug"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/syscage/syscage/bench/peer"
	"github.com/syscage/syscage/bpf"
)

// Runc builds the libseccomp filter runc builds from a runtime spec's
// seccomp object (libcontainer/seccomp: InitSeccomp and matchCall), up
// to the point where runc would load it: the default action, the listed
// architectures on top of the native one, and for every name of every
// entry one libseccomp rule — skipped when its action is the default
// (libseccomp refuses those) or when libseccomp does not know the name,
// and split into one rule per comparison when an argument index repeats
// (libseccomp refuses two comparisons of one argument). runc's ENOSYS
// stub for newer syscalls (patchbpf) is not part of it. With tree set the
// filter uses libseccomp's binary-tree layout.
//
// Skipped lists the names libseccomp did not know.
func Runc(ls *specs.LinuxSeccomp, tree bool) (prog bpf.Program, skipped []string, err error) {
	def, err := ociAction(ls.DefaultAction, ls.DefaultErrnoRet)
	if err != nil {
		return nil, nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, nil, err
	}
	defer f.Release()
	for _, a := range ls.Architectures {
		sa, ok := scmpArches[a]
		if !ok {
			return nil, nil, fmt.Errorf("runc: unknown architecture %s", a)
		}
		arch, err := libseccomp.GetArchFromString(sa)
		if err != nil {
			return nil, nil, err
		}
		if err := f.AddArch(arch); err != nil {
			return nil, nil, err
		}
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, nil, err
	}
	if tree {
		if err := f.SetOptimize(2); err != nil {
			return nil, nil, err
		}
	}
	for _, call := range ls.Syscalls {
		act, err := ociAction(call.Action, call.ErrnoRet)
		if err != nil {
			return nil, nil, err
		}
		if act == def {
			continue
		}
		conds := make([]libseccomp.ScmpCondition, 0, len(call.Args))
		repeated := false
		seen := map[uint]bool{}
		for _, a := range call.Args {
			c, err := ociCondition(a)
			if err != nil {
				return nil, nil, err
			}
			conds = append(conds, c)
			repeated = repeated || seen[a.Index]
			seen[a.Index] = true
		}
		for _, name := range call.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				skipped = append(skipped, name)
				continue
			}
			switch {
			case len(conds) == 0:
				err = f.AddRule(nr, act)
			case repeated:
				for _, c := range conds {
					if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
						break
					}
				}
			default:
				err = f.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("runc: %s: %w", name, err)
			}
		}
	}
	prog, err = peer.ExportBPF(f)
	return prog, skipped, err
}

// scmpArches maps the runtime spec's architecture names to libseccomp's.
var scmpArches = map[specs.Arch]string{
	specs.ArchX86: "x86", specs.ArchX86_64: "amd64", specs.ArchX32: "x32",
	specs.ArchARM: "arm", specs.ArchAARCH64: "arm64", specs.ArchMIPS: "mips",
	specs.ArchMIPS64: "mips64", specs.ArchMIPS64N32: "mips64n32",
	specs.ArchMIPSEL: "mipsel", specs.ArchMIPSEL64: "mipsel64",
	specs.ArchMIPSEL64N32: "mipsel64n32", specs.ArchPPC: "ppc",
	specs.ArchPPC64: "ppc64", specs.ArchPPC64LE: "ppc64le", specs.ArchS390: "s390",
	specs.ArchS390X: "s390x", specs.ArchRISCV64: "riscv64",
}

// ociAction converts an action as runc does: ERRNO and TRACE without
// errnoRet carry EPERM, and SCMP_ACT_KILL is libseccomp's kill-thread.
func ociAction(a specs.LinuxSeccompAction, ret *uint) (libseccomp.ScmpAction, error) {
	code := int16(1) // EPERM
	if ret != nil {
		code = int16(*ret)
	}
	switch a {
	case specs.ActKill, specs.ActKillThread:
		return libseccomp.ActKillThread, nil
	case specs.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case specs.ActTrap:
		return libseccomp.ActTrap, nil
	case specs.ActErrno:
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case specs.ActTrace:
		return libseccomp.ActTrace.SetReturnCode(code), nil
	case specs.ActAllow:
		return libseccomp.ActAllow, nil
	case specs.ActLog:
		return libseccomp.ActLog, nil
	case specs.ActNotify:
		return libseccomp.ActNotify, nil
	}
	return 0, fmt.Errorf("runc: unknown action %s", a)
}

var ociOps = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual: libseccomp.CompareNotEqual, specs.OpLessThan: libseccomp.CompareLess,
	specs.OpLessEqual: libseccomp.CompareLessOrEqual, specs.OpEqualTo: libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual, specs.OpGreaterThan: libseccomp.CompareGreater,
	specs.OpMaskedEqual: libseccomp.CompareMaskedEqual,
}

// ociCondition converts one comparison as runc does: MASKED_EQ passes
// value (the mask) and valueTwo, the others value alone.
func ociCondition(a specs.LinuxSeccompArg) (libseccomp.ScmpCondition, error) {
	op, ok := ociOps[a.Op]
	if !ok {
		return libseccomp.ScmpCondition{}, fmt.Errorf("runc: unknown operator %s", a.Op)
	}
	if op == libseccomp.CompareMaskedEqual {
		return libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
	}
	return libseccomp.MakeCondition(a.Index, op, a.Value)
}

// moduleVersion returns the version of a module in the build, or
// "unknown".
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == path {
				if m.Replace != nil {
					return m.Replace.Version
				}
				return m.Version
			}
		}
	}
	return "unknown"
}
