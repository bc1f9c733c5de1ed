package notify

import (
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// What the broker knows of a target thread: its file-system identity and
// its root. Reading them afresh for every request costs more than the
// rest of a brokered open (/proc/TID/status alone takes microseconds to
// generate), so they are kept per thread and checked on every request
// with two cheap questions the kernel answers without formatting text:
// PIDFD_GET_INFO on a pidfd of the thread (Linux 6.13) gives its uids and
// gids and fails once the thread has gone, so a reused thread id is
// never mistaken for it; capget(tid) gives its capability sets. When
// either answer changed, everything is read again.
//
// What the check does not see, documented in Broker:
//   - supplementary groups changed with setgroups(2) alone, with every
//     uid, gid and capability unchanged;
//   - a root changed with chroot(2) by a thread the broker has served.
//
// A change of user namespace changes the capabilities the thread holds
// (a new namespace grants the full set), which the capability check
// sees, except for a thread that held the full set already.

// threadInfo is the cached knowledge of one target thread.
type threadInfo struct {
	tid   int
	pidfd int
	refs  atomic.Int32 // users, plus one while cached
	check threadCheck
	id    identity
	roots *rootSet
}

// threadCheck holds the answers that must not change for threadInfo to
// stay valid.
type threadCheck struct {
	uids           [8]uint32 // ruid rgid euid egid suid sgid fsuid fsgid
	eff, permitted uint64
}

func (t *threadInfo) release() {
	if t.refs.Add(-1) == 0 && t.pidfd >= 0 {
		unix.Close(t.pidfd)
	}
}

// threadCache maps thread ids to threadInfo.
type threadCache struct {
	mu sync.Mutex
	m  map[int]*threadInfo
	// noPidfd is set when the kernel cannot give pidfds of threads or
	// their credentials (before Linux 6.13): nothing is cached then.
	noPidfd atomic.Bool
}

// maxThreads bounds the cache; past it, entries of threads that have
// gone are dropped, then arbitrary ones.
const maxThreads = 4096

// pidfdThread is PIDFD_THREAD (Linux 6.9): a pidfd for a thread rather
// than a thread group leader.
const pidfdThread = unix.PIDFD_THREAD

// get returns the thread's info, checked or read afresh, with a reference
// the caller releases.
func (c *threadCache) get(b *Broker, r *Request) (*threadInfo, error) {
	if !c.noPidfd.Load() {
		c.mu.Lock()
		t := c.m[r.PID]
		if t != nil {
			t.refs.Add(1)
		}
		c.mu.Unlock()
		if t != nil {
			if chk, ok := checkThread(t.pidfd, r.PID); ok && chk == t.check {
				return t, nil
			}
			c.drop(t)
			t.release()
		}
	}
	return c.load(b, r)
}

// checkThread asks the kernel for the thread's ids and capabilities.
func checkThread(pidfd, tid int) (threadCheck, bool) {
	var chk threadCheck
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_CREDS}
	if _, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(pidfd), unix.PIDFD_GET_INFO, uintptr(unsafe.Pointer(&info))); e != 0 {
		return chk, false
	}
	if info.Mask&unix.PIDFD_INFO_CREDS == 0 {
		return chk, false
	}
	chk.uids = [8]uint32{info.Ruid, info.Rgid, info.Euid, info.Egid, info.Suid, info.Sgid, info.Fsuid, info.Fsgid}
	eff, perm, err := capsOf(tid)
	if err != nil {
		return chk, false
	}
	chk.eff, chk.permitted = eff, perm
	return chk, true
}

func capsOf(tid int) (eff, permitted uint64, err error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3, Pid: int32(tid)}
	var data [2]unix.CapUserData
	if _, _, e := unix.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return 0, 0, e
	}
	return uint64(data[0].Effective) | uint64(data[1].Effective)<<32,
		uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32, nil
}

func (c *threadCache) drop(t *threadInfo) {
	c.mu.Lock()
	if c.m[t.tid] == t {
		delete(c.m, t.tid)
		c.mu.Unlock()
		t.release() // the cache's own reference
		return
	}
	c.mu.Unlock()
}

// load reads everything about the thread and caches it when it can be
// checked later.
func (c *threadCache) load(b *Broker, r *Request) (*threadInfo, error) {
	t := &threadInfo{tid: r.PID, pidfd: -1}
	t.refs.Store(1)
	if !c.noPidfd.Load() {
		fd, err := unix.PidfdOpen(r.PID, pidfdThread)
		switch {
		case err == nil:
			t.pidfd = fd
		case err == unix.ESRCH:
			return nil, ErrGone
		default:
			c.noPidfd.Store(true) // EINVAL: no thread pidfds here
		}
	}
	tid := strconv.Itoa(r.PID)
	st, err := readStatus(r.PID)
	if err != nil {
		t.release()
		if r.Valid() != nil {
			return nil, ErrGone
		}
		return nil, &placeError{errno: unix.EPERM, reason: "read the target's credentials: " + err.Error()}
	}
	t.id = identity{fsuid: st.fsuid, fsgid: st.fsgid, groups: st.groups, caps: st.capEff}
	sortGroups(t.id.groups)
	if t.id.caps != 0 {
		// Capabilities held in another user namespace grant nothing
		// over files owned outside it; counting them here would.
		if ns, err := readlink("/proc/" + tid + "/ns/user"); err != nil || ns != supervisorUserNS() {
			t.id.caps = 0
		}
	}
	if t.roots, err = b.rootsOf(r, tid); err != nil {
		t.release()
		return nil, err
	}
	if t.pidfd >= 0 {
		chk, ok := checkThread(t.pidfd, r.PID)
		if !ok {
			c.noPidfd.Store(true)
		} else {
			t.check = chk
		}
	}
	// Everything above was found through the thread id: it is the
	// target's only if the notification is still valid now.
	if err := r.Valid(); err != nil {
		t.release()
		return nil, err
	}
	if t.pidfd >= 0 && !c.noPidfd.Load() {
		t.refs.Add(1) // the cache's reference
		c.mu.Lock()
		if c.m == nil {
			c.m = map[int]*threadInfo{}
		}
		if len(c.m) >= maxThreads {
			c.evictLocked()
		}
		if old := c.m[t.tid]; old != nil {
			defer old.release()
		}
		c.m[t.tid] = t
		c.mu.Unlock()
	}
	return t, nil
}

// evictLocked drops the entries of threads that have gone, or half the
// cache when all are alive.
func (c *threadCache) evictLocked() {
	n := 0
	for tid, t := range c.m {
		var info unix.PidfdInfo
		info.Mask = unix.PIDFD_INFO_CREDS
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(t.pidfd), unix.PIDFD_GET_INFO, uintptr(unsafe.Pointer(&info)))
		if e != 0 || n%2 == 0 && len(c.m) >= maxThreads {
			delete(c.m, tid)
			t.release()
		}
		n++
	}
}

// close drops every entry.
func (c *threadCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for tid, t := range c.m {
		delete(c.m, tid)
		t.release()
	}
}
