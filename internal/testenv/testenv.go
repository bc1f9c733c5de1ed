// Package testenv decides whether a test that needs something from the
// machine (root, a kernel feature, an installed tool) may run here. Missing
// requirements skip the test with the reason, except under CI=true, where
// they fail it so that nothing silently stops being tested.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under continuous integration.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t with the reason, or fails it under CI.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("required under CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// NeedRoot requires an effective uid of 0.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root (running as uid %d)", os.Geteuid())
	}
}

// NeedCommand requires an executable on PATH and returns its path.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "needs %s on PATH (apt-get install it): %v", name, err)
	}
	return p
}
