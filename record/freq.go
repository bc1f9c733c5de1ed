package record

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/syscage/syscage/arch"
)

// Frequencies returns how often the program made each syscall on the
// native architecture, by name: the weights compile.Options.Frequencies
// takes (the compiler weighs the policy's first architecture, which a
// recorded profile makes the native one). Syscalls on other
// architectures and numbers without a name are left out.
func Frequencies(r *Recording) map[string]float64 {
	native := arch.Native()
	out := map[string]float64{}
	for _, s := range r.Syscalls {
		if native != nil && s.Arch == native.Name && s.Name != "" {
			out[s.Name] += float64(s.Count)
		}
	}
	return out
}

// WriteFrequencies writes the frequency profile of a recording: a
// comment head, then one "NAME COUNT" line per syscall, most frequent
// first: the format compile.ReadFrequencies reads (syscage compile --freq).
func WriteFrequencies(w io.Writer, r *Recording) error {
	freq := Frequencies(r)
	names := make([]string, 0, len(freq))
	for n := range freq {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if c := cmp.Compare(freq[b], freq[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# syscage frequency profile: how many times each syscall was made.\n")
	fmt.Fprintf(bw, "# Recorded from: %s\n", quoteCommand(r.Command))
	if n := arch.Native(); n != nil {
		fmt.Fprintf(bw, "# Architecture: %s. Weights for the compiler's search tree (any scale).\n", n.Name)
	}
	for _, n := range names {
		fmt.Fprintf(bw, "%s %s\n", n, strconv.FormatFloat(freq[n], 'f', -1, 64))
	}
	return bw.Flush()
}
