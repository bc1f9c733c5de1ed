package measure

import (
	"slices"
	"time"
)

// Noise summarises repeated measurements: the least, the median and the
// greatest.
type Noise struct {
	Min, Median, Max float64
	N                int
}

// Summarise returns the noise of the samples.
func Summarise(xs []float64) Noise {
	if len(xs) == 0 {
		return Noise{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Noise{Min: s[0], Median: med, Max: s[len(s)-1], N: len(s)}
}

// CompileTimes compiles a workload reps times (after one run to warm up)
// and returns each run's time in microseconds.
func CompileTimes(c Compiler, w *Workload, reps int) ([]float64, error) {
	if _, err := c.Compile(w); err != nil {
		return nil, err
	}
	out := make([]float64, 0, reps)
	for range reps {
		start := time.Now()
		if _, err := c.Compile(w); err != nil {
			return nil, err
		}
		out = append(out, float64(time.Since(start).Nanoseconds())/1e3)
	}
	return out, nil
}
