// Package arch knows the Linux architectures a seccomp filter can meet:
// their AUDIT_ARCH values, syscall name <-> number tables, the argument
// signatures of syscalls, and the symbolic constants policies compare
// arguments against.
//
// Numbers are always as a filter sees them in seccomp_data.nr: mips o32
// numbers start at 4000, mips n64 at 5000, and x32 numbers carry
// __X32_SYSCALL_BIT (0x40000000).
//
// The syscall tables and constants (zsyscalls.go, zconstants.go) are
// generated from the golang.org/x/sys/unix version go.mod requires:
//
//	go generate ./arch
//
// The signatures (zsignatures.go) come from the tracefs syscall events of a
// running x86_64 kernel; see internal/gen/siggen for the command.
package arch

//go:generate go run ../internal/gen/archgen -o .

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/syscage/syscage/internal/suggest"
)

// Arch is one syscall ABI of one architecture.
type Arch struct {
	// Name is the canonical name: "x86_64", "i386", "x32", "aarch64",
	// "arm", "riscv64", "s390x", "ppc64le", "ppc64", "mips", "mipsel",
	// "mips64", "mips64el", "loongarch64" (mips64* are the n64 ABI).
	Name string
	// Aliases are other names accepted by ByName: Go's GOARCH, libseccomp's
	// and the OCI runtime spec's (SCMP_ARCH_X86_64), and common spellings.
	Aliases []string
	// AuditArch is the AUDIT_ARCH_* value in seccomp_data.arch
	// (include/uapi/linux/audit.h). x32 shares AUDIT_ARCH_X86_64 and is
	// told apart by NrBase.
	AuditArch uint32
	// BigEndian tells the byte order of the 64-bit argument words, which
	// decides which half of an argument a 32-bit load reads.
	BigEndian bool
	// Bits is the width of long and pointers in syscall arguments as the
	// kernel reads them: 32 on i386, arm and mips o32, 64 elsewhere. x32
	// counts as 64: its syscalls run the 64-bit kernel entry points on
	// whole registers, so a filter must compare all 64 bits of a long.
	Bits int
	// NrBase is the offset the kernel adds to the ABI's syscall numbers:
	// 0x40000000 for x32 (__X32_SYSCALL_BIT), 4000 for mips o32
	// (__NR_O32_Linux), 5000 for mips n64 (__NR_64_Linux). Every number
	// this package returns already includes it.
	NrBase uint32

	auditName string // "ARCH_X86_64": the audit.h name without AUDIT_
	index     *index // the syscall table, built on first use
}

// index holds an architecture's lookup maps. They are built on first use
// rather than at package initialisation: every start of a program
// importing the package would otherwise pay for the maps of all fourteen
// architectures (11,000 insertions, most of a millisecond) though it
// mostly looks up one or two. The tables themselves are static data
// (zsyscalls.go).
type index struct {
	mapsOnce sync.Once
	byName   map[string]int // name -> number
	byNr     map[int]string // number -> name
	built    atomic.Bool    // the maps are there
	scans    atomic.Int32   // Lookups answered by scanning the table
}

// linearLookups is how many Lookups an architecture answers by scanning
// its table before it builds its maps. A program that looks up a name or
// two (syscage run looks up only seccomp on the way to exec) is spared
// building maps of hundreds of entries, which costs more than a scan; one
// that looks up many names pays for a few scans at most.
const linearLookups = 16

// syscalls returns a's table, sorted by number. It is shared: callers
// must not modify it.
func (a *Arch) syscalls() []Syscall { return syscallTable(a.Name) }

// maps returns a's lookup maps, building them the first time.
func (a *Arch) maps() *index {
	x := a.index
	x.mapsOnce.Do(func() {
		table := a.syscalls()
		x.byName = make(map[string]int, len(table))
		x.byNr = make(map[int]string, len(table))
		for _, s := range table {
			x.byName[s.Name] = s.Nr
			x.byNr[s.Nr] = s.Name
		}
		x.built.Store(true)
	})
	return x
}

// Syscall is one entry of a syscall table.
type Syscall struct {
	Name string
	Nr   int // as the filter sees it, NrBase included
}

// AUDIT_ARCH values (include/uapi/linux/audit.h): the ELF machine number
// (include/uapi/linux/elf-em.h) ORed with __AUDIT_ARCH_64BIT 0x80000000 and
// __AUDIT_ARCH_LE 0x40000000.
const (
	auditArch64 = 0x80000000
	auditArchLE = 0x40000000
)

// all is the list All returns; init fills the tables.
var all = []*Arch{
	{Name: "x86_64", Aliases: []string{"amd64", "x86-64", "SCMP_ARCH_X86_64"}, AuditArch: 62 | auditArch64 | auditArchLE, Bits: 64, auditName: "ARCH_X86_64"},
	{Name: "i386", Aliases: []string{"386", "x86", "i686", "ia32", "SCMP_ARCH_X86"}, AuditArch: 3 | auditArchLE, Bits: 32, auditName: "ARCH_I386"},
	{Name: "x32", Aliases: []string{"SCMP_ARCH_X32"}, AuditArch: 62 | auditArch64 | auditArchLE, Bits: 64, NrBase: 0x40000000, auditName: "ARCH_X86_64"},
	{Name: "aarch64", Aliases: []string{"arm64", "SCMP_ARCH_AARCH64"}, AuditArch: 183 | auditArch64 | auditArchLE, Bits: 64, auditName: "ARCH_AARCH64"},
	{Name: "arm", Aliases: []string{"armhf", "armel", "SCMP_ARCH_ARM"}, AuditArch: 40 | auditArchLE, Bits: 32, auditName: "ARCH_ARM"},
	{Name: "riscv64", Aliases: []string{"SCMP_ARCH_RISCV64"}, AuditArch: 243 | auditArch64 | auditArchLE, Bits: 64, auditName: "ARCH_RISCV64"},
	{Name: "s390x", Aliases: []string{"SCMP_ARCH_S390X"}, AuditArch: 22 | auditArch64, BigEndian: true, Bits: 64, auditName: "ARCH_S390X"},
	{Name: "ppc64le", Aliases: []string{"SCMP_ARCH_PPC64LE"}, AuditArch: 21 | auditArch64 | auditArchLE, Bits: 64, auditName: "ARCH_PPC64LE"},
	{Name: "ppc64", Aliases: []string{"SCMP_ARCH_PPC64"}, AuditArch: 21 | auditArch64, BigEndian: true, Bits: 64, auditName: "ARCH_PPC64"},
	{Name: "mips", Aliases: []string{"SCMP_ARCH_MIPS"}, AuditArch: 8, BigEndian: true, Bits: 32, NrBase: 4000, auditName: "ARCH_MIPS"},
	{Name: "mipsel", Aliases: []string{"mipsle", "SCMP_ARCH_MIPSEL"}, AuditArch: 8 | auditArchLE, Bits: 32, NrBase: 4000, auditName: "ARCH_MIPSEL"},
	{Name: "mips64", Aliases: []string{"SCMP_ARCH_MIPS64"}, AuditArch: 8 | auditArch64, BigEndian: true, Bits: 64, NrBase: 5000, auditName: "ARCH_MIPS64"},
	{Name: "mips64el", Aliases: []string{"mips64le", "mipsel64", "SCMP_ARCH_MIPSEL64"}, AuditArch: 8 | auditArch64 | auditArchLE, Bits: 64, NrBase: 5000, auditName: "ARCH_MIPSEL64"},
	{Name: "loongarch64", Aliases: []string{"loong64", "SCMP_ARCH_LOONGARCH64"}, AuditArch: 258 | auditArch64 | auditArchLE, Bits: 64, auditName: "ARCH_LOONGARCH64"},
}

func init() {
	for _, a := range all {
		a.index = &index{}
	}
}

// lookup maps every lower-cased name and alias to its arch, built on
// first use.
var lookup = sync.OnceValue(func() map[string]*Arch {
	m := map[string]*Arch{}
	for _, a := range all {
		m[strings.ToLower(a.Name)] = a
		for _, al := range a.Aliases {
			m[strings.ToLower(al)] = a
		}
	}
	return m
})

// All returns every known architecture, x86_64 first, in a stable order.
// The slice is fresh; the Archs are shared and must not be modified.
func All() []*Arch {
	return append([]*Arch(nil), all...)
}

// ByName finds an architecture by its canonical name or any alias,
// ignoring case. The error for an unknown name lists the valid ones.
func ByName(name string) (*Arch, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if a, ok := lookup()[key]; ok {
		return a, nil
	}
	var cands []string
	for _, a := range all {
		cands = append(cands, a.Name)
		cands = append(cands, a.Aliases...)
	}
	return nil, fmt.Errorf("unknown architecture %q%s; valid: %s", name,
		suggest.Phrase(nearest(name, cands)), strings.Join(CanonicalNames(), ", "))
}

// CanonicalNames returns the Name of every architecture, in All's order.
func CanonicalNames() []string {
	out := make([]string, len(all))
	for i, a := range all {
		out[i] = a.Name
	}
	return out
}

// ByAuditArch returns the architectures with that AUDIT_ARCH value: one,
// except AUDIT_ARCH_X86_64, which x86_64 and x32 share (x86_64 first), and
// none for values this package does not know.
func ByAuditArch(v uint32) []*Arch {
	var out []*Arch
	for _, a := range all {
		if a.AuditArch == v {
			out = append(out, a)
		}
	}
	return out
}

// goarchNames maps runtime.GOARCH to canonical names.
var goarchNames = map[string]string{
	"amd64": "x86_64", "386": "i386", "arm64": "aarch64", "arm": "arm",
	"riscv64": "riscv64", "s390x": "s390x", "ppc64le": "ppc64le", "ppc64": "ppc64",
	"mips": "mips", "mipsle": "mipsel", "mips64": "mips64", "mips64le": "mips64el",
	"loong64": "loongarch64",
}

// Native returns the architecture this program runs as, or nil on one
// this package does not know. A Go program on x86_64 is always x86_64,
// never x32 (Go has no x32 port).
func Native() *Arch {
	// A scan of the fourteen, not the name index ByName builds: syscage
	// run asks for the native architecture on the way to exec.
	if n, ok := goarchNames[runtime.GOARCH]; ok {
		for _, a := range all {
			if a.Name == n {
				return a
			}
		}
	}
	return nil
}

// String returns the canonical name.
func (a *Arch) String() string { return a.Name }

// AuditArchName returns the audit.h name without the AUDIT_ prefix, e.g.
// "ARCH_X86_64", as disassembly listings print it.
func (a *Arch) AuditArchName() string { return a.auditName }

// Lookup returns the number of the named syscall as the filter sees it.
func (a *Arch) Lookup(name string) (nr int, ok bool) {
	if x := a.index; !x.built.Load() && x.scans.Add(1) <= linearLookups {
		// Backwards, so that a name listed twice gives the number the
		// map would hold: the later one.
		table := a.syscalls()
		for i := len(table) - 1; i >= 0; i-- {
			if table[i].Name == name {
				return table[i].Nr, true
			}
		}
		return 0, false
	}
	nr, ok = a.maps().byName[name]
	return nr, ok
}

// SyscallName names syscall number nr (NrBase included).
func (a *Arch) SyscallName(nr int) (string, bool) {
	s, ok := a.maps().byNr[nr]
	return s, ok
}

// Syscalls returns the table sorted by number. The slice is fresh.
func (a *Arch) Syscalls() []Syscall {
	return append([]Syscall(nil), a.syscalls()...)
}

// SyscallNames returns the syscall names in alphabetical order.
func (a *Arch) SyscallNames() []string {
	table := a.syscalls()
	out := make([]string, len(table))
	for i, s := range table {
		out[i] = s.Name
	}
	sort.Strings(out)
	return out
}

// MaxNr returns the highest syscall number of the table.
func (a *Arch) MaxNr() int {
	table := a.syscalls()
	if len(table) == 0 {
		return -1
	}
	return table[len(table)-1].Nr
}

// Resolve reads a syscall name or number (decimal, or 0x hex, as the filter
// sees it). A number with no name in the table is still returned, with an
// empty Name: filters may meet numbers that newer kernels define. An
// unknown name is an error that suggests the nearest names.
func (a *Arch) Resolve(nameOrNumber string) (Syscall, error) {
	s := strings.TrimSpace(nameOrNumber)
	if s == "" {
		return Syscall{}, fmt.Errorf("empty syscall name for %s", a.Name)
	}
	if c := s[0]; c >= '0' && c <= '9' {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return Syscall{}, fmt.Errorf("syscall number %q: not a 32-bit unsigned number (decimal or 0x hex)", nameOrNumber)
		}
		name, _ := a.SyscallName(int(v))
		return Syscall{Name: name, Nr: int(v)}, nil
	}
	if nr, ok := a.maps().byName[s]; ok {
		return Syscall{Name: s, Nr: nr}, nil
	}
	if nr, ok := a.maps().byName[strings.ToLower(s)]; ok {
		return Syscall{Name: strings.ToLower(s), Nr: nr}, nil
	}
	hint := ""
	if others := a.definedElsewhere(s); len(others) > 0 {
		if len(others) > 4 {
			others = append(others[:4], "...")
		}
		hint = fmt.Sprintf(" (it exists on %s, not on %s)", strings.Join(others, ", "), a.Name)
	}
	near := nearest(s, a.SyscallNames())
	if len(near) == 0 && hint == "" {
		// A misspelling of a syscall this arch lacks ("opne" on
		// aarch64) is best answered by saying so.
		if other := nearest(s, allSyscallNames()); len(other) > 0 {
			hint = fmt.Sprintf(" (%s: not on %s, only on other architectures)", strings.Join(other, ", "), a.Name)
		}
	}
	hint += suggest.Phrase(near)
	return Syscall{}, fmt.Errorf("unknown syscall %q for %s%s", nameOrNumber, a.Name, hint)
}

// allSyscallNames returns the names of every table, sorted and unique.
func allSyscallNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range all {
		for _, s := range a.syscalls() {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// definedElsewhere lists the architectures that have syscall name, to
// explain why a well-known name (open on aarch64) is missing here.
func (a *Arch) definedElsewhere(name string) []string {
	var out []string
	for _, b := range all {
		if _, ok := b.maps().byName[strings.ToLower(name)]; ok && b != a {
			out = append(out, b.Name)
		}
	}
	return out
}

// nearest picks up to three suggestions for a misspelt name. Among the
// plausible ones, names that extend the input come first, shortest first,
// so "open" suggests "openat" before "fsopen".
func nearest(name string, cands []string) []string {
	near := suggest.Nearest(name, cands, 8)
	lower := strings.ToLower(name)
	sort.SliceStable(near, func(i, j int) bool {
		pi, pj := strings.HasPrefix(near[i], lower), strings.HasPrefix(near[j], lower)
		if pi != pj {
			return pi
		}
		if pi && len(near[i]) != len(near[j]) {
			return len(near[i]) < len(near[j])
		}
		return false
	})
	if len(near) > 3 {
		near = near[:3]
	}
	return near
}
