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
	"sort"
	"strings"
)

// entry is one syscall of one table.
type entry struct {
	name string
	nr   int64
}

// notSyscalls are SYS_ constants of x/sys that name no syscall: ranges and
// masks from the uapi headers.
var notSyscalls = map[string]bool{
	"SYS_SYSCALL_MASK":          true, // arm: __NR_SYSCALL_MASK
	"SYS_ARCH_SPECIFIC_SYSCALL": true, // asm-generic: first number of the arch-private range
}

// placeholder matches mips' reserved slots (__NR_unused18, __NR_reserved82):
// the kernel wires them to sys_ni_syscall and libseccomp does not name them.
var placeholder = regexp.MustCompile(`^SYS_(UNUSED|RESERVED)[0-9]+$`)

// armPrivate are the ARM-private syscalls, which x/sys omits: __ARM_NR_BASE
// is __NR_SYSCALL_BASE+0x0f0000 and the calls follow it
// (arch/arm/include/uapi/asm/unistd.h; arch/arm/kernel/traps.c: arm_syscall).
var armPrivate = []entry{
	{"breakpoint", 0x0f0001},
	{"cacheflush", 0x0f0002},
	{"usr26", 0x0f0003},
	{"usr32", 0x0f0004},
	{"set_tls", 0x0f0005},
	{"get_tls", 0x0f0006},
}

// syscallTables reads every target's table; the result is sorted by
// number within each arch.
func syscallTables(dir string) (map[string][]entry, error) {
	out := map[string][]entry{}
	for _, t := range targets {
		if t.name == "x32" {
			continue
		}
		path := filepath.Join(dir, "zsysnum_linux_"+t.goarch+".go")
		consts, err := readConsts(path)
		if err != nil {
			return nil, err
		}
		var tab []entry
		for _, c := range consts {
			if !strings.HasPrefix(c.name, "SYS_") || notSyscalls[c.name] || placeholder.MatchString(c.name) {
				continue
			}
			v, ok := constant.Int64Val(c.value)
			if !ok || v < 0 {
				return nil, fmt.Errorf("%s: %s = %v is not a syscall number", path, c.name, c.value)
			}
			tab = append(tab, entry{syscallName(c.name), v})
		}
		if t.name == "arm" {
			tab = append(tab, armPrivate...)
		}
		if err := checkTable(t.name, tab); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out[t.name] = tab
	}
	x32, err := deriveX32(out["x86_64"])
	if err != nil {
		return nil, err
	}
	out["x32"] = x32
	return out, nil
}

// syscallName turns x/sys's SYS_NEWFSTATAT into the kernel's newfstatat:
// the names are the uapi __NR_ names upper-cased, so lower-casing restores
// them, leading underscores included (SYS__LLSEEK is _llseek).
func syscallName(sym string) string {
	return strings.ToLower(strings.TrimPrefix(sym, "SYS_"))
}

// checkTable sorts tab by number and insists that names and numbers are
// unique, so name<->number lookups are inverse functions.
func checkTable(arch string, tab []entry) error {
	sort.Slice(tab, func(i, j int) bool { return tab[i].nr < tab[j].nr })
	names := map[string]bool{}
	for i, e := range tab {
		if names[e.name] {
			return fmt.Errorf("%s: syscall %q appears twice", arch, e.name)
		}
		names[e.name] = true
		if i > 0 && tab[i-1].nr == e.nr {
			return fmt.Errorf("%s: number %d names both %q and %q", arch, e.nr, tab[i-1].name, e.name)
		}
	}
	return nil
}

func renderSyscalls(tables map[string][]entry) []byte {
	var b bytes.Buffer
	b.WriteString("package arch\n\n")
	// One package-level slice per architecture, which the compiler lays
	// out as static data: a map literal of them would be built at every
	// start of every program importing package arch.
	b.WriteString("// syscallTable returns the syscalls of the named architecture sorted\n")
	b.WriteString("// by number, numbers as a seccomp filter sees them (NrBase included).\n")
	b.WriteString("func syscallTable(arch string) []Syscall {\nswitch arch {\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "case %q:\nreturn syscalls%s\n", t.name, goName(t.name))
	}
	b.WriteString("}\nreturn nil\n}\n\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "var syscalls%s = []Syscall{\n", goName(t.name))
		for _, e := range tables[t.name] {
			fmt.Fprintf(&b, "{%q, %#x},\n", e.name, e.nr)
		}
		b.WriteString("}\n\n")
	}
	return b.Bytes()
}

// goName turns an architecture name into part of a Go identifier:
// "x86_64" -> "X86_64", "mips64el" -> "Mips64el".
func goName(arch string) string {
	return strings.ToUpper(arch[:1]) + arch[1:]
}

// namedConst is one constant declaration of an x/sys file.
type namedConst struct {
	name  string
	typ   string // "" for untyped, "Errno" or "Signal" for syscall.Errno(...)/syscall.Signal(...)
	value constant.Value
}

// readConsts returns the integer constants declared in a Go file, in file
// order. Values are literals, negated literals or syscall.Errno/Signal
// conversions of literals in the x/sys files; anything else (strings,
// expressions) is left out.
func readConsts(path string) ([]namedConst, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	var out []namedConst
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if i >= len(vs.Values) {
					continue
				}
				typ, v := evalInt(vs.Values[i])
				if v == nil {
					continue
				}
				out = append(out, namedConst{n.Name, typ, v})
			}
		}
	}
	return out, nil
}

func evalInt(e ast.Expr) (string, constant.Value) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind != token.INT {
			return "", nil
		}
		return "", constant.MakeFromLiteral(x.Value, x.Kind, 0)
	case *ast.UnaryExpr:
		if x.Op != token.SUB {
			return "", nil
		}
		t, v := evalInt(x.X)
		if v == nil {
			return "", nil
		}
		return t, constant.UnaryOp(token.SUB, v, 0)
	case *ast.CallExpr:
		sel, ok := x.Fun.(*ast.SelectorExpr)
		if !ok || len(x.Args) != 1 {
			return "", nil
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "syscall" {
			return "", nil
		}
		_, v := evalInt(x.Args[0])
		return sel.Sel.Name, v
	}
	return "", nil
}
