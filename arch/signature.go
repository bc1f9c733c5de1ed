package arch

import "fmt"

// Kind says how a seccomp filter must compare a syscall argument. The
// kernel hands every argument to the filter as a 64-bit word
// (seccomp_data.args), but it reads only part of some of them.
type Kind int

const (
	// KindUnknown marks an argument whose type is not known; compare all
	// 64 bits.
	KindUnknown Kind = iota
	// KindInt is a 32-bit C type (int, unsigned int, u32, pid_t, uid_t,
	// umode_t, clockid_t, timer_t, key_serial_t...). The kernel ignores
	// the upper half of the register, so a filter must compare only the
	// low 32 bits: a caller can put anything above them.
	KindInt
	// KindLong is a word-sized integer (long, unsigned long, size_t, off_t,
	// aio_context_t): 64 bits on 64-bit ABIs, 32 on 32-bit ones.
	KindLong
	// KindU64 is a 64-bit integer on every ABI (u64, loff_t). On 32-bit
	// ABIs it takes two argument slots; see (*Arch).Signature.
	KindU64
	// KindPointer is any pointer, including pointer typedefs such as
	// cap_user_header_t. Filters cannot look behind it.
	KindPointer
)

var kindNames = [...]string{"unknown", "int", "long", "u64", "pointer"}

// String returns "int", "long", "u64", "pointer" or "unknown".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Signature is the argument list of a syscall as the kernel declares it
// (SYSCALL_DEFINEn).
type Signature struct {
	Name string
	Args []Param
}

// Param is one argument: its name and C type as the kernel spells them,
// and how a filter compares it.
type Param struct {
	Name, Type string
	Kind       Kind
}

// String renders the signature as a C prototype, e.g.
// "read(unsigned int fd, char * buf, size_t count)".
func (s Signature) String() string {
	b := []byte(s.Name + "(")
	for i, p := range s.Args {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, p.Type...)
		b = append(b, ' ')
		b = append(b, p.Name...)
	}
	return string(append(b, ')'))
}

// SignatureOf returns the argument signature of a syscall by name, as the
// kernel declares it for 64-bit architectures. Most prototypes are the
// same on every architecture; (*Arch).Signature applies the exceptions.
// The table comes from the tracefs events of an x86_64 kernel
// (zsignatures.go) plus the hand-written entries in signature_extra.go.
func SignatureOf(name string) (Signature, bool) {
	if args, ok := find(signatures, name); ok {
		return Signature{Name: name, Args: args}, true
	}
	if args, ok := extraSignatures()[name]; ok {
		return Signature{Name: name, Args: args}, true
	}
	if base, ok := sameAs()[name]; ok {
		s, ok := SignatureOf(base)
		s.Name = name
		return s, ok
	}
	return Signature{}, false
}

// cloneBackwards says how an architecture orders clone's arguments
// (kernel/fork.c: the SYSCALL_DEFINE5(clone) variants under
// CONFIG_CLONE_BACKWARDS and CONFIG_CLONE_BACKWARDS2; which architectures
// select them is mirrored in glibc's per-arch kernel-features.h
// __ASSUME_CLONE_BACKWARDS*).
var cloneBackwards = map[string]int{
	"i386": 1, "arm": 1, "aarch64": 1, "riscv64": 1, "ppc64": 1, "ppc64le": 1,
	"mips": 1, "mipsel": 1, "mips64": 1, "mips64el": 1,
	"s390x": 2,
}

// Signature returns the signature of a syscall as this architecture's
// entry point declares it. It differs from SignatureOf in three ways:
//
//   - the name must be in this architecture's table;
//   - mmap on i386 and s390x takes one pointer to its arguments, and
//     clone orders its arguments differently on most architectures
//     (CLONE_BACKWARDS: tls before child_tidptr; s390x's
//     CLONE_BACKWARDS2: newsp first, flags second);
//   - on ABIs with 32-bit registers (i386, arm, mips o32) a 64-bit
//     argument occupies two argument slots, with arch-specific order and
//     alignment, so signatures with a KindU64 argument are not returned
//     there: the caller must treat the arguments as unknown.
//
// ok is false when no signature is known; compare such arguments in full.
func (a *Arch) Signature(name string) (Signature, bool) {
	if _, ok := a.maps().byName[name]; !ok {
		return Signature{}, false
	}
	if name == "mmap" && (a.Name == "i386" || a.Name == "s390x") {
		return Signature{Name: name, Args: oldMmap}, true
	}
	s, ok := SignatureOf(name)
	if !ok {
		return Signature{}, false
	}
	if name == "clone" && len(s.Args) == 5 {
		flags, newsp, ptid, ctid, tls := s.Args[0], s.Args[1], s.Args[2], s.Args[3], s.Args[4]
		switch cloneBackwards[a.Name] {
		case 1:
			s.Args = []Param{flags, newsp, ptid, tls, ctid}
		case 2:
			s.Args = []Param{newsp, flags, ptid, ctid, tls}
		}
	}
	if a.Bits == 32 {
		for _, p := range s.Args {
			if p.Kind == KindU64 {
				return Signature{}, false
			}
		}
	}
	return s, true
}
