package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/internal/suggest"
)

// This file reads the container ecosystem's seccomp profiles: the
// "linux.seccomp" object of the OCI runtime spec (config-linux.md) and the
// profile files of Docker, Podman and containerd, which add moby's
// extensions (archMap, includes, excludes, name, comment). The result
// decides every syscall as runc with libseccomp would on the host the
// profile is read for; docs/oci-profiles.md lists each place where the
// JSON is ambiguous and what syscage does there.

// ociActions maps the OCI action names to actions. SCMP_ACT_KILL is
// libseccomp's old name for killing the thread (seccomp.h: SCMP_ACT_KILL
// is SCMP_ACT_KILL_THREAD), not the process.
var ociActions = []struct {
	name string
	kind ActionKind
}{
	{"SCMP_ACT_KILL", KillThread},
	{"SCMP_ACT_KILL_PROCESS", KillProcess},
	{"SCMP_ACT_KILL_THREAD", KillThread},
	{"SCMP_ACT_TRAP", Trap},
	{"SCMP_ACT_ERRNO", Errno},
	{"SCMP_ACT_TRACE", Trace},
	{"SCMP_ACT_ALLOW", Allow},
	{"SCMP_ACT_LOG", Log},
	{"SCMP_ACT_NOTIFY", Notify},
}

// ociActionName is the name FormatOCI writes for each action.
var ociActionName = map[ActionKind]string{
	KillProcess: "SCMP_ACT_KILL_PROCESS",
	KillThread:  "SCMP_ACT_KILL_THREAD",
	Trap:        "SCMP_ACT_TRAP",
	Errno:       "SCMP_ACT_ERRNO",
	Notify:      "SCMP_ACT_NOTIFY",
	Trace:       "SCMP_ACT_TRACE",
	Log:         "SCMP_ACT_LOG",
	Allow:       "SCMP_ACT_ALLOW",
}

// ociOps maps the OCI comparison operators to comparisons.
var ociOps = []struct {
	name string
	op   CmpOp
}{
	{"SCMP_CMP_NE", OpNe},
	{"SCMP_CMP_LT", OpLt},
	{"SCMP_CMP_LE", OpLe},
	{"SCMP_CMP_EQ", OpEq},
	{"SCMP_CMP_GE", OpGe},
	{"SCMP_CMP_GT", OpGt},
	{"SCMP_CMP_MASKED_EQ", OpMaskedEq},
}

// ociFlags maps the runtime spec's filter flags to Policy.Flags names.
var ociFlags = []struct{ oci, name string }{
	{"SECCOMP_FILTER_FLAG_TSYNC", "tsync"},
	{"SECCOMP_FILTER_FLAG_LOG", "log"},
	{"SECCOMP_FILTER_FLAG_SPEC_ALLOW", "spec_allow"},
	{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "wait_killable_recv"},
}

// ociArches lists the architectures the runtime spec names (SCMP_ARCH_*),
// the names moby's includes and excludes use for the same architecture
// (libseccomp's names for the host, as moby's seccomp package maps
// GOARCH), and syscage's canonical name, "" where syscage has no syscall
// table.
var ociArches = []struct {
	oci, moby, name string
}{
	{"SCMP_ARCH_X86", "x86", "i386"},
	{"SCMP_ARCH_X86_64", "amd64", "x86_64"},
	{"SCMP_ARCH_X32", "x32", "x32"},
	{"SCMP_ARCH_ARM", "arm", "arm"},
	{"SCMP_ARCH_AARCH64", "arm64", "aarch64"},
	{"SCMP_ARCH_MIPS", "mips", "mips"},
	{"SCMP_ARCH_MIPS64", "mips64", "mips64"},
	{"SCMP_ARCH_MIPS64N32", "mips64n32", ""},
	{"SCMP_ARCH_MIPSEL", "mipsel", "mipsel"},
	{"SCMP_ARCH_MIPSEL64", "mipsel64", "mips64el"},
	{"SCMP_ARCH_MIPSEL64N32", "mipsel64n32", ""},
	{"SCMP_ARCH_PPC", "ppc", ""},
	{"SCMP_ARCH_PPC64", "ppc64", "ppc64"},
	{"SCMP_ARCH_PPC64LE", "ppc64le", "ppc64le"},
	{"SCMP_ARCH_S390", "s390", ""},
	{"SCMP_ARCH_S390X", "s390x", "s390x"},
	{"SCMP_ARCH_PARISC", "parisc", ""},
	{"SCMP_ARCH_PARISC64", "parisc64", ""},
	{"SCMP_ARCH_RISCV64", "riscv64", "riscv64"},
	{"SCMP_ARCH_LOONGARCH64", "loongarch64", "loongarch64"},
}

// ociMobyArchAliases are further spellings moby's includes accept for an
// architecture: its seccomp package maps GOARCH mips64p32le to the
// misspelt "mips3l64n32".
var ociMobyArchAliases = map[string]string{"mips3l64n32": "mipsel64n32"}

// ociMaxErrno is the largest errno a filter can return: the kernel turns
// larger SECCOMP_RET_ERRNO data into MAX_ERRNO (kernel/seccomp.c:
// seccomp_run_filters callers clamp with min_t(int, data, MAX_ERRNO)).
const ociMaxErrno = 4095

// ociKeys are the keys each OCI object accepts.
var (
	ociTopKeys     = []string{"defaultAction", "defaultErrnoRet", "architectures", "archMap", "flags", "listenerPath", "listenerMetadata", "syscalls", "comment"}
	ociArchMapKeys = []string{"architecture", "subArchitectures"}
	ociSyscallKeys = []string{"names", "name", "action", "errnoRet", "args", "comment", "includes", "excludes"}
	ociArgKeys     = []string{"index", "value", "valueTwo", "op"}
	ociFilterKeys  = []string{"arches", "caps", "minKernel"}
)

// ParseOCI reads a seccomp profile in the JSON of the OCI runtime spec or
// of Docker, Podman and containerd (moby's format), for this machine's
// architecture. data may also be a whole OCI bundle config.json, whose
// linux.seccomp object is read. filename only labels positions.
//
// The policy decides as runc with libseccomp would on this host. Parts of
// the profile that runc ignores or that had to be rearranged to keep its
// behaviour are reported in Policy.Warnings, each with its line and
// column; anything unknown or ill-formed (an action, operator,
// architecture, flag, capability or key) is an error that names its
// position and the valid choices.
func ParseOCI(filename string, data []byte) (*Policy, error) {
	return ParseOCIFor(filename, data, "")
}

// ParseOCIFor is ParseOCI for a profile that a runtime on another
// architecture will enforce. host names that architecture (any name
// arch.ByName accepts); "" means this machine's. moby's profile format is
// a template that runtimes fill in for their host: the host selects the
// archMap entry and decides the "arches" of includes and excludes.
func ParseOCIFor(filename string, data []byte, host string) (*Policy, error) {
	h, err := ociHost(filename, host)
	if err != nil {
		return nil, err
	}
	li := newLineIndex(filename, data)
	root, err := decodeJSON(data)
	if err != nil {
		return nil, li.syntaxError(err)
	}
	im := &ociImport{jsonReader: jsonReader{li: li}, host: h}
	return im.finish(im.profile(root))
}

// ociHost finds the architecture of the runtime's host.
func ociHost(filename, host string) (*arch.Arch, error) {
	if host != "" {
		return arch.ByName(host)
	}
	if h := arch.Native(); h != nil {
		return h, nil
	}
	return nil, fmt.Errorf("%s: this machine's architecture is not known to syscage; name the runtime's host architecture", filename)
}

// finish returns the policy read, or the errors found.
func (im *ociImport) finish(p *Policy) (*Policy, error) {
	if len(im.errs) > 0 {
		return nil, im.errs.sorted()
	}
	if p == nil {
		return nil, ErrorList{{Pos: im.li.pos(0), Msg: "no profile found"}}
	}
	p.Source = im.li.file
	p.Warnings = im.warns
	return p, nil
}

// ociImport holds the state of reading one profile.
type ociImport struct {
	jsonReader
	host     *arch.Arch
	accepted []*arch.Arch // the policy's architectures, host first
	def      Action       // the profile's default action
	// spo reads the spec of a SeccompProfile: fewer keys, and errnoRet
	// also as a string (as older versions of the resource define it).
	spo bool
}

// keys returns the keys an object of the profile accepts.
func (im *ociImport) keys(oci, spo []string) []string {
	if im.spo {
		return spo
	}
	return oci
}

// profile reads the profile object, or the linux.seccomp object of a
// bundle's config.json.
func (im *ociImport) profile(root *jsonNode) *Policy {
	if !im.spo && root.kind == jsonObject && ociIsBundle(root) {
		for _, f := range root.fields {
			if f.key == "linux" && f.val.kind == jsonObject {
				for _, g := range f.val.fields {
					if g.key == "seccomp" {
						return im.profile(g.val)
					}
				}
			}
		}
		im.errorf(root.off, "this OCI bundle configuration has no linux.seccomp object")
		return nil
	}
	m := im.object(root, im.what("the profile"), im.keys(ociTopKeys, spoSpecKeys)...)
	if m == nil {
		return nil
	}
	p := &Policy{BadArch: ActKillProcess}

	im.arches(p, m)

	if f := m["defaultAction"]; f == nil {
		im.errorf(root.off, "%s has no defaultAction; state the action for syscalls no rule matches, e.g. \"defaultAction\": \"SCMP_ACT_ERRNO\"", im.what("the profile"))
	} else {
		var ret *jsonNode
		if g := m["defaultErrnoRet"]; g != nil {
			ret = g.val
		}
		p.Default, _ = im.action(f.val, ret, "defaultAction", "defaultErrnoRet")
		if p.Default.Kind == Notify {
			im.warnf(f.val.off, "runc refuses SCMP_ACT_NOTIFY as the default action (the runtime itself could not run); syscage keeps it")
		}
	}
	im.def = p.Default
	p.Unknown = im.unknownAction(p.Default)

	if f := m["flags"]; f != nil {
		p.Flags = im.flags(f.val)
	}
	if f := m["listenerPath"]; f != nil {
		if s, ok := im.str(f.val, "listenerPath"); ok {
			p.Listener = &Listener{Path: s}
		}
	}
	if f := m["listenerMetadata"]; f != nil {
		if s, ok := im.str(f.val, "listenerMetadata"); ok {
			if p.Listener == nil {
				im.errorf(f.off, "listenerMetadata is set without listenerPath; the runtime spec forbids it: metadata goes to the agent at listenerPath")
			} else {
				p.Listener.Metadata = s
			}
		}
	}
	if f := m["comment"]; f != nil {
		p.Comment, _ = im.str(f.val, "comment")
	}
	if f := m["syscalls"]; f != nil {
		if elems, ok := im.array(f.val, "syscalls"); ok {
			for i, e := range elems {
				if r := im.syscall(e, fmt.Sprintf("syscalls[%d]", i)); r != nil {
					p.Rules = append(p.Rules, r)
				}
			}
		}
	}
	if len(im.errs) > 0 {
		return p
	}
	im.normalizeMasks(p)
	im.keepRuntimeOrder(p)
	im.checkNotify(p)
	im.checkNative(p)
	return p
}

// checkNative reports, as warnings, what the native format's checks
// refuse in a profile runc accepts: a comparison of an argument a
// syscall does not have on one of the architectures (mmap takes one
// argument on i386), or a value too wide for an int argument. The policy
// still decides as runc does, but it will not read back from its native
// text until the rule is split per architecture or corrected.
func (im *ociImport) checkNative(p *Policy) {
	p.Source = im.li.file
	err := p.Validate()
	list, _ := err.(ErrorList)
	for _, e := range list {
		im.warnAt(e.Pos, "the native format refuses this rule: %s", e.Msg)
	}
}

// what names the top-level object in messages.
func (im *ociImport) what(s string) string {
	if im.spo {
		return "spec"
	}
	return s
}

// ociIsBundle reports whether an object is a bundle's config.json rather
// than a profile: it has the spec's version or a linux section, and no
// profile keys.
func ociIsBundle(n *jsonNode) bool {
	bundle, profile := false, false
	for _, f := range n.fields {
		switch {
		case f.key == "ociVersion" || f.key == "linux":
			bundle = true
		case slices.Contains(ociTopKeys, f.key):
			profile = true
		}
	}
	return bundle && !profile
}

// arches reads architectures or archMap into p.Arches. runc gives
// libseccomp the listed architectures on top of the host's own, which a
// libseccomp filter always accepts (seccomp_init starts with the native
// architecture), so the host comes first in p.Arches. moby fills in
// architectures from the archMap entry of the host: that entry and its
// subArchitectures.
func (im *ociImport) arches(p *Policy, m map[string]*jsonField) {
	names := []string{im.host.Name}
	listed := false
	add := func(n string) {
		listed = true
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	archList, mapList := m["architectures"], m["archMap"]
	if archList != nil && mapList != nil && len(archList.val.elems) > 0 && len(mapList.val.elems) > 0 {
		im.errorf(mapList.off, "both architectures and archMap are set; moby refuses such a profile: use one of them")
	}
	if archList != nil {
		list, offs, _ := im.strs(archList.val, "architectures")
		for i, s := range list {
			if n, ok := im.ociArch(s, offs[i], fmt.Sprintf("architectures[%d]", i), true); ok {
				add(n)
			}
		}
	}
	if mapList != nil {
		elems, _ := im.array(mapList.val, "archMap")
		found := false
		for i, e := range elems {
			what := fmt.Sprintf("archMap[%d]", i)
			em := im.object(e, what, ociArchMapKeys...)
			if em == nil {
				continue
			}
			f := em["architecture"]
			if f == nil {
				im.errorf(e.off, "%s has no architecture", what)
				continue
			}
			s, ok := im.str(f.val, what+".architecture")
			if !ok {
				continue
			}
			n, known := im.ociArch(s, f.val.off, what+".architecture", false)
			var subs []string
			var subOffs []int
			if g := em["subArchitectures"]; g != nil {
				subs, subOffs, _ = im.strs(g.val, what+".subArchitectures")
			}
			mine := known && n == im.host.Name
			for j, sub := range subs {
				// Entries for other hosts are only checked for spelling;
				// the host's entry must name architectures syscage has
				// tables for.
				if sn, ok := im.ociArch(sub, subOffs[j], fmt.Sprintf("%s.subArchitectures[%d]", what, j), mine); ok && mine {
					add(sn)
				}
			}
			if mine {
				listed = true
				if found {
					im.errorf(f.val.off, "%s: a second archMap entry for %s; moby uses only the first, so remove one", what, s)
				}
				found = true
			}
		}
	}
	// A profile that names no architecture is for whatever machine
	// enforces it, as a policy without Arches is; one read for another
	// host keeps that host.
	if listed || im.host != arch.Native() {
		p.Arches = names
	}
	for _, n := range names {
		a, err := arch.ByName(n)
		if err == nil {
			im.accepted = append(im.accepted, a)
		}
	}
}

// ociArch reads an SCMP_ARCH_* name and returns syscage's name for it.
// With need set, an architecture syscage has no tables for is an error;
// otherwise ok is false for it.
func (im *ociImport) ociArch(s string, off int, what string, need bool) (string, bool) {
	if s == "SCMP_ARCH_NATIVE" {
		// libseccomp's name for the host, which the filter accepts anyway.
		return im.host.Name, true
	}
	for _, a := range ociArches {
		if a.oci != s {
			continue
		}
		if a.name == "" {
			if need {
				im.errorf(off, "%s: syscage has no syscall table for %s, so it cannot enforce a filter for it", what, s)
			}
			return "", false
		}
		return a.name, true
	}
	cands := make([]string, len(ociArches))
	for i, a := range ociArches {
		cands[i] = a.oci
	}
	hint := suggest.Phrase(suggest.Nearest(s, cands, 2))
	for _, a := range ociArches {
		if strings.EqualFold(s, a.moby) || strings.EqualFold(s, a.name) {
			hint = suggest.Phrase([]string{a.oci})
		}
	}
	im.errorf(off, "%s: unknown architecture %q%s (the runtime spec's names are %s)", what, s, hint, strings.Join(cands, ", "))
	return "", false
}

// action reads an action name and its errno or trace value.
func (im *ociImport) action(n, ret *jsonNode, what, retWhat string) (Action, bool) {
	if im.spo && ret != nil && ret.kind == jsonString {
		// Older SeccompProfile versions declare errnoRet a string.
		ret = &jsonNode{kind: jsonNumber, off: ret.off, str: ret.str}
	}
	s, ok := im.str(n, what)
	if !ok {
		return Action{}, false
	}
	var a Action
	for _, x := range ociActions {
		if x.name == s {
			a.Kind = x.kind
		}
	}
	if a.Kind == 0 {
		names := make([]string, len(ociActions))
		for i, x := range ociActions {
			names[i] = x.name
		}
		im.errorf(n.off, "%s: unknown action %q%s (valid: %s)", what, s,
			suggest.Phrase(suggest.Nearest(s, names, 2)), strings.Join(names, ", "))
		return Action{}, false
	}
	switch a.Kind {
	case Errno:
		// runc and the runtime spec: without errnoRet, ERRNO returns EPERM.
		v := uint64(1)
		if ret != nil {
			if v, ok = im.uint(ret, retWhat, ociMaxErrno); !ok {
				return Action{}, false
			}
		}
		a.Data = uint16(v)
		a.ErrnoName = im.errnoName(int(v))
	case Trace:
		// runc passes EPERM to the tracer when errnoRet is absent
		// (libcontainer/seccomp: actTrace).
		v := uint64(1)
		if ret != nil {
			if v, ok = im.uint(ret, retWhat, 0xffff); !ok {
				return Action{}, false
			}
		}
		a.Data = uint16(v)
	default:
		if ret != nil {
			im.errorf(ret.off, "%s is set for %s, which returns no value; the runtime spec requires runtimes to fail on it (crun does; runc ignores it): remove it", retWhat, s)
			return Action{}, false
		}
	}
	return a, true
}

// errnoName names errno number n when it means the same errno on every
// architecture of the policy, so that the policy reads errno(ENOSYS)
// rather than errno(38). Runtimes pass the number unchanged to every
// architecture, so a number that names different errnos (mips numbers
// many differently) stays a number.
func (im *ociImport) errnoName(n int) string {
	name, ok := im.host.ErrnoName(n)
	if !ok {
		return ""
	}
	for _, a := range im.accepted {
		if v, ok := a.Errno(name); !ok || v != n {
			return ""
		}
	}
	return name
}

// unknownAction is the action for syscall numbers the tables do not know.
// runc returns ENOSYS for syscalls newer than any the profile names
// (libcontainer/seccomp/patchbpf), except when the default action lets
// syscalls through (allow, log, trace): then unknown syscalls get the
// default too.
func (im *ociImport) unknownAction(def Action) Action {
	switch def.Kind {
	case Allow, Log, Trace:
		return def
	}
	nosys, _ := im.host.Errno("ENOSYS")
	return Action{Kind: Errno, Data: uint16(nosys), ErrnoName: "ENOSYS"}
}

// flags reads the filter flags.
func (im *ociImport) flags(n *jsonNode) []string {
	list, offs, _ := im.strs(n, "flags")
	var out []string
	for i, s := range list {
		name := ""
		for _, f := range ociFlags {
			if f.oci == s {
				name = f.name
			}
		}
		if name == "" {
			cands := make([]string, len(ociFlags))
			for j, f := range ociFlags {
				cands[j] = f.oci
			}
			im.errorf(offs[i], "flags[%d]: unknown flag %q%s (valid: %s)", i, s,
				suggest.Phrase(suggest.Nearest(s, cands, 2)), strings.Join(cands, ", "))
			continue
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// syscall reads one entry of syscalls into a rule.
func (im *ociImport) syscall(n *jsonNode, what string) *Rule {
	m := im.object(n, what, im.keys(ociSyscallKeys, spoSyscallKeys)...)
	if m == nil {
		return nil
	}
	r := &Rule{Pos: im.li.pos(n.off)}
	nameF, namesF := m["name"], m["names"]
	switch {
	case nameF != nil && namesF != nil:
		im.errorf(nameF.off, "%s: both name and names are set; moby refuses this: use names", what)
	case nameF != nil:
		if s, ok := im.str(nameF.val, what+".name"); ok {
			im.target(r, s, nameF.val.off, what+".name")
		}
	case namesF != nil:
		list, offs, _ := im.strs(namesF.val, what+".names")
		if len(list) == 0 && namesF.val.kind == jsonArray {
			im.errorf(namesF.val.off, "%s.names is empty; a rule must name at least one syscall", what)
		}
		for i, s := range list {
			im.target(r, s, offs[i], fmt.Sprintf("%s.names[%d]", what, i))
		}
	default:
		im.errorf(n.off, "%s names no syscall; add \"names\": [...]", what)
	}

	if f := m["action"]; f == nil {
		im.errorf(n.off, "%s has no action", what)
	} else {
		var ret *jsonNode
		if g := m["errnoRet"]; g != nil {
			ret = g.val
		}
		r.Action, _ = im.action(f.val, ret, what+".action", what+".errnoRet")
	}
	if f := m["args"]; f != nil {
		r.When = im.args(f.val, what+".args")
	}
	if f := m["comment"]; f != nil {
		r.Comment, _ = im.str(f.val, what+".comment")
	}
	var inc, exc *ociFilter
	if f := m["includes"]; f != nil {
		inc = im.filter(f.val, what+".includes")
	}
	if f := m["excludes"]; f != nil {
		exc = im.filter(f.val, what+".excludes")
	}
	im.applies(r, inc, exc, n.off, what)
	if len(r.Syscalls) == 0 {
		// Every name is absent from the policy's architectures (or was
		// malformed, which is reported): the rule decides nothing here.
		return nil
	}
	return r
}

// target adds a syscall name to a rule. A name that no architecture of
// the policy has is left out, as libseccomp leaves it out of each
// architecture's filter; a name no syscage table knows at all also gets a
// warning, since it is more likely a typo (runc skips names libseccomp
// cannot resolve, silently).
func (im *ociImport) target(r *Rule, name string, off int, what string) {
	if !ociIsName(name) {
		im.errorf(off, "%s: %q is not a syscall name (letters, digits and '_')", what, name)
		return
	}
	for _, a := range im.accepted {
		if _, ok := a.Lookup(name); ok {
			r.Syscalls = append(r.Syscalls, Target{Pos: im.li.pos(off), Name: name})
			return
		}
	}
	if !ociKnownSyscall(name) {
		im.warnf(off, "%s: syscall %q is not known on any architecture, so it is left out, as runc leaves out names libseccomp does not know%s",
			what, name, suggest.Phrase(suggest.Nearest(name, ociSyscallNames(), 3)))
	}
}

// ociIsName reports whether s can be a syscall name.
func ociIsName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

var (
	ociNamesOnce sync.Once
	ociAllNames  []string
	ociNameSet   map[string]bool
)

// ociSyscallNames returns every syscall name any architecture knows.
func ociSyscallNames() []string {
	ociNamesOnce.Do(func() {
		ociNameSet = map[string]bool{}
		for _, a := range arch.All() {
			for _, n := range a.SyscallNames() {
				if !ociNameSet[n] {
					ociNameSet[n] = true
					ociAllNames = append(ociAllNames, n)
				}
			}
		}
		slices.Sort(ociAllNames)
	})
	return ociAllNames
}

func ociKnownSyscall(name string) bool {
	ociSyscallNames()
	return ociNameSet[name]
}

// args reads the argument comparisons of a rule. runc ANDs them, except
// when one argument index appears more than once: libseccomp refuses two
// comparisons of one argument in a rule (db.c: db_col_rule_add), so runc
// then adds every comparison as a rule of its own, which ORs them all
// (libcontainer/seccomp: matchCall).
func (im *ociImport) args(n *jsonNode, what string) Expr {
	elems, ok := im.array(n, what)
	if !ok || len(elems) == 0 {
		return nil
	}
	var terms []Expr
	seen := map[int]bool{}
	repeated := -1
	for i, e := range elems {
		c := im.arg(e, fmt.Sprintf("%s[%d]", what, i))
		if c == nil {
			continue
		}
		if seen[c.Arg] && repeated < 0 {
			repeated = c.Arg
		}
		seen[c.Arg] = true
		terms = append(terms, c)
	}
	switch {
	case len(terms) == 0:
		return nil
	case len(terms) == 1:
		return terms[0]
	case repeated >= 0:
		im.warnf(n.off, "%s compares argument %d more than once; runc then matches when ANY comparison of the rule holds, not all of them, and so does syscage", what, repeated)
		return &Or{Pos: terms[0].Position(), Terms: terms}
	}
	return &And{Pos: terms[0].Position(), Terms: terms}
}

// arg reads one argument comparison.
func (im *ociImport) arg(n *jsonNode, what string) *Cmp {
	m := im.object(n, what, ociArgKeys...)
	if m == nil {
		return nil
	}
	c := &Cmp{Pos: im.li.pos(n.off)}
	ok := true
	if f := m["index"]; f == nil {
		im.errorf(n.off, "%s has no index; say which argument (0..5) it compares", what)
		ok = false
	} else if v, good := im.uint(f.val, what+".index", 5); good {
		c.Arg = int(v)
	} else {
		ok = false
	}
	var value, two uint64
	if f := m["value"]; f != nil {
		value, ok = im.uintAnd(ok, f.val, what+".value")
	}
	hasTwo := false
	if f := m["valueTwo"]; f != nil {
		two, ok = im.uintAnd(ok, f.val, what+".valueTwo")
		hasTwo = true
	}
	f := m["op"]
	if f == nil {
		im.errorf(n.off, "%s has no op; use one of SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_GT, SCMP_CMP_GE, SCMP_CMP_MASKED_EQ", what)
		return nil
	}
	s, good := im.str(f.val, what+".op")
	if !good {
		return nil
	}
	for _, o := range ociOps {
		if o.name == s {
			c.Op = o.op
		}
	}
	if c.Op == 0 {
		names := make([]string, len(ociOps))
		for i, o := range ociOps {
			names[i] = o.name
		}
		im.errorf(f.val.off, "%s.op: unknown operator %q%s (valid: %s)", what, s,
			suggest.Phrase(suggest.Nearest(s, names, 2)), strings.Join(names, ", "))
		return nil
	}
	if !ok {
		return nil
	}
	if c.Op == OpMaskedEq {
		// libseccomp masks the expected value too (db.c:
		// _db_node_mask_fixup), so bits of valueTwo outside the mask
		// never take part.
		if two&^value != 0 {
			im.warnf(m["valueTwo"].val.off, "%s: valueTwo %#x has bits outside the mask %#x; libseccomp ignores them, so this compares with %#x", what, two, value, two&value)
		}
		c.Mask, c.Value = ociNum(value), ociNum(two&value)
		return c
	}
	if hasTwo && two != 0 {
		im.warnf(m["valueTwo"].val.off, "%s: valueTwo is only read by SCMP_CMP_MASKED_EQ; %s ignores it", what, s)
	}
	c.Value = ociNum(value)
	return c
}

// ociNum returns a Value for a number, written as the native format
// writes numbers, so that a policy read from OCI and one read back from
// its native text are equal.
func ociNum(v uint64) Value { return Value{Terms: []string{Num(v).String()}, Num: v} }

// uintAnd reads a 64-bit value, and'ing its success into ok.
func (im *ociImport) uintAnd(ok bool, n *jsonNode, what string) (uint64, bool) {
	v, good := im.uint(n, what, ^uint64(0))
	return v, ok && good
}

// ociFilter is an includes or excludes object as written.
type ociFilter struct {
	arches    []string // syscage names; architectures syscage lacks are left out
	hostIn    bool     // the list names the host
	hasArches bool
	caps      []string
	minKernel string
	off       int
}

// filter reads an includes or excludes object.
func (im *ociImport) filter(n *jsonNode, what string) *ociFilter {
	m := im.object(n, what, ociFilterKeys...)
	if m == nil {
		return nil
	}
	out := &ociFilter{off: n.off}
	if f := m["arches"]; f != nil {
		list, offs, _ := im.strs(f.val, what+".arches")
		out.hasArches = len(list) > 0
		for i, s := range list {
			name, known := im.mobyArch(s, offs[i], fmt.Sprintf("%s.arches[%d]", what, i))
			if !known {
				continue
			}
			if name == im.host.Name {
				out.hostIn = true
			}
			if name != "" && !slices.Contains(out.arches, name) {
				out.arches = append(out.arches, name)
			}
		}
	}
	if f := m["caps"]; f != nil {
		list, offs, _ := im.strs(f.val, what+".caps")
		known := Capabilities()
		for i, s := range list {
			if !slices.Contains(known, s) {
				im.errorf(offs[i], "%s.caps[%d]: unknown capability %q%s", what, i, s,
					suggest.Phrase(suggest.Nearest(s, known, 3)))
				continue
			}
			if !slices.Contains(out.caps, s) {
				out.caps = append(out.caps, s)
			}
		}
	}
	if f := m["minKernel"]; f != nil {
		if s, ok := im.str(f.val, what+".minKernel"); ok && s != "" {
			v, err := ociKernelVersion(s)
			if err != nil {
				im.errorf(f.val.off, "%s.minKernel: %v", what, err)
			}
			out.minKernel = v
		}
	}
	return out
}

// mobyArch reads an architecture of includes or excludes, which moby
// compares with its name for the host (libseccomp's names: amd64, arm64,
// x86, ...). It returns syscage's name, "" for an architecture syscage
// has no table for, and known false for a name no runtime uses.
func (im *ociImport) mobyArch(s string, off int, what string) (name string, known bool) {
	if alias, ok := ociMobyArchAliases[s]; ok {
		s = alias
	}
	for _, a := range ociArches {
		if a.moby == s {
			return a.name, true
		}
	}
	cands := make([]string, len(ociArches))
	for i, a := range ociArches {
		cands[i] = a.moby
	}
	hint := suggest.Phrase(suggest.Nearest(s, cands, 2))
	for _, a := range ociArches {
		if s == a.oci || (a.name != "" && strings.EqualFold(s, a.name)) {
			hint = suggest.Phrase([]string{a.moby})
		}
	}
	im.errorf(off, "%s: unknown architecture %q%s (includes and excludes name the runtime's host as libseccomp does: %s)",
		what, s, hint, strings.Join(cands, ", "))
	return "", false
}

// ociKernelVersion checks a minKernel value as moby reads it:
// "<kernel>.<major>", each 0..255, not 0.0. It returns the version
// without leading zeros.
func ociKernelVersion(s string) (string, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return "", fmt.Errorf("%q is not a kernel version; want \"<kernel>.<major>\", e.g. \"4.8\"", s)
	}
	var nums [2]uint64
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return "", fmt.Errorf("%q is not a kernel version; want \"<kernel>.<major>\" with numbers 0..255, e.g. \"4.8\"", s)
		}
		nums[i] = n
	}
	if nums[0] == 0 && nums[1] == 0 {
		return "", fmt.Errorf("kernel version %q cannot be 0.0", s)
	}
	return fmt.Sprintf("%d.%d", nums[0], nums[1]), nil
}

// applies turns includes and excludes into the rule's Only and Except.
//
// Capabilities and kernel versions keep their meaning. Architectures do
// not quite: moby compares them with the runtime's host, and a rule it
// keeps then applies to every architecture of the filter, while syscage
// tests Only.Arches against the architecture of each syscall. On the
// host the profile is read for, the two agree when the list holds either
// all of the policy's architectures or none of them, so the list is
// completed or trimmed to that (with a warning when this changes what a
// per-syscall reading would do).
func (im *ociImport) applies(r *Rule, inc, exc *ociFilter, off int, what string) {
	policyArches := make([]string, len(im.accepted))
	for i, a := range im.accepted {
		policyArches[i] = a.Name
	}
	only, except := &Applies{}, &Applies{}
	if inc != nil {
		only.Caps, only.MinKernel = inc.caps, inc.minKernel
		if inc.hasArches {
			if inc.hostIn {
				only.Arches = ociUnion(inc.arches, policyArches)
				if len(only.Arches) > len(inc.arches) {
					im.warnf(inc.off, "%s.includes: arches names the host (%s), so runc applies this rule to every architecture of the filter; syscage applies it to %s too",
						what, im.host.Name, strings.Join(ociMinus(policyArches, inc.arches), ", "))
				}
			} else {
				only.Arches = ociMinus(inc.arches, policyArches)
				if len(only.Arches) < len(inc.arches) {
					im.warnf(inc.off, "%s.includes: arches does not name the host (%s), so runc leaves this rule out entirely, also for %s",
						what, im.host.Name, strings.Join(ociIntersect(inc.arches, policyArches), ", "))
				}
				if len(only.Arches) == 0 {
					// A rule that applies on no architecture of the
					// policy: say so with Except, since an empty
					// Only.Arches means every architecture.
					except.Arches = ociUnion(except.Arches, policyArches)
				}
			}
		}
	}
	if exc != nil {
		except.Caps, except.MinKernel = exc.caps, exc.minKernel
		if exc.hasArches {
			if exc.hostIn {
				except.Arches = ociUnion(ociUnion(except.Arches, exc.arches), policyArches)
				if len(ociUnion(exc.arches, policyArches)) > len(exc.arches) {
					im.warnf(exc.off, "%s.excludes: arches names the host (%s), so runc leaves this rule out entirely, also for %s",
						what, im.host.Name, strings.Join(ociMinus(policyArches, exc.arches), ", "))
				}
			} else {
				kept := ociMinus(exc.arches, policyArches)
				if len(kept) < len(exc.arches) {
					im.warnf(exc.off, "%s.excludes: arches does not name the host (%s), so runc applies this rule to every architecture of the filter, also %s",
						what, im.host.Name, strings.Join(ociIntersect(exc.arches, policyArches), ", "))
				}
				except.Arches = ociUnion(except.Arches, kept)
			}
		}
	}
	if len(only.Arches) > 0 || len(only.Caps) > 0 || only.MinKernel != "" {
		r.Only = only
	}
	if len(except.Arches) > 0 || len(except.Caps) > 0 || except.MinKernel != "" {
		r.Except = except
	}
}

// ociUnion returns a followed by the members of b it lacks.
func ociUnion(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// ociMinus returns the members of a that b lacks.
func ociMinus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// ociIntersect returns the members of a that b has.
func ociIntersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// normalizeMasks rewrites SCMP_CMP_MASKED_EQ comparisons whose mask
// covers every bit syscage compares as plain equality: all 64 bits, or
// the low 32 bits of an argument that is 32-bit for every syscall of the
// rule on every architecture of the policy. FormatOCI writes equality on
// an int argument as such a mask (the exact form for libseccomp, which
// compares all 64 bits), so this makes the round trip return the
// comparison the policy had.
func (im *ociImport) normalizeMasks(p *Policy) {
	for _, r := range p.Rules {
		WalkCmps(r.When, func(c *Cmp) {
			if c.Op != OpMaskedEq {
				return
			}
			switch {
			case c.Mask.Num == ^uint64(0):
			case c.Mask.Num == 0xffffffff && ociAll32(im.accepted, r, c.Arg):
			default:
				return
			}
			c.Op, c.Mask = OpEq, Value{}
		})
	}
}

// ociAll32 reports whether argument idx is compared as 32 bits for every
// syscall r names on every architecture.
func ociAll32(arches []*arch.Arch, r *Rule, idx int) bool {
	for _, t := range r.Syscalls {
		for _, a := range arches {
			for _, sc := range t.Syscalls(a) {
				if ArgWidth(a, sc.Name, idx) != 32 {
					return false
				}
			}
		}
	}
	return true
}

// sameAction compares actions as the kernel sees them.
func ociSameAction(a, b Action) bool { return a.Kind == b.Kind && a.Data == b.Data }

// keepRuntimeOrder rearranges rules where syscage's first-match order
// would decide differently from libseccomp's rule database, so that the
// policy decides as runc does. For each syscall name:
//
//   - runc drops rules whose action is the default action (libseccomp
//     refuses them), so such a rule can never hide a later rule; the name
//     is taken out of such a rule when a later rule for it has another
//     action;
//   - libseccomp lets a rule without argument conditions replace the
//     conditional rules of the syscall, whatever their order (db.c:
//     db_rule_add), so conditional rules for the name that come before
//     the last unconditional one move after it;
//   - between conditional rules with different actions libseccomp decides
//     by the order of its comparison tree, not by the profile's order;
//     that is reported, since no reordering reproduces it in general.
func (im *ociImport) keepRuntimeOrder(p *Policy) {
	isDef := func(r *Rule) bool { return ociSameAction(r.Action, im.def) }

	// Names in order of first appearance, and the rules naming each.
	var names []string
	rulesOf := map[string][]int{}
	for i, r := range p.Rules {
		for _, t := range r.Syscalls {
			if t.Name == "" {
				continue
			}
			idx := rulesOf[t.Name]
			if len(idx) == 0 {
				names = append(names, t.Name)
			}
			if len(idx) == 0 || idx[len(idx)-1] != i {
				rulesOf[t.Name] = append(idx, i)
			}
		}
	}
	// drop[i] lists the names rule i loses; after[i] the rules (copies
	// for one name) to insert after rule i.
	drop := make(map[int][]string)
	after := make(map[int][]*Rule)
	for _, name := range names {
		idx := rulesOf[name]
		if len(idx) < 2 {
			continue // one rule decides alone
		}
		// Default-action rules that hide a later rule with another action.
		for k, i := range idx {
			if !isDef(p.Rules[i]) {
				continue
			}
			for _, j := range idx[k+1:] {
				if !ociSameAction(p.Rules[j].Action, p.Rules[i].Action) {
					drop[i] = append(drop[i], name)
					im.warnAt(ociTarget(p.Rules[i], name).Pos, "this rule gives %s the default action, which runc drops (libseccomp refuses such rules), so it does not hide the rule at %s; syscage leaves %s out of it",
						name, p.Rules[j].Pos, name)
					break
				}
			}
		}
		// The rules that take part in runc.
		var live []int
		for _, i := range idx {
			if !isDef(p.Rules[i]) {
				live = append(live, i)
			}
		}
		for _, i := range live {
			r := p.Rules[i]
			if r.When == nil {
				continue
			}
			// The last rule without conditions that libseccomp would let
			// replace this one: another action, in an environment where
			// both apply.
			last := -1
			for _, j := range live {
				rj := p.Rules[j]
				if j > i && rj.When == nil && !ociSameAction(r.Action, rj.Action) && !ociDisjointEnv(r, rj) {
					last = j
				}
			}
			if last < 0 {
				continue
			}
			drop[i] = append(drop[i], name)
			after[last] = append(after[last], &Rule{
				Pos:      r.Pos,
				Syscalls: []Target{ociTarget(r, name)},
				When:     r.When,
				Action:   r.Action,
				Only:     r.Only,
				Except:   r.Except,
			})
			im.warnAt(ociTarget(r, name).Pos, "libseccomp lets the rule without argument conditions at %s replace this conditional rule for %s, whatever their order; syscage tries this rule's %s after it",
				p.Rules[last].Pos, name, name)
		}
		// Conditional rules with different actions.
		var conds []int
		for _, i := range live {
			if p.Rules[i].When != nil {
				conds = append(conds, i)
			}
		}
	pairs:
		for a, i := range conds {
			for _, j := range conds[a+1:] {
				ri, rj := p.Rules[i], p.Rules[j]
				if ociSameAction(ri.Action, rj.Action) || ociDisjointEnv(ri, rj) {
					continue
				}
				im.warnAt(ociTarget(rj, name).Pos, "the rules at %s and here give %s different actions under argument conditions; where both match, syscage takes the first, but libseccomp orders such rules by argument and operator, not by position (and refuses identical conditions)",
					ri.Pos, name)
				break pairs
			}
		}
	}
	if len(drop) == 0 && len(after) == 0 {
		return
	}
	var out []*Rule
	for i, r := range p.Rules {
		if lost := drop[i]; len(lost) > 0 {
			var keep []Target
			for _, t := range r.Syscalls {
				if !slices.Contains(lost, t.Name) {
					keep = append(keep, t)
				}
			}
			if len(keep) > 0 {
				c := *r
				c.Syscalls = keep
				out = append(out, &c)
			}
		} else {
			out = append(out, r)
		}
		out = append(out, after[i]...)
	}
	p.Rules = out
}

// ociRuleNames reports whether r names the syscall.
func ociRuleNames(r *Rule, name string) bool {
	for _, t := range r.Syscalls {
		if t.Name == name {
			return true
		}
	}
	return false
}

// ociTarget returns r's target for name.
func ociTarget(r *Rule, name string) Target {
	for _, t := range r.Syscalls {
		if t.Name == name {
			return t
		}
	}
	return Target{Name: name}
}

// ociDisjointEnv reports whether two rules can never both apply in one
// environment: one needs a capability whose holding excludes the other,
// their kernel versions do not meet, or their architecture lists do not.
func ociDisjointEnv(a, b *Rule) bool {
	check := func(x, y *Rule) bool {
		if x.Only == nil || y.Except == nil {
			return false
		}
		for _, c := range x.Only.Caps {
			if slices.Contains(y.Except.Caps, c) {
				return true
			}
		}
		if x.Only.MinKernel != "" && y.Except.MinKernel != "" && compareVersions(x.Only.MinKernel, y.Except.MinKernel) >= 0 {
			return true
		}
		if len(x.Only.Arches) > 0 && len(ociMinus(x.Only.Arches, y.Except.Arches)) == 0 {
			return true
		}
		return false
	}
	if check(a, b) || check(b, a) {
		return true
	}
	if a.Only != nil && b.Only != nil && len(a.Only.Arches) > 0 && len(b.Only.Arches) > 0 &&
		len(ociIntersect(a.Only.Arches, b.Only.Arches)) == 0 {
		return true
	}
	return false
}

// checkNotify reports what runc refuses about SCMP_ACT_NOTIFY.
func (im *ociImport) checkNotify(p *Policy) {
	for _, r := range p.Rules {
		if r.Action.Kind != Notify {
			continue
		}
		if ociRuleNames(r, "write") {
			im.warnAt(ociTarget(r, "write").Pos, "runc refuses SCMP_ACT_NOTIFY for write, which it needs to hand the listener to the agent; syscage keeps the rule")
		}
	}
}
