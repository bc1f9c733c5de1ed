package notify

import (
	"errors"
	"os"
	"slices"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The broker opens files with the target's file-system identity, so
// that the kernel's permission checks (fs/namei.c: may_open,
// inode_permission) see the target, not the privileged supervisor.
//
// Credentials belong to a thread in Linux, and the syscalls below change
// only the calling thread when made directly (Go's syscall.Setgroups and
// friends would change every thread of the process). Each worker runs on
// a locked thread, takes the target's identity for the open and returns
// to its own right after, so the thread is clean again when the worker
// releases it.

// identity is what the kernel's file permission checks look at.
type identity struct {
	fsuid, fsgid uint32
	groups       []uint32
	caps         uint64 // effective capabilities
}

func (a *identity) equal(b *identity) bool {
	return a.fsuid == b.fsuid && a.fsgid == b.fsgid && a.caps == b.caps && slices.Equal(a.groups, b.groups)
}

// threadCreds is a worker thread's own identity, captured when the
// worker starts.
type threadCreds struct {
	own       identity
	permitted uint64
	inherit   uint64
	canSwitch bool // CAP_SETUID and CAP_SETGID: the thread may take another identity
}

// supervisorUserNS names the supervisor's user namespace
// ("user:[4026531837]"), to tell targets whose capabilities mean nothing
// here: those of another namespace. It is read on first use, not at
// start-up: most programs that import the package never broker a file.
var supervisorUserNS = sync.OnceValue(func() string {
	ns, _ := readlink("/proc/self/ns/user")
	return ns
})

const (
	capSetgid = 6
	capSetuid = 7
)

func currentCreds() *threadCreds {
	tc := &threadCreds{}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err == nil {
		tc.own.caps = uint64(data[0].Effective) | uint64(data[1].Effective)<<32
		tc.permitted = uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
		tc.inherit = uint64(data[0].Inheritable) | uint64(data[1].Inheritable)<<32
	}
	tc.own.fsuid = uint32(os.Geteuid())
	tc.own.fsgid = uint32(os.Getegid())
	if gs, err := unix.Getgroups(); err == nil {
		for _, g := range gs {
			tc.own.groups = append(tc.own.groups, uint32(g))
		}
	}
	slices.Sort(tc.own.groups)
	tc.canSwitch = tc.own.caps&(1<<capSetuid) != 0 && tc.own.caps&(1<<capSetgid) != 0
	return tc
}

// errCreds reports that the worker could not take the target's identity;
// the broker then refuses rather than open with its own.
var errCreds = &placeError{errno: unix.EPERM, reason: "the supervisor cannot take the target's identity (it lacks CAP_SETUID, CAP_SETGID or CAP_SETPCAP): refusing to open with its own"}

func sortGroups(g []uint32) { slices.Sort(g) }

// openAs opens path from dirFD with how, as the target r would: with its
// identity and, when creating, its umask.
func (b *Broker) openAs(r *Request, t *threadInfo, dirFD int, path string, how *unix.OpenHow, creates bool) (int, error) {
	w := r.w
	if w == nil {
		return -1, errors.New("the broker runs only inside a Supervisor")
	}
	if w.creds == nil {
		w.creds = currentCreds()
	}
	umask := uint32(noUmask)
	if creates {
		// The umask is read when it matters, for every create: it
		// changes with no trace in the checks of the thread cache.
		st, err := readStatus(r.PID)
		if err == nil {
			err = r.Valid()
		}
		if err != nil {
			if r.Valid() != nil {
				return -1, ErrGone
			}
			return -1, &placeError{errno: unix.EPERM, reason: "read the target's umask: " + err.Error()}
		}
		umask = st.umask
	}
	id := &t.id
	switched := false
	if !id.equal(&w.creds.own) {
		if !w.creds.canSwitch {
			// An unprivileged supervisor opens as itself; it can grant no
			// more than it holds, which its rules limit anyway.
			if w.creds.own.fsuid == 0 || w.creds.own.caps != 0 {
				return -1, errCreds
			}
		} else {
			if err := w.creds.become(id); err != nil {
				w.creds.restore()
				return -1, errCreds
			}
			switched = true
		}
	}
	var fd int
	var err error
	if creates {
		fd, err = openCreating(dirFD, path, how, umask)
	} else {
		fd, err = openat2(dirFD, path, how)
	}
	if switched {
		if rerr := w.creds.restore(); rerr != nil {
			// A worker that cannot return to its own identity must not
			// serve again: it stops, and its thread ends with it.
			w.tainted = true
			if err == nil {
				unix.Close(fd)
			}
			return -1, &placeError{errno: unix.EPERM, reason: "the worker could not return to its own identity: " + rerr.Error()}
		}
	}
	return fd, err
}

func openat2(dirFD int, path string, how *unix.OpenHow) (int, error) {
	for {
		fd, err := unix.Openat2(dirFD, path, how)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// supervisorUmask is the supervisor's own umask, which the kernel
// applies to every file the broker creates; read on first use, like
// supervisorUserNS.
var supervisorUmask = sync.OnceValue(func() uint32 {
	st, err := readStatus(os.Getpid())
	if err != nil || st.umask == noUmask {
		return 0o022
	}
	return st.umask
})

// openCreating opens with O_CREAT or O_TMPFILE under the target's umask.
// The umask belongs to the whole supervisor process (all its threads
// share it), so the broker applies the target's to the mode itself; the
// kernel then also applies the supervisor's, and where that removed a
// permission the target's would have left, the broker learns whether it
// created the file (O_EXCL first) and, if so, sets the mode the target
// would have got. The file never has more permissions than that mode on
// the way.
//
// A directory with a default ACL makes the kernel ignore the umask; the
// broker applies the target's umask there too.
func openCreating(dirFD int, path string, how *unix.OpenHow, umask uint32) (int, error) {
	if umask == noUmask {
		umask = 0o022 // before Linux 4.7 /proc does not say
	}
	how.Mode &^= uint64(umask)
	want := uint32(how.Mode) & 0o777
	if want&supervisorUmask() == 0 {
		return openat2(dirFD, path, how) // the supervisor's umask changes nothing
	}
	tmpfile := how.Flags&oTmpfile != 0
	exclusive := how.Flags&unix.O_EXCL != 0
	err := error(unix.EAGAIN)
	for range 8 {
		try := *how
		if !tmpfile && !exclusive {
			try.Flags |= unix.O_EXCL // learn whether the file is new
		}
		var fd int
		fd, err = openat2(dirFD, path, &try)
		if err == unix.EEXIST && !tmpfile && !exclusive {
			// It exists: open it as O_CREAT would. If it is gone again
			// by then, go round.
			try.Flags &^= unix.O_CREAT | unix.O_EXCL
			try.Mode = 0
			fd, err = openat2(dirFD, path, &try)
			if err == unix.ENOENT {
				continue
			}
			return fd, err
		}
		if err != nil {
			return fd, err
		}
		// Created: give it the permission bits the target's umask
		// leaves, keeping the special bits the kernel decided on.
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			unix.Fchmod(fd, st.Mode&0o7000|want)
		}
		return fd, nil
	}
	return -1, err // a file that keeps appearing and vanishing
}

// become takes id on the calling thread: groups and ids first, while the
// thread still holds CAP_SETUID and CAP_SETGID, then the capabilities.
func (tc *threadCreds) become(id *identity) error {
	if err := setgroups(id.groups); err != nil {
		return err
	}
	if err := setfsgid(id.fsgid); err != nil {
		return err
	}
	if err := setfsuid(id.fsuid); err != nil {
		return err
	}
	return tc.setEffective(id.caps & tc.permitted)
}

// restore returns the thread to its own identity.
func (tc *threadCreds) restore() error {
	if err := tc.setEffective(tc.own.caps); err != nil {
		return err
	}
	if err := setfsuid(tc.own.fsuid); err != nil {
		return err
	}
	if err := setfsgid(tc.own.fsgid); err != nil {
		return err
	}
	if err := setgroups(tc.own.groups); err != nil {
		return err
	}
	// Changing fsuid from 0 clears the file capabilities from the
	// effective set, and changing it back does not restore all of them
	// (security/commoncap.c: cap_task_fix_setuid): set them again.
	return tc.setEffective(tc.own.caps)
}

func (tc *threadCreds) setEffective(eff uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(tc.permitted), Inheritable: uint32(tc.inherit)},
		{Effective: uint32(eff >> 32), Permitted: uint32(tc.permitted >> 32), Inheritable: uint32(tc.inherit >> 32)},
	}
	return unix.Capset(&hdr, &data[0])
}

// setfsuid and setfsgid report no errors; the new value is read back.
func setfsuid(uid uint32) error {
	unix.RawSyscall(unix.SYS_SETFSUID, uintptr(uid), 0, 0)
	r, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ^uintptr(0), 0, 0) // -1 only queries
	if uint32(r) != uid {
		return unix.EPERM
	}
	return nil
}

func setfsgid(gid uint32) error {
	unix.RawSyscall(unix.SYS_SETFSGID, uintptr(gid), 0, 0)
	r, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ^uintptr(0), 0, 0)
	if uint32(r) != gid {
		return unix.EPERM
	}
	return nil
}

// setgroups sets the calling thread's supplementary groups only.
func setgroups(groups []uint32) error {
	var p unsafe.Pointer
	if len(groups) > 0 {
		p = unsafe.Pointer(&groups[0])
	}
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(p), 0)
	if e != 0 {
		return e
	}
	return nil
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
