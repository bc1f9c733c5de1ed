package policy

import (
	"reflect"
	"testing"
	"testing/fstest"
)

// FuzzParse checks that no input makes the parser panic, and that
// whatever parses formats into text that parses back to the same policy
// and formats the same again.
func FuzzParse(f *testing.F) {
	for _, s := range roundTripSources {
		f.Add(s)
	}
	for _, s := range []string{
		"default allow\nallow read if fd == 1 && (buf == 0 || count < 10)\n",
		"default allow\ninclude \"inc.policy\"\nallow write\n",
		"default allow\nonly arch x86_64 caps CAP_BPF except kernel >= 5.8 {\nallow bpf\n}\n",
		"arch x86_64 i386\ndefault errno(EPERM)\nerrno(EACCES) i386:socketcall\n",
		"default allow\nallow kill if sig in 0..31 && pid != -1\n",
		"default allow\nallow socket if family in {AF_UNIX, AF_INET,\n AF_INET6}\n",
		"default allow\nallow read \\\n write\n",
		"default allow\nfiles errno(EPERM) {\n  read dir /usr \"/a b\"\n  deny /usr/x  # c\n}\nnotify open openat openat2 creat\n",
	} {
		f.Add(s)
	}
	fsys := fstest.MapFS{"inc.policy": {Data: []byte("allow close\n")}}
	f.Fuzz(func(t *testing.T, src string) {
		for _, opts := range []ParseOptions{{FS: fsys}, {SyntaxOnly: true}} {
			p1, err := Parse("fuzz.policy", []byte(src), opts)
			if err != nil {
				if _, ok := err.(ErrorList); !ok {
					t.Fatalf("error of type %T: %v", err, err)
				}
				continue
			}
			out := Format(p1)
			p2, err := Parse("fuzz.policy", out, opts)
			if err != nil {
				t.Fatalf("formatted policy does not parse: %v\nsource: %q\nformatted:\n%s", err, src, out)
			}
			stripPos(p1)
			stripPos(p2)
			if !reflect.DeepEqual(p1, p2) {
				t.Fatalf("round trip changed the policy\nsource: %q\nformatted:\n%s\nbefore: %s\nafter:  %s", src, out, dump(p1), dump(p2))
			}
			if out2 := Format(p2); string(out2) != string(out) {
				t.Fatalf("formatting is not idempotent\nsource: %q\nfirst:\n%s\nsecond:\n%s", src, out, out2)
			}
		}
	})
}
