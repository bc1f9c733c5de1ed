package compile

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
)

//go:generate sh -c "cd .. && go run ./internal/gen/freqgen -o compile/zfreq.go"

// nameWeight is one entry of the bundled frequency mix.
type nameWeight struct {
	name   string
	weight float64
}

// DefaultFrequencies returns the bundled syscall-frequency mix: for each
// syscall name, its share of all syscalls that a corpus of everyday
// programs made (zfreq.go says which programs and how it was measured).
// The map is fresh; callers may modify it.
func DefaultFrequencies() map[string]float64 {
	m := make(map[string]float64, len(bundledMix))
	for _, e := range bundledMix {
		m[e.name] = e.weight
	}
	return m
}

// bundledOnce caches the bundled mix as a map, which Policy reads on every
// call that does not bring its own frequencies.
var bundledOnce = sync.OnceValue(DefaultFrequencies)

// ReadFrequencies reads a syscall-frequency profile: one syscall name and
// its count or weight per line ("openat 1234"), blank lines and lines
// starting with # ignored. It also reads the summary `strace -c` prints
// (the calls column counts, the syscall column names), so that a profile
// of one's own program is one strace run away:
//
//	strace -f -c -o prog.freq -- prog args...
func ReadFrequencies(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	line := 0
	callsCol, nameCol := -1, -1 // the columns of a strace -c table
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "---") {
			continue
		}
		fields := strings.Fields(text)
		if fields[0] == "%" || fields[0] == "syscall" {
			// A strace header: "% time seconds usecs/call calls errors
			// syscall" or "syscall calls ...".
			callsCol, nameCol = -1, -1
			cols := fields
			if fields[0] == "%" && len(fields) >= 2 {
				cols = append([]string{"%time"}, fields[2:]...)
			}
			for i, c := range cols {
				switch c {
				case "calls":
					callsCol = i
				case "syscall":
					nameCol = i
				}
			}
			if callsCol < 0 || nameCol < 0 {
				return nil, fmt.Errorf("line %d: a strace summary header without calls and syscall columns", line)
			}
			continue
		}
		var name, count string
		switch {
		case callsCol >= 0:
			if fields[len(fields)-1] == "total" {
				continue
			}
			// The errors column is blank when there were none, so read
			// the name from the end and the calls from the start.
			if len(fields) < 2 || callsCol >= len(fields) {
				return nil, fmt.Errorf("line %d: %q does not fit the strace summary's columns", line, text)
			}
			name = fields[len(fields)-1]
			if nameCol < callsCol {
				name = fields[nameCol]
			}
			count = fields[callsCol]
		case len(fields) == 2:
			name, count = fields[0], fields[1]
		default:
			return nil, fmt.Errorf("line %d: %q: want a syscall name and a count, like \"openat 1234\"", line, text)
		}
		v, err := strconv.ParseFloat(count, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("line %d: count %q of %s is not a non-negative number", line, count, name)
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no syscall counts found: want lines like \"openat 1234\", or the summary of strace -c")
	}
	return out, nil
}
