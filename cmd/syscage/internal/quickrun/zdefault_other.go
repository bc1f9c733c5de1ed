//go:build !amd64

package quickrun

// The default profile is precompiled for amd64 only (see the package
// documentation); elsewhere the command line runs every program.
var (
	defaultFilter []byte
	defaultFlags  uint32
	defaultCaps   uint64
	defaultText   string
	nrSeccomp     int
	nrCloseRange  int
)
