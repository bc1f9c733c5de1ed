package notify

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The supervisor's namespace and umask are read on first use rather than
// when the package starts; what they give must not change for that.
func TestSupervisorIdentityReadLazily(t *testing.T) {
	ns, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Skipf("no /proc/self/ns/user: %v", err)
	}
	if got := supervisorUserNS(); got != ns {
		t.Errorf("supervisorUserNS() = %q, want %q", got, ns)
	}
	// The umask is read through /proc, which says nothing before Linux
	// 4.7; then 022 stands in.
	old := unix.Umask(0)
	unix.Umask(old)
	want := uint32(old)
	if st, err := readStatus(os.Getpid()); err != nil || st.umask == noUmask {
		want = 0o022
	}
	if got := supervisorUmask(); got != want {
		t.Errorf("supervisorUmask() = %#o, want %#o", got, want)
	}
}
