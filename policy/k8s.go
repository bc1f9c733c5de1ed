package policy

import (
	"fmt"
	"strings"
)

// KubeletSeccompDir is where the kubelet looks for Localhost seccomp
// profiles (its --root-dir, /var/lib/kubelet, plus "seccomp"). A pod's
// securityContext.seccompProfile.localhostProfile is a path relative to
// it.
const KubeletSeccompDir = "/var/lib/kubelet/seccomp"

// FormatKubernetesLocalhost writes p as a Kubernetes Localhost seccomp
// profile named name: profile is the JSON to install on every node as
// KubeletSeccompDir/profiles/NAME.json (FormatOCI's output: the container
// runtimes behind the kubelet, containerd and CRI-O, read moby's format),
// and pod is the YAML securityContext fragment that makes a pod or a
// container use it. name may end in ".json"; it must be a plain file
// name.
func FormatKubernetesLocalhost(p *Policy, name string) (profile, pod []byte, err error) {
	name = strings.TrimSuffix(name, ".json")
	if err := k8sCheckFileName(name); err != nil {
		return nil, nil, err
	}
	profile, err = FormatOCI(p)
	if err != nil {
		return nil, nil, err
	}
	rel := "profiles/" + name + ".json"
	pod = []byte(fmt.Sprintf(`# Install the profile on every node as %s/%s,
# then set this securityContext on the pod (or on one of its containers):
securityContext:
  seccompProfile:
    type: Localhost
    localhostProfile: %s
`, KubeletSeccompDir, rel, rel))
	return profile, pod, nil
}

// k8sCheckFileName checks that a profile name is one file name that
// needs no quoting in YAML.
func k8sCheckFileName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("profile name %q: want a file name such as \"my-service\"", name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		default:
			return fmt.Errorf("profile name %q: use letters, digits, '-', '_' and '.' only (%q is not allowed), since it names a file in %s/profiles", name, r, KubeletSeccompDir)
		}
	}
	return nil
}
