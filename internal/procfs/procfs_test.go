package procfs

import (
	"os"
	"testing"
)

func TestStatPPid(t *testing.T) {
	cases := []struct {
		stat string
		want int
		ok   bool
	}{
		{"12 (sh) S 1 12 12 0", 1, true},
		{"34 (a) b) (c) R 7 34", 7, true},
		{"56 (x y) S 42", 42, true},
		{"56 (x y) S", 0, false},
		{"56 x y S 42", 0, false},
		{"56 (x) S ppid", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		got, err := StatPPid(c.stat)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("StatPPid(%q) = %d, %v; want %d, ok %v", c.stat, got, err, c.want, c.ok)
		}
	}
}

// TestPPid checks against the kernel: this process's parent is the one
// os.Getppid reports (getppid(2)).
func TestPPid(t *testing.T) {
	got, err := PPid(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if want := os.Getppid(); got != want {
		t.Errorf("PPid(self) = %d, want %d", got, want)
	}
	if _, err := PPid(-1); err == nil {
		t.Error("PPid(-1) succeeded, want an error")
	}
}

func FuzzStatPPid(f *testing.F) {
	f.Add("12 (sh) S 1 12 12 0")
	f.Add("34 (a) b) (c) R 7 34")
	f.Add(")")
	f.Fuzz(func(t *testing.T, stat string) {
		StatPPid(stat) // must not panic
	})
}
