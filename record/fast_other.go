//go:build !amd64

package record

import "errors"

// fastCounter is the eBPF counter, which reads x86_64 registers; other
// architectures record with ptrace alone.
type fastCounter struct{}

func newFastCounter(func(nr int) uint8) (*fastCounter, error) {
	return nil, errors.New("the eBPF backend is implemented for x86_64 only")
}

func (f *fastCounter) track(int) error                    { return nil }
func (f *fastCounter) untrack(int)                        {}
func (f *fastCounter) sawInTracer(int, uint64)            {}
func (f *fastCounter) snapshot() (map[int]uint64, error)  { return nil, nil }
func (f *fastCounter) drain(*collector) ([]string, error) { return nil, nil }
func (f *fastCounter) close()                             {}
