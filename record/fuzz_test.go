package record

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

// FuzzProfile builds recordings from the input and checks that the
// profile written for each parses back and allows every call recorded,
// with the arguments recorded, and that Extend of an empty allow-list
// with the same recording does too.
func FuzzProfile(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("socket\x01\x00\x00\x00\x02\x00\x00\x00ioctl\x01\x54\x00\x00mmap\x05\x00\x00\x00\x22\x00\x00\x00"))
	f.Add(make([]byte, 64))
	if arch.Native() == nil {
		f.Skip("unknown native arch")
	}
	f.Fuzz(runProfileInput)
}

var profileNames = []string{"read", "write", "socket", "ioctl", "mmap", "mprotect", "clone", "clone3", "futex", "prctl",
	"fcntl", "kill", "setsockopt", "madvise", "personality", "unshare", "execve", "exit_group"}

func runProfileInput(t *testing.T, data []byte) {
	native := arch.Native()
	i386, _ := arch.ByName("i386")
	names := profileNames
	{
		c := newCollector()
		for len(data) >= 10 {
			rec := data[:10]
			data = data[10:]
			a := native
			if rec[0]&0x80 != 0 && i386 != nil {
				a = i386
			}
			name := names[int(rec[0]&0x7f)%len(names)]
			nr, ok := a.Lookup(name)
			if !ok {
				continue
			}
			var args [6]uint64
			for i := range 4 {
				args[i] = uint64(rec[1+2*i]) | uint64(rec[2+2*i])<<8
				if rec[9]&(1<<i) != 0 {
					args[i] |= 0xffffffff00000000 // garbage high halves of int arguments
				}
			}
			if name == "clone3" {
				c.addMasked(a, nr, 1, [6]uint64{args[0]}, 1, true)
				continue
			}
			c.add(a, nr, args, uint64(rec[9]>>4)+1)
		}
		r := &Recording{Command: []string{"fuzz"}, Syscalls: c.syscalls()}
		if len(r.Syscalls) == 0 {
			return
		}
		for _, flat := range []bool{false, true} {
			p, err := Profile(r, ProfileOptions{Flat: flat})
			if err != nil {
				t.Fatal(err)
			}
			text := policy.Format(p)
			q, err := policy.Parse("fuzz.policy", text, policy.ParseOptions{})
			if err != nil {
				t.Fatalf("profile does not parse: %v\n%s", err, text)
			}
			checkAllowed(t, q, r, text)
		}
		base, err := policy.Parse("base.policy", []byte("default errno(EPERM)\n"), policy.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ext, err := Extend(base, nil, r, ExtendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		text := policy.Format(ext.Policy)
		q, err := policy.Parse("ext.policy", text, policy.ParseOptions{})
		if err != nil {
			t.Fatalf("extended profile does not parse: %v\n%s", err, text)
		}
		checkAllowed(t, q, r, text)
	}
}

// checkAllowed fails unless q allows every recorded call (clone3, which
// the profile answers with ENOSYS, aside).
func checkAllowed(t *testing.T, q *policy.Policy, r *Recording, text []byte) {
	t.Helper()
	for _, s := range r.Syscalls {
		if s.Name == "clone3" {
			continue
		}
		a, _ := arch.ByName(s.Arch)
		samples := s.Args
		if len(samples) == 0 {
			samples = []ArgSample{{}}
		}
		for _, smp := range samples {
			d, err := policy.Evaluate(q, policy.Input{AuditArch: a.AuditArch, Nr: uint32(s.Nr), Args: smp.Values}, policy.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Action.Kind != policy.Allow {
				t.Fatalf("%s with %#x is %s (%s) under its profile:\n%s", s, smp.Values, d.Action, d.Reason, text)
			}
		}
	}
}

// FuzzParseProcEvents feeds arbitrary datagrams to the process events
// decoder: it must not panic, and what it returns must be forks or exits.
func FuzzParseProcEvents(f *testing.F) {
	le := binary.NativeEndian
	msg := make([]byte, 16+20+16+16)
	le.PutUint32(msg[0:], uint32(len(msg)))
	le.PutUint32(msg[16:], cnIdxProc)
	le.PutUint32(msg[20:], cnValProc)
	le.PutUint16(msg[32:], 32)
	le.PutUint32(msg[36:], procEventFork)
	le.PutUint32(msg[52:], 10)
	le.PutUint32(msg[56:], 10)
	le.PutUint32(msg[60:], 11)
	le.PutUint32(msg[64:], 11)
	f.Add(msg)
	f.Add(append(slices.Clone(msg), msg...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ev := range parseProcEvents(b) {
			if ev.What != procEventFork && ev.What != procEventExit {
				t.Fatalf("event %#x returned", ev.What)
			}
		}
	})
}

// TestParseProcEvents decodes a fork message built by hand.
func TestParseProcEvents(t *testing.T) {
	le := binary.NativeEndian
	msg := make([]byte, 16+20+16+16)
	le.PutUint32(msg[0:], uint32(len(msg)))
	le.PutUint32(msg[16:], cnIdxProc)
	le.PutUint32(msg[20:], cnValProc)
	le.PutUint16(msg[32:], 32)
	le.PutUint32(msg[36:], procEventFork)
	for i, v := range []uint32{100, 100, 101, 101} {
		le.PutUint32(msg[52+4*i:], v)
	}
	evs := parseProcEvents(append(msg, msg...))
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	if e := evs[0]; e.ParentTgid != 100 || e.ChildPid != 101 || e.ChildTgid != 101 {
		t.Errorf("event %+v", e)
	}
}
