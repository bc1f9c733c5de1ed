//go:build !amd64

package presignal

// intercept has no handlers of its own to install on this architecture:
// Intercept subscribes through os/signal.
func intercept() *subscription { return nil }
