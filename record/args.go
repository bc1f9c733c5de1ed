package record

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/syscage/syscage/arch"
)

// An argument's values become a condition in one of these shapes.
type argShape uint8

const (
	// shapeIn: the argument is one of the values seen (`in {...}`).
	shapeIn argShape = iota
	// shapeOnly: the argument sets no bit outside those seen
	// (`only A|B`): flags that combine freely.
	shapeOnly
)

// argSpec says how to capture and render one argument of a syscall.
type argSpec struct {
	// param is the argument's name in the kernel's signature; its slot
	// is looked up per architecture (clone orders its arguments
	// differently on i386).
	param string
	shape argShape
	// sym renders a value as '|'-joined symbolic terms on an arch; the
	// tuple is the whole captured argument vector, for arguments whose
	// constants depend on another (setsockopt's optname on its level).
	sym func(a *arch.Arch, v uint64, tuple [6]uint64) []string
}

// syscallSpec lists the arguments captured for a syscall.
type syscallSpec struct {
	args []argSpec
	// grouped renders one disjunct per value of the first argument,
	// each with the others' values seen with it: the second argument's
	// meaning depends on the first (socket type per family).
	grouped bool
}

// specs are the syscalls whose scalar arguments make tight rules, and how.
// Pointer arguments are never captured: a filter cannot look behind them.
// The map is built on first use, not while syscage starts.
var specs = sync.OnceValue(func() map[string]syscallSpec {
	return map[string]syscallSpec{
		"socket":            {grouped: true, args: []argSpec{{"family", shapeIn, symFamily}, {"type", shapeIn, symSockType}, {"protocol", shapeIn, symProtocol}}},
		"socketpair":        {grouped: true, args: []argSpec{{"family", shapeIn, symFamily}, {"type", shapeIn, symSockType}, {"protocol", shapeIn, symProtocol}}},
		"setsockopt":        {grouped: true, args: []argSpec{{"level", shapeIn, symLevel}, {"optname", shapeIn, symOptname}}},
		"getsockopt":        {grouped: true, args: []argSpec{{"level", shapeIn, symLevel}, {"optname", shapeIn, symOptname}}},
		"ioctl":             {args: []argSpec{{"cmd", shapeIn, symIoctl}}},
		"prctl":             {args: []argSpec{{"option", shapeIn, symPrctl}}},
		"fcntl":             {args: []argSpec{{"cmd", shapeIn, symFcntl}}},
		"fcntl64":           {args: []argSpec{{"cmd", shapeIn, symFcntl}}},
		"clone":             {args: []argSpec{{"clone_flags", shapeOnly, symCloneFlags}}},
		"unshare":           {args: []argSpec{{"unshare_flags", shapeOnly, symUnshare}}},
		"setns":             {args: []argSpec{{"flags", shapeIn, symNsType}}},
		"personality":       {args: []argSpec{{"personality", shapeIn, symPersonality}}},
		"mmap":              {args: []argSpec{{"prot", shapeIn, symProt}, {"flags", shapeOnly, symMapFlags}}},
		"mmap2":             {args: []argSpec{{"prot", shapeIn, symProt}, {"flags", shapeOnly, symMapFlags}}},
		"mprotect":          {args: []argSpec{{"prot", shapeIn, symProt}}},
		"pkey_mprotect":     {args: []argSpec{{"prot", shapeIn, symProt}}},
		"kill":              {args: []argSpec{{"sig", shapeIn, symSignal}}},
		"tkill":             {args: []argSpec{{"sig", shapeIn, symSignal}}},
		"tgkill":            {args: []argSpec{{"sig", shapeIn, symSignal}}},
		"rt_sigqueueinfo":   {args: []argSpec{{"sig", shapeIn, symSignal}}},
		"rt_tgsigqueueinfo": {args: []argSpec{{"sig", shapeIn, symSignal}}},
		"pidfd_send_signal": {args: []argSpec{{"sig", shapeIn, symSignal}}},
		"madvise":           {args: []argSpec{{"behavior", shapeIn, symMadvise}}},
		"futex":             {args: []argSpec{{"op", shapeIn, symFutex}}},
		"futex_time64":      {args: []argSpec{{"op", shapeIn, symFutex}}},
		"arch_prctl":        {args: []argSpec{{"option", shapeIn, symNumber}}},
		"socketcall":        {args: []argSpec{{"call", shapeIn, symNumber}}},
	}
})

// argSlots returns the slots of the captured arguments of a syscall on
// an arch, in the spec's order, or nil when none are captured there
// (unknown syscall, or no signature: 64-bit arguments on 32-bit ABIs).
func argSlots(a *arch.Arch, name string) []int {
	spec, ok := specs()[name]
	if !ok {
		return nil
	}
	sig, ok := a.Signature(name)
	if !ok {
		return nil
	}
	var out []int
	for _, as := range spec.args {
		i := slices.IndexFunc(sig.Args, func(p arch.Param) bool { return p.Name == as.param })
		if i < 0 {
			return nil
		}
		out = append(out, i)
	}
	return out
}

// captureMask returns the bit set of argument slots captured for
// syscall nr on a by default.
func captureMask(a *arch.Arch, nr int) uint8 {
	name, ok := a.SyscallName(nr)
	if !ok {
		return 0
	}
	var m uint8
	for _, i := range argSlots(a, name) {
		m |= 1 << i
	}
	return m
}

// symbols is a reverse index of an arch's constants.
type symbols struct {
	byValue map[uint64][]string
}

var (
	symMu    sync.Mutex
	symCache = map[string]*symbols{}
)

func symbolsOf(a *arch.Arch) *symbols {
	symMu.Lock()
	defer symMu.Unlock()
	if s, ok := symCache[a.Name]; ok {
		return s
	}
	s := &symbols{byValue: map[uint64][]string{}}
	for _, n := range a.ConstantNames("") {
		if v, ok := a.Constant(n); ok {
			s.byValue[v] = append(s.byValue[v], n)
		}
	}
	symCache[a.Name] = s
	return s
}

// pick names v with a constant that keep accepts, preferring names in
// prefer (in order), then the shortest, then the alphabetically first.
// It returns "" when no constant fits. Values are compared in full and,
// for 32-bit arguments, also sign-extended.
func pick(a *arch.Arch, v uint64, keep func(string) bool, prefer ...string) string {
	s := symbolsOf(a)
	var cands []string
	for _, n := range s.byValue[v] {
		if keep(n) {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return ""
	}
	for _, p := range prefer {
		if slices.Contains(cands, p) {
			return p
		}
	}
	slices.SortFunc(cands, func(x, y string) int {
		if c := cmp.Compare(len(x), len(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	return cands[0]
}

func hasPrefix(prefixes ...string) func(string) bool {
	return func(n string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	}
}

func oneOf(names ...string) func(string) bool {
	return func(n string) bool { return slices.Contains(names, n) }
}

// num renders a plain number the way policy.Value prints one.
func num(v uint64) string {
	if v < 10 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%#x", v)
}

// enum renders v as one constant or a number.
func enum(a *arch.Arch, v uint64, keep func(string) bool, prefer ...string) []string {
	if n := pick(a, v, keep, prefer...); n != "" {
		return []string{n}
	}
	return []string{num(v)}
}

// flags renders v as single-bit constants joined by '|', with the bits no
// constant names as one number; zero is zeroName (or 0).
func flags(a *arch.Arch, v uint64, keep func(string) bool, zeroName string, prefer ...string) []string {
	if v == 0 {
		if zeroName != "" {
			return []string{zeroName}
		}
		return []string{"0"}
	}
	var out []string
	var rest uint64
	for b := v; b != 0; b &= b - 1 {
		bit := b & -b
		if n := pick(a, bit, keep, prefer...); n != "" {
			out = append(out, n)
		} else {
			rest |= bit
		}
	}
	if rest != 0 {
		out = append(out, num(rest))
	}
	return out
}

func symNumber(_ *arch.Arch, v uint64, _ [6]uint64) []string { return []string{num(v)} }

func symFamily(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return enum(a, v, func(n string) bool { return strings.HasPrefix(n, "AF_") && n != "AF_MAX" }, "AF_UNIX", "AF_NETLINK", "AF_UNSPEC")
}

var sockTypes = []string{"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET", "SOCK_DCCP", "SOCK_PACKET"}

// sockTypeMask is SOCK_TYPE_MASK (include/linux/net.h): the type proper;
// the bits above are SOCK_CLOEXEC and SOCK_NONBLOCK.
const sockTypeMask = 0xf

func symSockType(a *arch.Arch, v uint64, _ [6]uint64) []string {
	out := enum(a, v&sockTypeMask, oneOf(sockTypes...))
	if f := v &^ sockTypeMask; f != 0 {
		out = append(out, flags(a, f, oneOf("SOCK_CLOEXEC", "SOCK_NONBLOCK"), "")...)
	}
	return out
}

func symProtocol(a *arch.Arch, v uint64, t [6]uint64) []string {
	if v == 0 {
		return []string{"0"}
	}
	fam := t[0]
	inet, _ := a.Constant("AF_INET")
	inet6, _ := a.Constant("AF_INET6")
	netlink, _ := a.Constant("AF_NETLINK")
	switch fam {
	case inet, inet6:
		return enum(a, v, hasPrefix("IPPROTO_"), "IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_ICMP", "IPPROTO_ICMPV6")
	case netlink:
		return enum(a, v, hasPrefix("NETLINK_"))
	}
	return []string{num(v)}
}

func symLevel(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return enum(a, v, hasPrefix("SOL_"), "SOL_SOCKET", "SOL_IP", "SOL_TCP", "SOL_UDP", "SOL_IPV6")
}

func symOptname(a *arch.Arch, v uint64, t [6]uint64) []string {
	level := t[1] // setsockopt(fd, level, optname, ...)
	c := func(n string) uint64 { x, _ := a.Constant(n); return x }
	var prefix string
	switch level {
	case c("SOL_SOCKET"):
		prefix = "SO_"
	case c("SOL_TCP"):
		prefix = "TCP_"
	case c("SOL_IP"):
		prefix = "IP_"
	case c("SOL_IPV6"):
		prefix = "IPV6_"
	case c("SOL_UDP"):
		prefix = "UDP_"
	default:
		return []string{num(v)}
	}
	return enum(a, v, func(n string) bool {
		return strings.HasPrefix(n, prefix) && !strings.HasPrefix(n, "SO_EE_") && !strings.HasPrefix(n, "SO_VM_SOCKETS_")
	})
}

// ioctlPrefixes are the families of ioctl request names in the tables.
var ioctlPrefixes = []string{"TC", "TIOC", "FIO", "FIC", "FID", "SIOC", "BLK", "FS_IOC", "TUN", "NS_GET", "PERF_EVENT_IOC", "SECCOMP_IOCTL", "PIDFD_GET", "RND", "FS_IOC"}

func symIoctl(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return enum(a, v, hasPrefix(ioctlPrefixes...), "FIONREAD", "FIONBIO", "FIOCLEX", "FIONCLEX", "FIOASYNC", "TIOCOUTQ")
}

// prctlOptions besides PR_SET_* and PR_GET_*: the rest of the PR_
// constants are the values of options' arguments, not options.
var prctlOptions = []string{
	"PR_CAPBSET_DROP", "PR_CAPBSET_READ", "PR_CAP_AMBIENT", "PR_MCE_KILL", "PR_MCE_KILL_GET",
	"PR_MPX_DISABLE_MANAGEMENT", "PR_MPX_ENABLE_MANAGEMENT", "PR_PAC_RESET_KEYS",
	"PR_PAC_SET_ENABLED_KEYS", "PR_PAC_GET_ENABLED_KEYS", "PR_SCHED_CORE", "PR_SVE_GET_VL",
	"PR_SVE_SET_VL", "PR_SME_GET_VL", "PR_SME_SET_VL", "PR_TASK_PERF_EVENTS_DISABLE",
	"PR_TASK_PERF_EVENTS_ENABLE", "PR_FUTEX_HASH", "PR_RSEQ_SLICE_EXTENSION",
	"PR_TIMER_CREATE_RESTORE_IDS", "PR_RISCV_V_GET_CONTROL", "PR_RISCV_V_SET_CONTROL",
	"PR_RISCV_SET_ICACHE_FLUSH_CTX", "PR_PPC_GET_DEXCR", "PR_PPC_SET_DEXCR", "PR_LOCK_SHADOW_STACK_STATUS",
}

func symPrctl(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return enum(a, v, func(n string) bool {
		if slices.Contains(prctlOptions, n) {
			return true
		}
		return (strings.HasPrefix(n, "PR_SET_") || strings.HasPrefix(n, "PR_GET_")) &&
			!strings.HasPrefix(n, "PR_SET_MM_") && !strings.HasPrefix(n, "PR_SET_VMA_") && n != "PR_SET_PTRACER_ANY"
	})
}

func symFcntl(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return enum(a, v, func(n string) bool {
		return hasPrefix("F_GET", "F_SET", "F_DUPFD", "F_ADD_SEALS", "F_NOTIFY", "F_OFD_", "F_CREATED_QUERY")(n)
	})
}

// csignal is CSIGNAL (include/uapi/linux/sched.h): the low byte of
// clone's flags is the signal sent to the parent when the child exits.
const csignal = 0xff

func cloneFlagName(n string) bool {
	return strings.HasPrefix(n, "CLONE_") && !strings.HasPrefix(n, "CLONE_ARGS_")
}

func symCloneFlags(a *arch.Arch, v uint64, _ [6]uint64) []string {
	var out []string
	if hi := v &^ csignal; hi != 0 {
		out = flags(a, hi, cloneFlagName, "")
	}
	if sig := v & csignal; sig != 0 {
		out = append(out, symSignal(a, sig, [6]uint64{})...)
	}
	if len(out) == 0 {
		return []string{"0"}
	}
	return out
}

func symUnshare(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return flags(a, v, cloneFlagName, "")
}

func symNsType(a *arch.Arch, v uint64, _ [6]uint64) []string {
	if v == 0 {
		return []string{"0"}
	}
	return enum(a, v, hasPrefix("CLONE_NEW"))
}

// perMask is PER_MASK (include/uapi/linux/personality.h): the
// personality proper; the bits above are flags such as ADDR_NO_RANDOMIZE.
const perMask = 0xff

func symPersonality(a *arch.Arch, v uint64, _ [6]uint64) []string {
	perName := func(n string) bool {
		return strings.HasPrefix(n, "PER_") && n != "PER_MASK" && n != "PER_CLEAR_ON_SETID"
	}
	if n := pick(a, v, perName, "PER_QUERY", "PER_LINUX"); n != "" {
		return []string{n}
	}
	out := enum(a, v&perMask, perName, "PER_LINUX")
	if f := v &^ perMask; f != 0 {
		out = append(out, flags(a, f, oneOf("ADDR_NO_RANDOMIZE", "ADDR_COMPAT_LAYOUT", "ADDR_LIMIT_32BIT",
			"ADDR_LIMIT_3GB", "READ_IMPLIES_EXEC", "SHORT_INODE", "WHOLE_SECONDS", "STICKY_TIMEOUTS",
			"MMAP_PAGE_ZERO", "UNAME26", "FDPIC_FUNCPTRS"), "")...)
	}
	return out
}

func symProt(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return flags(a, v, hasPrefix("PROT_"), "PROT_NONE")
}

// mapType is the low bits of mmap's flags that hold the mapping type
// (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE).
const mapType = 0x3

func symMapFlags(a *arch.Arch, v uint64, _ [6]uint64) []string {
	var out []string
	if t := v & mapType; t != 0 {
		out = enum(a, t, oneOf("MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE"))
	}
	if f := v &^ mapType; f != 0 {
		out = append(out, flags(a, f, func(n string) bool {
			return strings.HasPrefix(n, "MAP_") && !strings.HasPrefix(n, "MAP_HUGE_") && n != "MAP_TYPE" && n != "MAP_FILE"
		}, "", "MAP_ANONYMOUS")...)
	}
	if len(out) == 0 {
		return []string{"0"}
	}
	return out
}

// symSignal names the classic signals; real-time ones (32 and up, which
// the C library uses internally) stay numbers.
func symSignal(a *arch.Arch, v uint64, _ [6]uint64) []string {
	if v == 0 || v >= 32 {
		return []string{fmt.Sprint(v)}
	}
	return enum(a, v, func(n string) bool {
		return strings.HasPrefix(n, "SIG") && !strings.HasPrefix(n, "SIG_") && n != "SIGCLD" && n != "SIGIOT" && n != "SIGPOLL"
	})
}

func symMadvise(a *arch.Arch, v uint64, _ [6]uint64) []string {
	return enum(a, v, hasPrefix("MADV_"))
}

// futexFlags are the option bits of futex's op (FUTEX_PRIVATE_FLAG,
// FUTEX_CLOCK_REALTIME); the rest is the command.
const futexFlags = 0x180

func symFutex(a *arch.Arch, v uint64, _ [6]uint64) []string {
	out := enum(a, v&^futexFlags, func(n string) bool {
		return strings.HasPrefix(n, "FUTEX_") && !strings.Contains(n, "PRIVATE") && n != "FUTEX_CMD_MASK" && n != "FUTEX_CLOCK_REALTIME"
	})
	if f := v & futexFlags; f != 0 {
		out = append(out, flags(a, f, oneOf("FUTEX_PRIVATE_FLAG", "FUTEX_CLOCK_REALTIME"), "")...)
	}
	return out
}
