package sandbox

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/internal/suggest"
	"github.com/syscage/syscage/policy"
)

// Cap is a Linux capability number (include/uapi/linux/capability.h).
type Cap int

// capNames lists every capability by number, without the CAP_ prefix.
// The table is policy's, so that the names a policy may test and the
// names --caps accepts can never drift apart.
var capNames = func() []string {
	names := policy.Capabilities()
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "CAP_")
	}
	return names
}()

// String returns the name with the CAP_ prefix, e.g. "CAP_CHOWN".
func (c Cap) String() string {
	if c >= 0 && int(c) < len(capNames) {
		return "CAP_" + capNames[c]
	}
	return fmt.Sprintf("CAP_%d", int(c))
}

// ParseCap reads a capability name, with or without the CAP_ prefix, in
// any case ("net_raw", "CAP_NET_RAW").
func ParseCap(name string) (Cap, error) {
	n := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "CAP_")
	if i := slices.Index(capNames, n); i >= 0 {
		return Cap(i), nil
	}
	return 0, fmt.Errorf("unknown capability %q%s; see capabilities(7) for the list", name,
		suggest.Phrase(suggest.Nearest(n, capNames, 3)))
}

// CapSet is a set of capabilities, one bit per number.
type CapSet uint64

// Has reports whether c is in the set.
func (s CapSet) Has(c Cap) bool { return c >= 0 && c < 64 && s&(1<<c) != 0 }

// Add returns the set with c added.
func (s CapSet) Add(c Cap) CapSet { return s | 1<<c }

// Remove returns the set without c.
func (s CapSet) Remove(c Cap) CapSet { return s &^ (1 << c) }

// Caps lists the capabilities in the set, lowest number first.
func (s CapSet) Caps() []Cap {
	var out []Cap
	for c := Cap(0); c < 64; c++ {
		if s.Has(c) {
			out = append(out, c)
		}
	}
	return out
}

func (s CapSet) String() string {
	var names []string
	for _, c := range s.Caps() {
		names = append(names, c.String())
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ",")
}

// AllCaps is every capability this package knows.
var AllCaps = CapSet(1<<len(capNames) - 1)

// DefaultCaps is the set container runtimes give a default container
// (moby's oci/caps/defaults.go, runc's and containerd's defaults).
var DefaultCaps = capSetOf(unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FSETID,
	unix.CAP_FOWNER, unix.CAP_MKNOD, unix.CAP_NET_RAW, unix.CAP_SETGID, unix.CAP_SETUID,
	unix.CAP_SETFCAP, unix.CAP_SETPCAP, unix.CAP_NET_BIND_SERVICE, unix.CAP_SYS_CHROOT,
	unix.CAP_KILL, unix.CAP_AUDIT_WRITE)

func capSetOf(caps ...int) CapSet {
	var s CapSet
	for _, c := range caps {
		s = s.Add(Cap(c))
	}
	return s
}

// ParseCapList reads names separated by commas; "ALL" stands for every
// capability.
func ParseCapList(list string) (CapSet, error) {
	var s CapSet
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.EqualFold(f, "all") {
			s |= AllCaps
			continue
		}
		c, err := ParseCap(f)
		if err != nil {
			return 0, err
		}
		s = s.Add(c)
	}
	return s, nil
}

// Permitted returns syscage's own permitted capability set: the most a
// program it starts can hold (outside a new user namespace).
func Permitted() (CapSet, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, err
	}
	return CapSet(uint64(data[1].Permitted)<<32 | uint64(data[0].Permitted)), nil
}
