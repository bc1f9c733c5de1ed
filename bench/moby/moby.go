// Package moby supplies the moby (Docker) default seccomp profile the way
// a container runtime receives it, and runc's path from that profile to a
// libseccomp filter, so that syscage and runc with libseccomp can be
// compared on the very profile containers run under.
//
// The profile comes from github.com/moby/profiles/seccomp as a Go value;
// moby's own code (GetDefaultProfile) resolves its includes and excludes
// for a container's capabilities, this machine's architecture and kernel,
// giving the OCI runtime spec's linux.seccomp object. syscage reads that
// object's JSON with policy.ParseOCI; runc's path (Runc) hands it to
// libseccomp.
package moby

import (
	"encoding/json"
	"fmt"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/syscage/syscage/policy"
)

// DefaultCaps is the capability set Docker gives a container by default
// (moby's oci/caps), which decides the profile's capability includes.
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Profile returns the linux.seccomp object Docker puts in the runtime
// spec of a container holding caps, on this machine.
func Profile(caps []string) (*specs.LinuxSeccomp, error) {
	spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: caps, Effective: caps, Permitted: caps,
	}}}
	ls, err := profiles.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("moby default profile: %w", err)
	}
	return ls, nil
}

// Policy reads the runtime spec's seccomp object as syscage does.
func Policy(ls *specs.LinuxSeccomp) (*policy.Policy, error) {
	data, err := json.Marshal(ls)
	if err != nil {
		return nil, err
	}
	return policy.ParseOCI("moby-default.json", data)
}

// DefaultPolicy is the moby default profile for a container with
// Docker's default capabilities, read by syscage.
func DefaultPolicy() (*policy.Policy, *specs.LinuxSeccomp, error) {
	ls, err := Profile(DefaultCaps)
	if err != nil {
		return nil, nil, err
	}
	p, err := Policy(ls)
	if err != nil {
		return nil, nil, err
	}
	return p, ls, nil
}

// Version is the version of the moby profiles module built in.
func Version() string { return moduleVersion("github.com/moby/profiles/seccomp") }
