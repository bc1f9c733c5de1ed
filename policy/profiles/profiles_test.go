package profiles

import (
	"strings"
	"testing"
)

func TestEveryProfileParses(t *testing.T) {
	names := Names()
	for _, want := range []string{"default", "strict", "no-network", "no-exec"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("profile %q missing from %v", want, names)
		}
	}
	for _, n := range names {
		p, err := Get(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if p.Source != "profile:"+n || len(p.Rules) == 0 {
			t.Errorf("%s: source %q, %d rules", n, p.Source, len(p.Rules))
		}
	}
}

func TestUnknownProfile(t *testing.T) {
	for _, name := range []string{"defualt", "", "../default", "default.policy"} {
		_, err := Get(name)
		if err == nil {
			t.Fatalf("Get(%q) succeeded", name)
		}
		for _, n := range Names() {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("Get(%q): %v does not list %q", name, err, n)
			}
		}
	}
	_, err := Get("defualt")
	if !strings.Contains(err.Error(), `"default"`) {
		t.Errorf("no suggestion in %v", err)
	}
}
