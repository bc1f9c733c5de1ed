package notify

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/seccomp"
)

// The structures and ioctls of the user-notification interface, from
// include/uapi/linux/seccomp.h:
//
//	struct seccomp_notif      { __u64 id; __u32 pid; __u32 flags; struct seccomp_data data; };
//	struct seccomp_notif_resp { __u64 id; __s64 val; __s32 error; __u32 flags; };
//	struct seccomp_notif_addfd { __u64 id; __u32 flags; __u32 srcfd; __u32 newfd; __u32 newfd_flags; };
//
//	SECCOMP_IOCTL_NOTIF_RECV      SECCOMP_IOWR(0, struct seccomp_notif)
//	SECCOMP_IOCTL_NOTIF_SEND      SECCOMP_IOWR(1, struct seccomp_notif_resp)
//	SECCOMP_IOCTL_NOTIF_ID_VALID  SECCOMP_IOW(2, __u64)
//	SECCOMP_IOCTL_NOTIF_ADDFD     SECCOMP_IOW(3, struct seccomp_notif_addfd)
//	SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)          (Linux 6.6)
//
// with SECCOMP_IOC_MAGIC '!'. The numbers below are those of
// golang.org/x/sys/unix, which are generated from the same header.
const (
	ioctlRecv     = unix.SECCOMP_IOCTL_NOTIF_RECV
	ioctlSend     = unix.SECCOMP_IOCTL_NOTIF_SEND
	ioctlIDValid  = unix.SECCOMP_IOCTL_NOTIF_ID_VALID
	ioctlAddFD    = unix.SECCOMP_IOCTL_NOTIF_ADDFD
	ioctlSetFlags = unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS

	// flagContinue is SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel runs
	// the syscall as the target made it.
	flagContinue = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	// addFDSend is SECCOMP_ADDFD_FLAG_SEND: install the descriptor and
	// answer the notification with its number in one step.
	addFDSend = unix.SECCOMP_ADDFD_FLAG_SEND
	// syncWakeUp is SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP.
	syncWakeUp = unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
)

// notif is struct seccomp_notif as this package knows it (80 bytes). The
// kernel's may be longer (a newer seccomp_data); only this prefix is read.
type notif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	Data  bpf.SeccompData
}

// notifResp is struct seccomp_notif_resp (24 bytes).
type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// notifAddFD is struct seccomp_notif_addfd (24 bytes).
type notifAddFD struct {
	ID         uint64
	Flags      uint32
	SrcFD      uint32
	NewFD      uint32
	NewFDFlags uint32
}

// Sizes of the structures as the running kernel has them, read once with
// SECCOMP_GET_NOTIF_SIZES. The kernel refuses a RECV buffer that is not
// zeroed over its own sizeof(struct seccomp_notif) (kernel/seccomp.c:
// seccomp_notify_recv, check_zeroed_user), so buffers are sized from
// these, never smaller than this package's structs.
var (
	sizesOnce sync.Once
	sizes     seccomp.NotifSizes
	sizesErr  error
)

func kernelSizes() (seccomp.NotifSizes, error) {
	sizesOnce.Do(func() {
		sizes, sizesErr = seccomp.ProbeNotifSizes()
		if sizesErr == nil {
			sizes.Notif = max(sizes.Notif, uint16(unsafe.Sizeof(notif{})))
			sizes.NotifResp = max(sizes.NotifResp, uint16(unsafe.Sizeof(notifResp{})))
		}
	})
	return sizes, sizesErr
}

// ioctlPtr issues ioctl(fd, req, p), retrying on EINTR: the listener's
// ioctls take the filter's notify_lock with mutex_lock_interruptible,
// and a signal to the calling thread (the Go runtime's preemption
// signal, say) makes them fail with EINTR before they did anything.
func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) (uintptr, unix.Errno) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
		if e != unix.EINTR {
			return r, e
		}
	}
}

// recvBuf is a receive buffer of the kernel's size, 8-byte aligned.
type recvBuf struct {
	words []uint64
}

func newRecvBuf(size uint16) *recvBuf {
	return &recvBuf{words: make([]uint64, (int(size)+7)/8)}
}

// recv zeroes the buffer and receives one notification
// (SECCOMP_IOCTL_NOTIF_RECV). It blocks until a notification is
// pending, so callers poll first.
func (b *recvBuf) recv(fd int) (notif, unix.Errno) {
	clear(b.words)
	_, e := ioctlPtr(fd, ioctlRecv, unsafe.Pointer(&b.words[0]))
	if e != 0 {
		return notif{}, e
	}
	return *(*notif)(unsafe.Pointer(&b.words[0])), 0
}

// sendResp answers a notification (SECCOMP_IOCTL_NOTIF_SEND) through a
// zeroed buffer of the kernel's size.
func sendResp(fd int, r notifResp, size uint16) unix.Errno {
	var buf [8]uint64 // 64 bytes: room for a grown struct seccomp_notif_resp
	var p unsafe.Pointer
	if int(size) <= len(buf)*8 {
		p = unsafe.Pointer(&buf[0])
	} else {
		p = unsafe.Pointer(&make([]uint64, (int(size)+7)/8)[0])
	}
	*(*notifResp)(p) = r
	_, e := ioctlPtr(fd, ioctlSend, p)
	return e
}

// idValid asks whether notification id is still pending
// (SECCOMP_IOCTL_NOTIF_ID_VALID): the target has not been killed nor
// interrupted since it was received. Because a pid is only reused after
// the process has gone, a valid id proves that whatever was read from
// /proc/PID or the target's memory before the check was the target's.
func idValid(fd int, id uint64) unix.Errno {
	// It takes a mutex and looks up a list: no need to tell the Go
	// scheduler about it.
	for {
		_, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), ioctlIDValid, uintptr(unsafe.Pointer(&id)))
		if e != unix.EINTR {
			return e
		}
	}
}

// addFD installs srcfd in the target and, with send, answers the
// notification with the new number (SECCOMP_IOCTL_NOTIF_ADDFD).
func addFD(fd int, a notifAddFD) (int, unix.Errno) {
	r, e := ioctlPtr(fd, ioctlAddFD, unsafe.Pointer(&a))
	return int(r), e
}

// setFlags sets SECCOMP_USER_NOTIF_FD_* flags on the listener; the
// argument is passed by value (kernel/seccomp.c: seccomp_notify_set_flags).
func setFlags(fd int, flags uint64) unix.Errno {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), ioctlSetFlags, uintptr(flags))
		if e != unix.EINTR {
			return e
		}
	}
}

// recvWakesOnHangUp tells whether a SECCOMP_IOCTL_NOTIF_RECV waiting
// for a notification returns once no process uses the filter any more.
// Linux 6.11 made it so (kernel/seccomp.c: recv_wait_event checks
// filter->users, and recv_wake_function accepts the EPOLLHUP wake-up of
// __seccomp_filter_orphan); before, only poll(2) saw the hang-up, and a
// supervisor waiting in RECV would wait forever for targets that have
// all gone. There, workers poll before they receive.
func recvWakesOnHangUp() bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	major, minor, ok := kernelRelease(unix.ByteSliceToString(u.Release[:]))
	return ok && (major > 6 || major == 6 && minor >= 11)
}

// kernelRelease reads the version at the start of a kernel release
// string such as "6.18.4-amd64".
func kernelRelease(rel string) (major, minor int, ok bool) {
	num := func() (int, bool) {
		n, digits := 0, 0
		for digits < len(rel) && rel[digits] >= '0' && rel[digits] <= '9' && digits < 6 {
			n = n*10 + int(rel[digits]-'0')
			digits++
		}
		rel = rel[digits:]
		return n, digits > 0
	}
	if major, ok = num(); !ok || len(rel) == 0 || rel[0] != '.' {
		return 0, 0, false
	}
	rel = rel[1:]
	if minor, ok = num(); !ok {
		return 0, 0, false
	}
	return major, minor, true
}

// ErrNotListener is returned for a descriptor that is not a seccomp
// notification listener.
var ErrNotListener = errors.New("not a seccomp notification listener")

// checkListener tells a listener from any other descriptor: its
// anonymous inode is named "seccomp notify" (kernel/seccomp.c:
// init_listener, anon_inode_getfile("seccomp notify", ...)).
func checkListener(fd int) error {
	link, err := readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return fmt.Errorf("descriptor %d: %w", fd, err)
	}
	if link != "anon_inode:seccomp notify" {
		return fmt.Errorf("descriptor %d is %q: %w", fd, link, ErrNotListener)
	}
	return nil
}

// readlink reads a symbolic link without allocating more than needed.
func readlink(path string) (string, error) {
	var buf [256]byte
	for size := len(buf); ; size *= 2 {
		b := buf[:]
		if size > len(buf) {
			b = make([]byte, size)
		}
		n, err := unix.Readlink(path, b)
		if err != nil {
			return "", err
		}
		if n < len(b) {
			return string(b[:n]), nil
		}
		if size >= 1<<16 {
			return "", unix.ENAMETOOLONG
		}
	}
}
