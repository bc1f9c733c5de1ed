package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// constPrefixes selects the constants that policies compare syscall
// arguments against: flags, modes, commands, ioctl requests. The rest of
// x/sys's several thousand constants (netlink attributes, ethtool, ...)
// never appear as syscall arguments and are left out to keep the tables
// small.
var constPrefixes = []string{
	"AF_", "PF_", "SOCK_", "SOL_", "SO_", "SCM_", "MSG_", "IPPROTO_", "IP_", "IPV6_", "TCP_", "UDP_", "NETLINK_",
	"O_", "AT_", "RESOLVE_", "F_", "FD_", "SEEK_", "LOCK_", "RENAME_", "STATX_", "FALLOC_FL_", "SPLICE_F_",
	"SYNC_FILE_RANGE_", "XATTR_", "RWF_", "CLOSE_RANGE_", "OPEN_TREE_", "MOVE_MOUNT_", "FSOPEN_", "FSMOUNT_",
	"FSPICK_", "FSCONFIG_", "MOUNT_ATTR_", "MS_", "MNT_", "UMOUNT_",
	"CLONE_", "PIDFD_", "SCHED_", "IOPRIO_", "P_", "RLIMIT_", "PTRACE_",
	"PROT_", "MAP_", "MADV_", "MCL_", "MLOCK_", "MREMAP_", "MFD_", "PKEY_",
	"PR_", "SECCOMP_", "CAP_", "KEYCTL_", "KEY_SPEC_", "LANDLOCK_",
	"EFD_", "TFD_", "SFD_", "EPOLL", "IN_", "POLL", "UFFD", "IORING_",
	"CLOCK_", "TIMER_", "GRND_", "IPC_", "SHM_", "SIG", "SA_", "SS_",
	"TIOC", "TC", "FIO", "FICLONE", "FIDEDUPERANGE", "FIFREEZE", "FITHAW", "FITRIM", "FIBMAP", "FIGETBSZ", "SIOC", "FS_IOC_", "NS_GET_", "PERF_EVENT_IOC_", "TUN", "BLK",
}

// aliases are names the uapi headers define as other names, which x/sys
// leaves out: FIONREAD is TIOCINQ (include/uapi/asm-generic/ioctls.h:
// "#define TIOCINQ FIONREAD"; the same in the mips and powerpc ioctls.h).
var aliases = map[string]string{
	"FIONREAD": "TIOCINQ",
}

// waitOptions are the wait4/waitid option flags, which have no common
// prefix (include/uapi/linux/wait.h).
var waitOptions = map[string]bool{
	"WNOHANG": true, "WUNTRACED": true, "WSTOPPED": true, "WEXITED": true,
	"WCONTINUED": true, "WNOWAIT": true, "WALL": true, "WCLONE": true, "WNOTHREAD": true,
	"__WALL": true, "__WCLONE": true, "__WNOTHREAD": true,
}

// excluded drops families that match a prefix above but are not syscall
// arguments: IPv4 address classes (IN_CLASSA_NET), netinet helpers.
var excluded = regexp.MustCompile(`^(IN_LOOPBACKNET|IN_CLASS[A-E]_.*|IPV6_(FLOWINFO|FLOWLABEL)_MASK)$`)

func wanted(name string) bool {
	if waitOptions[name] {
		return true
	}
	if excluded.MatchString(name) {
		return false
	}
	for _, p := range constPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// archConsts holds one arch's values.
type archConsts struct {
	values     map[string]uint64 // constants, errnos and signals; negative values sign-extended
	errnos     map[string]int64
	errnoNames map[int64]string // preferred name per number, from x/sys's errorList
}

// constantTables reads the constants of every target.
func constantTables(dir string) (map[string]archConsts, error) {
	common, err := readConsts(filepath.Join(dir, "zerrors_linux.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]archConsts{}
	for _, t := range targets {
		path := filepath.Join(dir, "zerrors_linux_"+t.goarch+".go")
		own, err := readConsts(path)
		if err != nil {
			return nil, err
		}
		ac := archConsts{values: map[string]uint64{}, errnos: map[string]int64{}}
		all := append(append([]namedConst{}, common...), own...)
		// ztypes_linux*.go hold the constants that cgo -godefs derives from
		// enums and types (AT_FDCWD, CLOSE_RANGE_*, PIDFD_*); they come after
		// zerrors, which wins where both define a name.
		for _, f := range []string{"ztypes_linux.go", "ztypes_linux_" + t.goarch + ".go"} {
			cs, err := readConsts(filepath.Join(dir, f))
			if err != nil {
				return nil, err
			}
			all = append(all, cs...)
		}
		for _, c := range all {
			v, ok := constant.Int64Val(c.value)
			if !ok {
				u, ok := constant.Uint64Val(c.value)
				if !ok {
					return nil, fmt.Errorf("%s: %s = %v does not fit 64 bits", path, c.name, c.value)
				}
				v = int64(u)
			}
			switch {
			case c.typ == "Errno":
				ac.errnos[c.name] = v
			case c.typ == "Signal" || wanted(c.name):
				if _, dup := ac.values[c.name]; !dup {
					ac.values[c.name] = uint64(v)
				}
			}
		}
		for alias, name := range aliases {
			if v, ok := ac.values[name]; ok {
				if _, dup := ac.values[alias]; !dup {
					ac.values[alias] = v
				}
			}
		}
		ac.errnoNames, err = readErrorList(path)
		if err != nil {
			return nil, err
		}
		out[t.name] = ac
	}
	return out, nil
}

// readErrorList reads x/sys's errorList, which names each errno number once
// (EAGAIN rather than EWOULDBLOCK).
func readErrorList(path string) (map[int64]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	out := map[int64]string{}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			if len(vs.Names) != 1 || vs.Names[0].Name != "errorList" || len(vs.Values) != 1 {
				continue
			}
			lit, ok := vs.Values[0].(*ast.CompositeLit)
			if !ok {
				return nil, fmt.Errorf("%s: errorList is not a composite literal", path)
			}
			for _, el := range lit.Elts {
				row, ok := el.(*ast.CompositeLit)
				if !ok || len(row.Elts) < 2 {
					return nil, fmt.Errorf("%s: unexpected errorList row", path)
				}
				num, ok1 := row.Elts[0].(*ast.BasicLit)
				name, ok2 := row.Elts[1].(*ast.BasicLit)
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("%s: unexpected errorList row", path)
				}
				n, err1 := strconv.ParseInt(num.Value, 0, 64)
				s, err2 := strconv.Unquote(name.Value)
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("%s: unexpected errorList row %s, %s", path, num.Value, name.Value)
				}
				out[n] = s
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no errorList", path)
	}
	return out, nil
}

// split factors per-arch maps so that a value most architectures agree on
// is written once: common holds the majority value of each key, own the
// per-arch values that differ from it or that only a minority define, and
// absent the common keys an arch does not define.
func split[K int64 | string, V comparable](per map[string]map[K]V) (common map[K]V, own map[string]map[K]V, absent map[string][]K) {
	common = map[K]V{}
	own = map[string]map[K]V{}
	absent = map[string][]K{}
	keys := map[K]bool{}
	for _, m := range per {
		for k := range m {
			keys[k] = true
		}
	}
	for k := range keys {
		count := map[V]int{}
		for _, t := range targets {
			if v, ok := per[t.name][k]; ok {
				count[v]++
			}
		}
		best, n := *new(V), 0
		for v, c := range count {
			// Ties go to the x86_64 value, so the choice is stable.
			if c > n || (c == n && v == per[targets[0].name][k]) {
				best, n = v, c
			}
		}
		if 2*n > len(targets) {
			common[k] = best
		}
	}
	for _, t := range targets {
		m := map[K]V{}
		for k, v := range per[t.name] {
			if c, ok := common[k]; !ok || c != v {
				m[k] = v
			}
		}
		own[t.name] = m
		for _, k := range sortedKeys(common) {
			if _, ok := per[t.name][k]; !ok {
				absent[t.name] = append(absent[t.name], k)
			}
		}
	}
	return common, own, absent
}

func renderConstants(all map[string]archConsts) []byte {
	values := map[string]map[string]uint64{}
	errnos := map[string]map[string]int64{}
	names := map[string]map[int64]string{}
	for name, ac := range all {
		values[name], errnos[name], names[name] = ac.values, ac.errnos, ac.errnoNames
	}
	var b bytes.Buffer
	b.WriteString("package arch\n\n")
	// Sorted slices of constant entries, searched by bisection: the
	// compiler lays them out as static data, so the package builds
	// nothing at initialisation nor on first use, where map literals
	// would cost every program that imports it the insertion of
	// thousands of entries.
	cv, ov, av := split(values)
	b.WriteString("// commonConstants hold the value most architectures give each argument\n// constant, sorted by name; negative values are sign-extended to 64 bits.\n")
	writeSorted(&b, "commonConstants", "string", "uint64", cv, hexU)
	b.WriteString("// archConstants are, per architecture, the values that differ from\n// commonConstants and the constants only a few architectures define.\n")
	writeNested(&b, "archConstants", "string", "uint64", ov, hexU)
	b.WriteString("// absentConstants are, per architecture, the commonConstants it lacks.\n")
	writeAbsent(&b, "absentConstants", "string", av)

	ce, oe, ae := split(errnos)
	b.WriteString("// commonErrnos are the errno values of include/uapi/asm-generic/errno*.h,\n// which most architectures use, sorted by name.\n")
	writeSorted(&b, "commonErrnos", "string", "int", ce, dec)
	b.WriteString("// archErrnos are the errno values particular to some architectures\n// (mips numbers its own: arch/mips/include/uapi/asm/errno.h).\n")
	writeNested(&b, "archErrnos", "string", "int", oe, dec)
	b.WriteString("// absentErrnos are, per architecture, the commonErrnos it lacks.\n")
	writeAbsent(&b, "absentErrnos", "string", ae)

	cn, on, an := split(names)
	b.WriteString("// commonErrnoNames name errno numbers as most architectures do, sorted\n// by number.\n")
	writeSorted(&b, "commonErrnoNames", "int", "string", cn, quote)
	b.WriteString("// archErrnoNames name errno numbers where an architecture differs.\n")
	writeNested(&b, "archErrnoNames", "int", "string", on, quote)
	b.WriteString("// absentErrnoNames are, per architecture, the commonErrnoNames numbers\n// it lacks.\n")
	writeAbsent(&b, "absentErrnoNames", "int", an)
	return b.Bytes()
}

// writeAbsent writes, per architecture that lacks any, the sorted keys it
// lacks.
func writeAbsent[K int64 | string](b *bytes.Buffer, name, ktyp string, m map[string][]K) {
	fmt.Fprintf(b, "var %s = []entry[string, []%s]{\n", name, ktyp)
	for _, t := range targets {
		ks := slices.Clone(m[t.name])
		if len(ks) == 0 {
			continue
		}
		slices.Sort(ks)
		fmt.Fprintf(b, "{%q, []%s{", t.name, ktyp)
		for i, k := range ks {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(key(k))
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n\n")
}

// writeSorted writes m as a slice of entries sorted by key.
func writeSorted[K int64 | string, V any](b *bytes.Buffer, name, ktyp, vtyp string, m map[K]V, f func(V) string) {
	fmt.Fprintf(b, "var %s = []entry[%s, %s]{\n", name, ktyp, vtyp)
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(b, "{%s, %s},\n", key(k), f(m[k]))
	}
	b.WriteString("}\n\n")
}

// writeNested writes, per architecture with any, its entries sorted by
// key.
func writeNested[K int64 | string, V any](b *bytes.Buffer, name, ktyp, vtyp string, m map[string]map[K]V, f func(V) string) {
	fmt.Fprintf(b, "var %s = []entry[string, []entry[%s, %s]]{\n", name, ktyp, vtyp)
	for _, t := range targets {
		inner := m[t.name]
		if len(inner) == 0 {
			continue
		}
		fmt.Fprintf(b, "{%q, []entry[%s, %s]{\n", t.name, ktyp, vtyp)
		for _, k := range sortedKeys(inner) {
			fmt.Fprintf(b, "{%s, %s},\n", key(k), f(inner[k]))
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n\n")
}

func hexU(v uint64) string { return fmt.Sprintf("%#x", v) }
func dec(v int64) string   { return strconv.FormatInt(v, 10) }
func quote(v string) string {
	return strconv.Quote(v)
}

func sortedKeys[K int64 | string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func key[K int64 | string](k K) string {
	switch x := any(k).(type) {
	case string:
		return strconv.Quote(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}
