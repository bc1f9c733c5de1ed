package record

import (
	"bytes"
	"strings"
	"testing"

	"github.com/syscage/syscage/compile"
)

// TestFrequenciesRoundTrip writes a recording's frequency profile and
// reads it with the compiler's reader (syscage compile --freq).
func TestFrequenciesRoundTrip(t *testing.T) {
	needX86(t)
	rec := syntheticRecording(t, []string{"read", "read", "read", "write", "i386:getpid"}, "AF_INET")
	var buf bytes.Buffer
	if err := WriteFrequencies(&buf, rec); err != nil {
		t.Fatal(err)
	}
	got, err := compile.ReadFrequencies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	want := map[string]float64{"read": 3, "write": 1, "socket": 2}
	if len(got) != len(want) {
		t.Errorf("read back %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %v, want %v", k, got[k], v)
		}
	}
	// Most frequent first, the i386 call left out.
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if first := lines[len(lines)-3]; first != "read 3" {
		t.Errorf("first count line %q, want \"read 3\"\n%s", first, buf.String())
	}
	if strings.Contains(buf.String(), "getpid") {
		t.Errorf("a foreign-arch syscall in the native profile:\n%s", buf.String())
	}
}
