package compile

import "sync"

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
