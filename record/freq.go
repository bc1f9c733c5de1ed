package record

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

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
// first. ReadFrequencies reads it back.
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

// ReadFrequencies reads a frequency profile: lines of a syscall name and
// a non-negative weight separated by white space; '#' starts a comment.
// A name given twice adds up. Errors name the line.
func ReadFrequencies(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("line %d: %q: want a syscall name and a count, as in \"read 1200\"", line, strings.TrimSpace(text))
		}
		name := fields[0]
		if !validName(name) {
			return nil, fmt.Errorf("line %d: %q is not a syscall name (letters, digits and '_')", line, name)
		}
		v, err := strconv.ParseFloat(fields[1], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("line %d: count %q of %s: want a number 0 or more", line, fields[1], name)
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

func validName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
