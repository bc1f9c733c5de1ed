package arch

import (
	"strings"
	"testing"
)

func FuzzResolve(f *testing.F) {
	for _, s := range []string{"read", "0x40000000", "4003", "opne", "", " ", "0x", "-1", "99999999999", "READ", "_llseek", "\x00"} {
		f.Add(uint8(0), s)
	}
	archs := All()
	f.Fuzz(func(t *testing.T, which uint8, in string) {
		a := archs[int(which)%len(archs)]
		s, err := a.Resolve(in)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if s.Name != "" {
			if nr, ok := a.Lookup(s.Name); !ok || nr != s.Nr {
				t.Fatalf("Resolve(%q) = %+v but Lookup gives %d, %v", in, s, nr, ok)
			}
		}
		if s.Nr < 0 || s.Nr > 0xffffffff {
			t.Fatalf("Resolve(%q) = %d: not a 32-bit number", in, s.Nr)
		}
	})
}

func FuzzByName(f *testing.F) {
	for _, s := range []string{"x86_64", "AMD64", "SCMP_ARCH_X32", "aarch46", "", "mips64le", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		a, err := ByName(in)
		if err != nil {
			if !strings.Contains(err.Error(), "x86_64") {
				t.Fatalf("ByName(%q) error %q does not list the valid names", in, err)
			}
			return
		}
		if b, err := ByName(a.Name); err != nil || b != a {
			t.Fatalf("ByName(%q) = %s, which does not resolve to itself", in, a)
		}
	})
}
