package compile

import (
	"strings"
	"testing"
)

func TestReadFrequencies(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]float64
		err      string
	}{
		{"pairs", "# mine\nread 10\nwrite 2.5\n\nread 5\n", map[string]float64{"read": 15, "write": 2.5}, ""},
		{"strace -c", `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000040           4        10           read
 60.00    0.000060          20         3         1 openat
------ ----------- ----------- --------- --------- ----------------
100.00    0.000100           7        13         1 total
`, map[string]float64{"read": 10, "openat": 3}, ""},
		{"strace -U name,calls", "syscall              calls\n---------------- ---------\nread 7\nclose 2\n", map[string]float64{"read": 7, "close": 2}, ""},
		{"bad count", "read lots\n", nil, "line 1: count \"lots\""},
		{"negative", "read -1\n", nil, "not a non-negative number"},
		{"three words", "read 1 2\n", nil, "want a syscall name and a count"},
		{"empty", "# nothing\n", nil, "no syscall counts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFrequencies(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// FuzzReadFrequencies checks that any input is read or refused without a
// panic, and that what is read is usable weights.
func FuzzReadFrequencies(f *testing.F) {
	f.Add("read 10\nwrite 2\n")
	f.Add("% time     seconds  usecs/call     calls    errors syscall\n 1.0 0.1 1 10 read\n")
	f.Add("syscall calls\nread 1\n")
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ReadFrequencies(strings.NewReader(in))
		if err != nil {
			return
		}
		for name, v := range m {
			if v < 0 || v != v {
				t.Fatalf("%s has weight %v", name, v)
			}
		}
	})
}

// TestBundledMix checks the committed mix: weights of a distribution,
// names of real syscalls.
func TestBundledMix(t *testing.T) {
	var sum float64
	for _, e := range bundledMix {
		if e.weight <= 0 {
			t.Errorf("%s has weight %v", e.name, e.weight)
		}
		if _, ok := nameIDs()[e.name]; !ok {
			t.Errorf("%s is not a syscall of any architecture", e.name)
		}
		sum += e.weight
	}
	if sum < 0.99 || sum > 1.01 {
		t.Errorf("weights add up to %v, want 1", sum)
	}
}
