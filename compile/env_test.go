package compile

import "testing"

// TestNameIndex checks the name table against nameIDs: every syscall name
// of every architecture finds its ID, and names that differ from one by
// a byte, in length, or only in the middle of a long name (which the
// words kept in an entry do not cover) find nothing.
func TestNameIndex(t *testing.T) {
	x := nameTable()
	ids := nameIDs()
	if len(ids) == 0 {
		t.Fatal("no syscall names")
	}
	for name, id := range ids {
		if got := x.id(name); got != id {
			t.Fatalf("id(%q) = %d, want %d", name, got, id)
		}
		var near []string
		near = append(near, name+"x", "x"+name, name[:len(name)-1], name+"\x00")
		for i := range len(name) {
			b := []byte(name)
			b[i] ^= 0x20
			near = append(near, string(b))
		}
		for _, n := range near {
			want, known := ids[n]
			if !known {
				want = -1
			}
			if got := x.id(n); got != want {
				t.Fatalf("id(%q) = %d, want %d (near %q)", n, got, want, name)
			}
		}
	}
	for _, n := range []string{"", "a", "ab", "abc", "abcd", "abcdefgh", "abcdefghijklmnopq"} {
		if got := x.id(n); got != -1 {
			t.Errorf("id(%q) = %d, want -1", n, got)
		}
	}
}
