//go:build !amd64

package sandbox

// precompiledProfiles is empty where `go generate ./sandbox` has not
// compiled the embedded profiles for the architecture: they are
// compiled at run time.
var precompiledProfiles []precompiled
