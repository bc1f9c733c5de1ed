package suggest

import (
	"slices"
	"testing"
)

func TestNearest(t *testing.T) {
	names := []string{"openat", "openat2", "open", "close", "read", "readv", "write", "ptrace", "personality"}
	tests := []struct {
		name string
		max  int
		want []string
	}{
		{"opnat", 3, []string{"openat", "openat2"}}, // "open" is 3 edits away: too far for 5 letters
		{"raed", 2, []string{"read", "readv"}},      // a transposition is one edit
		{"ptrce", 3, []string{"ptrace"}},
		{"PTRACE", 3, []string{"ptrace"}},
		{"personalty", 1, []string{"personality"}},
		{"zzzzzz", 3, []string{}},
		{"clos", 0, []string{}},
	}
	for _, tt := range tests {
		got := Nearest(tt.name, names, tt.max)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Nearest(%q, %d) = %q, want %q", tt.name, tt.max, got, tt.want)
		}
	}
}

func TestPhrase(t *testing.T) {
	if got := Phrase(nil); got != "" {
		t.Errorf("Phrase(nil) = %q", got)
	}
	if got, want := Phrase([]string{"a", "b"}), `; did you mean "a", "b"?`; got != want {
		t.Errorf("Phrase = %q, want %q", got, want)
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"ab", "ba", 1}, {"read", "raed", 1}, {"same", "same", 0}, {"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := distance(tt.b, tt.a); got != tt.want {
			t.Errorf("distance(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func FuzzNearest(f *testing.F) {
	f.Add("opnat", "openat")
	f.Fuzz(func(t *testing.T, name, cand string) {
		got := Nearest(name, []string{cand, "read"}, 2)
		if len(got) > 2 {
			t.Fatalf("more than max: %q", got)
		}
		if distance(name, cand) != distance(cand, name) {
			t.Fatal("distance not symmetric")
		}
	})
}
