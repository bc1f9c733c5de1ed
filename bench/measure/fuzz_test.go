package measure

import (
	"bytes"
	"testing"

	"github.com/syscage/syscage/bpf"
)

// FuzzDecodeStack checks that the child's filter file decoder never
// panics and reads back what encodeStack wrote.
func FuzzDecodeStack(f *testing.F) {
	f.Add(encodeStack(AllowAll()))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		progs, err := decodeStack(data)
		if err != nil {
			return
		}
		if again := encodeStack(progs); !bytes.Equal(again, data) {
			t.Fatalf("decode/encode changed %x into %x", data, again)
		}
		_ = []bpf.Program(progs)
	})
}
