package notify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/policy"
)

// Broker opens files for targets under FileRules. Register its Handlers
// for the notified open, openat, openat2 and creat syscalls (on every
// architecture the policy allows: the names cover i386's too).
//
// For each request the broker reads the path once into its own memory
// and works only on that copy, so a target thread rewriting the buffer
// changes nothing. It places the path the way the kernel would for that
// thread (its root /proc/TID/root, its working directory /proc/TID/cwd,
// its dirfd /proc/TID/fd/N), finds the most specific rule, and opens the
// file itself with openat2 from the rule's root directory with
// RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS: the kernel then guarantees
// that neither "..", nor a symbolic link, nor a /proc magic link leads
// out of the root. The descriptor is installed in the target with the
// answer in one step (SECCOMP_ADDFD_FLAG_SEND).
//
// The open is made with the target's file-system identity (fsuid, fsgid,
// supplementary groups, effective capabilities) and umask, read from
// /proc/TID/status, on a worker thread that takes them for the call: a
// rule grants what the kernel would have let the target open, never
// more.
//
// What differs from the kernel, by design:
//   - a ".." that climbs above the rule's root is refused even when a
//     later component would come back in, and so is a symbolic link with
//     an absolute target (RESOLVE_BENEATH cannot tell where "/" is for
//     the target);
//   - FIFOs and devices are opened without waiting for the other end
//     (O_NONBLOCK for the open, cleared on the descriptor afterwards):
//     a FIFO with no writer opens at once, one with no reader fails with
//     ENXIO, and the broker's workers are never held by an open;
//   - files on procfs are refused, since their content depends on the
//     process that opens them (the broker, not the target).
//
// The broker governs opens only. A policy that lets the target rename,
// link or symlink freely lets it move files between rules (into a
// writable tree, out of a carved-out one); deny or broker those syscalls
// too when rules nest.
type Broker struct {
	rules []*compiledRule
	errno unix.Errno
	self  rootKey // this process's root

	mu      sync.Mutex
	roots   map[rootKey]*rootSet
	threads threadCache
	// procDev maps st_dev to whether the file system is procfs. It is
	// replaced, never changed, so that the lookup on every open takes
	// no lock and allocates nothing; file systems are few.
	procDev atomic.Pointer[map[uint64]bool]
}

// isProc reports whether fd, on device dev, is on a procfs. A device
// number names one mounted file system, whose type never changes, so
// the answer is kept per device.
func (b *Broker) isProc(fd int, dev uint64) (bool, error) {
	if m := b.procDev.Load(); m != nil {
		if v, ok := (*m)[dev]; ok {
			return v, nil
		}
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return false, err
	}
	proc := sfs.Type == unix.PROC_SUPER_MAGIC
	for {
		old := b.procDev.Load()
		next := map[uint64]bool{dev: proc}
		if old != nil {
			for k, v := range *old {
				next[k] = v
			}
		}
		if b.procDev.CompareAndSwap(old, &next) {
			return proc, nil
		}
	}
}

// rawSyscall makes a system call that never blocks without telling the
// Go scheduler, which saves its bookkeeping on the path of every
// brokered open.
func rawSyscall(trap, a1, a2, a3 uintptr) unix.Errno {
	_, _, e := unix.RawSyscall(trap, a1, a2, a3)
	return e
}

// NewBroker checks rules and returns a broker. Close releases the root
// directories it opens.
func NewBroker(rules FileRules) (*Broker, error) {
	if err := rules.Check(); err != nil {
		return nil, err
	}
	self, err := statRoot("/")
	if err != nil {
		return nil, fmt.Errorf("identify the supervisor's root: %w", err)
	}
	return &Broker{rules: compileRules(rules.Rules), errno: rules.Errno(), self: self, roots: map[rootKey]*rootSet{}}, nil
}

// Handlers returns the handlers of the file-opening syscalls.
func (b *Broker) Handlers() Handlers {
	return Handlers{
		"open":    b.handleOpen,
		"openat":  b.handleOpen,
		"openat2": b.handleOpen,
		"creat":   b.handleOpen,
	}
}

// BrokerSyscalls are the names the broker serves: a policy that brokers
// files notifies these (on every architecture it accepts).
var BrokerSyscalls = policy.FileSyscalls

// Close releases the root directories opened for targets.
func (b *Broker) Close() error {
	b.threads.close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, rs := range b.roots {
		rs.close()
		delete(b.roots, k)
	}
	return nil
}

// rootKey identifies a root directory: its mount and inode.
type rootKey struct {
	mnt, ino uint64
	dev      uint64
}

func statRoot(p string) (rootKey, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, p, 0, unix.STATX_INO|unix.STATX_MNT_ID, &st); err != nil {
		return rootKey{}, err
	}
	return rootKey{mnt: st.Mnt_id, ino: st.Ino, dev: uint64(st.Dev_major)<<32 | uint64(st.Dev_minor)}, nil
}

// rootSet holds, for one target root, the directory of each rule.
type rootSet struct {
	once sync.Once
	root int   // the target's root directory (O_PATH)
	fds  []int // per rule, -1 where the root does not exist
	// prefix is the target root's path as the supervisor sees it, for
	// turning /proc/TID/cwd links into the target's view.
	prefix string
}

func (rs *rootSet) close() {
	if rs.root >= 0 {
		unix.Close(rs.root)
	}
	for _, fd := range rs.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// openReq is the part of a request that decides the open.
type openReq struct {
	dirfd   int32
	path    string
	flags   uint64
	mode    uint64
	resolve uint64
}

// handleOpen serves open, openat, openat2 and creat.
func (b *Broker) handleOpen(ctx context.Context, r *Request) Response {
	req, resp, ok := b.decode(r)
	if !ok {
		return resp
	}
	resp = b.open(r, req)
	if (resp.Violation || resp.Notice) && resp.Path == "" {
		resp.Path = strings.Clone(req.path) // req.path lives in the worker's buffer
	}
	return resp
}

// decode reads the arguments of the four syscalls into an openReq.
func (b *Broker) decode(r *Request) (openReq, Response, bool) {
	req := openReq{dirfd: unix.AT_FDCWD}
	var pathArg uint64
	legacy := true
	switch r.Syscall {
	case "open":
		pathArg, req.flags, req.mode = r.Arg(0), uint64(uint32(r.Arg(1))), r.Arg(2)
	case "creat":
		pathArg, req.flags, req.mode = r.Arg(0), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, r.Arg(1)
	case "openat":
		req.dirfd, pathArg, req.flags, req.mode = r.IntArg(0), r.Arg(1), uint64(uint32(r.Arg(2))), r.Arg(3)
	case "openat2":
		legacy = false
		req.dirfd, pathArg = r.IntArg(0), r.Arg(1)
		how, errno := readOpenHow(r, r.Arg(2), r.Arg(3))
		if errno != 0 {
			return req, failRead(r, errno, "read struct open_how"), false
		}
		req.flags, req.mode, req.resolve = how.Flags, how.Mode, how.Resolve
	default:
		return req, Deny(unix.ENOSYS, "the file broker does not serve "+r.Syscall), false
	}
	if legacy {
		// What build_open_how does for the old calls (fs/open.c): unknown
		// flag bits are dropped, the mode only counts when creating, and
		// O_PATH keeps only the flags that mean something with it.
		req.flags &= validOpenFlags
		if req.flags&(unix.O_CREAT|oTmpfile) != 0 {
			req.mode &= 0o7777
		} else {
			req.mode = 0
		}
		if req.flags&unix.O_PATH != 0 {
			req.flags &= oPathFlags
		}
	}
	p, err := r.readCString(pathArg, PathMax)
	if err != nil {
		e := ErrnoOf(err)
		if e == 0 {
			return req, Fail(unix.ENOSYS), false // gone: nobody reads the answer
		}
		return req, failRead(r, e, "read the path: "+err.Error()), false
	}
	if len(p) == 0 {
		return req, Fail(unix.ENOENT), false // fs/namei.c: getname_flags refuses ""
	}
	// The path stays in the worker's buffer, read once: nothing reads
	// the target's memory again for this request.
	req.path = unsafe.String(&p[0], len(p))
	return req, Response{}, true
}

// failRead answers a request whose memory could not be read with the
// kernel's errno, and reports it (not as a violation: a bad pointer is a
// bug as often as an attack).
func failRead(r *Request, e unix.Errno, reason string) Response {
	resp := Fail(e)
	resp.Notice = true
	resp.Reason = reason
	return resp
}

// openHow is struct open_how (include/uapi/linux/openat2.h).
type openHow struct {
	Flags, Mode, Resolve uint64
}

const openHowSize0 = 24 // OPEN_HOW_SIZE_VER0

// readOpenHow reads the target's struct open_how the way
// copy_struct_from_user does for openat2 (fs/open.c: do_sys_openat2):
// smaller than version 0 is EINVAL, larger than a page E2BIG, and bytes
// beyond what this kernel knows must be zero (E2BIG).
func readOpenHow(r *Request, addr, size uint64) (openHow, unix.Errno) {
	if size < openHowSize0 {
		return openHow{}, unix.EINVAL
	}
	if size > uint64(pageSize) {
		return openHow{}, unix.E2BIG
	}
	buf := make([]byte, size)
	if err := r.Read(addr, buf); err != nil {
		if e := ErrnoOf(err); e != 0 {
			return openHow{}, e
		}
		return openHow{}, unix.ENOSYS
	}
	for _, c := range buf[openHowSize0:] {
		if c != 0 {
			return openHow{}, unix.E2BIG
		}
	}
	return *(*openHow)(unsafe.Pointer(&buf[0])), 0
}

// Open flags as the kernel knows them (include/linux/fcntl.h).
var (
	// oLargefile is the kernel's O_LARGEFILE: Go's headers give 0 on
	// 64-bit machines, where the kernel forces it, yet 32-bit targets
	// pass it.
	oLargefile = func() uint64 {
		if unix.O_LARGEFILE != 0 {
			return unix.O_LARGEFILE
		}
		if runtime.GOARCH == "amd64" || runtime.GOARCH == "386" {
			return 0o100000
		}
		return 0
	}()
	oTmpfile = uint64(unix.O_TMPFILE) &^ unix.O_DIRECTORY // __O_TMPFILE
	// validOpenFlags is VALID_OPEN_FLAGS.
	validOpenFlags = uint64(unix.O_ACCMODE|unix.O_CREAT|unix.O_EXCL|unix.O_NOCTTY|unix.O_TRUNC|
		unix.O_APPEND|unix.O_NONBLOCK|unix.O_DSYNC|unix.O_ASYNC|unix.O_DIRECT|unix.O_DIRECTORY|
		unix.O_NOFOLLOW|unix.O_NOATIME|unix.O_CLOEXEC|unix.O_SYNC|unix.O_PATH) | oTmpfile | oLargefile
	// oPathFlags is O_PATH_FLAGS.
	oPathFlags = uint64(unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_PATH | unix.O_CLOEXEC)
	// resolveCached is RESOLVE_CACHED (Linux 5.12,
	// include/uapi/linux/openat2.h), missing from Go's headers.
	resolveCached = 0x20
	// resolveKnown are the RESOLVE_* flags of Linux 5.12.
	resolveKnown = uint64(unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS |
		unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT | resolveCached)
)

// needs are the permissions an open asks for.
type needs struct {
	read, write, create, dir bool
}

func needsOf(flags uint64) needs {
	var n needs
	if flags&unix.O_PATH != 0 {
		n.read = true
	} else {
		switch flags & unix.O_ACCMODE {
		case unix.O_RDONLY:
			n.read = true
		case unix.O_WRONLY:
			n.write = true
		default: // O_RDWR, and 3, which checks both permissions
			n.read, n.write = true, true
		}
		if flags&unix.O_TRUNC != 0 {
			n.write = true
		}
	}
	if flags&oTmpfile != 0 {
		n.create, n.write = true, true
	} else if flags&unix.O_CREAT != 0 {
		n.create = true
	}
	if flags&unix.O_DIRECTORY != 0 && flags&oTmpfile == 0 {
		n.dir = true
	}
	return n
}

// missing names the first permission the rule lacks, "" if none.
func (n needs) missing(r *compiledRule) string {
	switch {
	case n.read && !r.Read:
		return "read"
	case n.write && !r.Write:
		return "write"
	case n.dir && !r.Dir:
		return "dir"
	}
	return ""
}

// open places and opens the file of req for r.
func (b *Broker) open(r *Request, req openReq) Response {
	if req.resolve&^resolveKnown != 0 {
		return Fail(unix.EINVAL)
	}
	t, err := b.threads.get(b, r)
	if err != nil {
		return b.failPlace(r, err)
	}
	defer t.release()
	rs := t.roots

	// Where the path starts: the target's root for an absolute path,
	// otherwise its working directory or dirfd, placed in the target's
	// view.
	var start []string
	var rest string
	if strings.HasPrefix(req.path, "/") {
		start, rest = lexicalStart(nil, req.path)
	} else {
		base, resp, ok := b.baseDir(r, strconv.Itoa(r.PID), req.dirfd, rs)
		if !ok {
			return resp
		}
		start, rest = lexicalStart(base, req.path)
	}

	rule, sub := match(b.rules, start, rest)
	if rule == nil {
		return b.deny(nil, "no file rule covers the path")
	}
	if rule.Deny {
		return b.deny(rule, "a deny rule covers the path")
	}
	n := needsOf(req.flags)
	if m := n.missing(rule); m != "" {
		return b.deny(rule, fmt.Sprintf("the rule for %s does not allow %s", rule.Root, m))
	}
	idx := ruleIndex(b.rules, rule)
	rootFD := rs.fds[idx]
	if rootFD < 0 {
		return Fail(unix.ENOENT) // the root does not exist for this target
	}

	// The target's own RESOLVE_* flags restrict further; BENEATH and
	// IN_ROOT are relative to its dirfd, which lies beneath the rule's
	// root, so honouring them exactly needs that directory as the start.
	resolve := uint64(unix.RESOLVE_BENEATH|unix.RESOLVE_NO_MAGICLINKS) |
		req.resolve&uint64(unix.RESOLVE_NO_XDEV|unix.RESOLVE_NO_SYMLINKS|resolveCached)
	if rule.NoSymlinks {
		resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	dirFD, openPath := rootFD, sub
	if req.resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0 {
		if req.resolve&unix.RESOLVE_BENEATH != 0 && req.resolve&unix.RESOLVE_IN_ROOT != 0 {
			return Fail(unix.EINVAL)
		}
		fd, p, resp, ok := b.targetScoped(r, strconv.Itoa(r.PID), req, rootFD, rule, rs)
		if !ok {
			return resp
		}
		defer unix.Close(fd)
		dirFD, openPath = fd, p
		if req.resolve&unix.RESOLVE_IN_ROOT != 0 {
			resolve = resolve&^unix.RESOLVE_BENEATH | unix.RESOLVE_IN_ROOT
		}
	}

	flags := req.flags
	if n.create && !rule.Create {
		if flags&(unix.O_EXCL|oTmpfile) != 0 {
			return b.deny(rule, fmt.Sprintf("the rule for %s does not allow create", rule.Root))
		}
		flags &^= unix.O_CREAT // open what exists; refuse below if nothing does
		req.mode = 0
	}
	cloexec := flags&unix.O_CLOEXEC != 0
	nonblock := flags&unix.O_NONBLOCK != 0
	how := unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY,
		Mode:    req.mode,
		Resolve: resolve,
	}
	if flags&unix.O_PATH != 0 {
		how.Flags = flags | unix.O_CLOEXEC // O_PATH takes no other flags
	}
	creates := flags&(unix.O_CREAT|oTmpfile) != 0
	fd, err := b.openAs(r, t, dirFD, openPath, &how, creates)
	if err != nil {
		e, _ := err.(unix.Errno)
		switch {
		case e == unix.EXDEV && req.resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0:
			return Fail(e) // the target's own scope refused it
		case e == unix.EXDEV:
			return b.deny(rule, "the path leaves the rule's root (\"..\" or an absolute symbolic link)")
		case e == unix.ELOOP && flags&unix.O_NOFOLLOW == 0:
			switch {
			case req.resolve&unix.RESOLVE_NO_SYMLINKS != 0:
				return Fail(unix.ELOOP) // the target asked for it
			case rule.NoSymlinks:
				return b.deny(rule, fmt.Sprintf("a symbolic link on the way, and the rule for %s says nosymlinks", rule.Root))
			}
			return b.deny(rule, "a magic link (/proc/PID/fd, /proc/PID/root...) on the way")
		case e == unix.ENOENT && n.create && !rule.Create:
			return b.deny(rule, fmt.Sprintf("the rule for %s does not allow create", rule.Root))
		case e != 0:
			return Fail(e)
		}
		return b.failPlace(r, err)
	}
	if resp, ok := b.checkOpened(fd, rule, n, r, rs, flags); !ok {
		unix.Close(fd)
		return resp
	}
	if !nonblock && flags&unix.O_PATH == 0 {
		// The broker asked for O_NONBLOCK; the target did not. F_SETFL
		// sets O_APPEND, O_ASYNC, O_DIRECT, O_NOATIME and O_NONBLOCK from
		// its argument (fs/fcntl.c: SETFL_MASK): the target's own flags
		// give the first four.
		rawSyscall(unix.SYS_FCNTL, uintptr(fd), unix.F_SETFL, uintptr(flags&^unix.O_NONBLOCK))
	}
	return InjectFD(fd, cloexec)
}

// checkOpened refuses what the path could not show before the open: a
// directory under a rule without Dir, a procfs file, and, when rules
// nest, a file that a symbolic link carried into a more specific rule.
func (b *Broker) checkOpened(fd int, rule *compiledRule, n needs, r *Request, rs *rootSet, flags uint64) (Response, bool) {
	var st unix.Stat_t
	if e := rawSyscall(unix.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(&st)), 0); e != 0 {
		return Fail(unix.EIO), false
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR && !rule.Dir {
		return b.deny(rule, fmt.Sprintf("the path is a directory and the rule for %s does not allow dir", rule.Root)), false
	}
	proc, err := b.isProc(fd, st.Dev)
	if err != nil {
		return Fail(unix.EIO), false
	}
	if proc {
		return b.deny(rule, "procfs files describe the process that opens them and are never brokered"), false
	}
	if !rule.nested {
		return Response{}, true
	}
	// Where did the open land? The descriptor's path, in the target's
	// view, must fall under the same rule.
	link, err := readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return Fail(unix.EIO), false
	}
	inTarget, ok := strings.CutPrefix(link, rs.prefix)
	if rs.prefix == "/" {
		inTarget, ok = link, true
	}
	if !ok || !strings.HasPrefix(inTarget, "/") {
		return b.deny(rule, "the file is outside the target's root"), false
	}
	landed, _ := match(b.rules, splitPath(inTarget), "")
	if landed != rule {
		where := "no rule"
		if landed != nil {
			where = "the rule for " + landed.Root
		}
		return b.deny(rule, fmt.Sprintf("a symbolic link led from the rule for %s into %s", rule.Root, where)), false
	}
	return Response{}, true
}

func ruleIndex(rules []*compiledRule, r *compiledRule) int {
	for i, x := range rules {
		if x == r {
			return i
		}
	}
	return -1
}

// deny refuses with the rules' errno.
func (b *Broker) deny(rule *compiledRule, reason string) Response {
	resp := Deny(b.errno, reason)
	if rule != nil {
		resp.Rule = rule.Source
		if resp.Rule == "" {
			resp.Rule = rule.String()
		}
	}
	return resp
}

// placeError is a failure to find where a path starts: errno is what
// the target gets (0 for a refusal by the rules).
type placeError struct {
	errno  unix.Errno
	reason string
}

func (e *placeError) Error() string { return e.reason }

// failPlace answers a request whose starting point could not be found.
func (b *Broker) failPlace(r *Request, err error) Response {
	if errors.Is(err, ErrGone) {
		return Fail(unix.ENOSYS)
	}
	var pe *placeError
	if errors.As(err, &pe) {
		if pe.errno == 0 {
			return b.deny(nil, pe.reason)
		}
		resp := Fail(pe.errno)
		resp.Notice, resp.Reason = true, pe.reason
		return resp
	}
	resp := Fail(unix.EIO)
	resp.Notice, resp.Reason = true, err.Error()
	return resp
}

// rootsOf returns the rule directories for the target's root, opening
// them the first time this root is met.
func (b *Broker) rootsOf(r *Request, tid string) (*rootSet, error) {
	key, err := statRoot("/proc/" + tid + "/root")
	if err != nil {
		if r.Valid() != nil {
			return nil, ErrGone
		}
		return nil, &placeError{errno: unix.EPERM, reason: "cannot see the target's root: " + err.Error()}
	}
	b.mu.Lock()
	rs := b.roots[key]
	if rs == nil {
		rs = &rootSet{root: -1}
		b.roots[key] = rs
	}
	b.mu.Unlock()
	var openErr error
	rs.once.Do(func() { openErr = b.openRoots(r, tid, key, rs) })
	if openErr != nil {
		b.mu.Lock()
		if b.roots[key] == rs {
			delete(b.roots, key)
		}
		b.mu.Unlock()
		return nil, openErr
	}
	if rs.root < 0 {
		return nil, &placeError{errno: unix.EIO, reason: "the rule directories of this root could not be opened"}
	}
	return rs, nil
}

// openRoots opens the rule roots inside the target's root. A target
// sharing the supervisor's root uses the paths as they are; another
// (a container, a chroot) has them resolved inside its root with
// RESOLVE_IN_ROOT, so that even symbolic links in a root's own path are
// read as the target would read them.
func (b *Broker) openRoots(r *Request, tid string, key rootKey, rs *rootSet) error {
	rootPath := "/"
	if key != b.self {
		rootPath = "/proc/" + tid + "/root"
	}
	root, err := unix.Open(rootPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &placeError{errno: unix.EPERM, reason: "open the target's root: " + err.Error()}
	}
	prefix := "/"
	if key != b.self {
		if prefix, err = readlink(rootPath); err != nil {
			unix.Close(root)
			return &placeError{errno: unix.EPERM, reason: "read the target's root: " + err.Error()}
		}
	}
	// The root was found through the target's pid: make sure it is the
	// target's before keeping it.
	if err := r.Valid(); err != nil {
		unix.Close(root)
		return err
	}
	if k, err := fstatKey(root); err != nil || k != key {
		unix.Close(root)
		return &placeError{errno: unix.EAGAIN, reason: "the target's root changed while it was opened"}
	}
	rs.prefix = prefix
	rs.fds = make([]int, len(b.rules))
	for i, rule := range b.rules {
		how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
		fd, err := unix.Openat2(root, "."+rule.Root, &how)
		if err != nil {
			fd = -1
		}
		rs.fds[i] = fd
	}
	rs.root = root
	return nil
}

func fstatKey(fd int) (rootKey, error) {
	var st unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_INO|unix.STATX_MNT_ID, &st); err != nil {
		return rootKey{}, err
	}
	return rootKey{mnt: st.Mnt_id, ino: st.Ino, dev: uint64(st.Dev_major)<<32 | uint64(st.Dev_minor)}, nil
}

// baseDir returns the physical directory a relative path starts from,
// as components in the target's view: its working directory or the
// directory its dirfd names.
func (b *Broker) baseDir(r *Request, tid string, dirfd int32, rs *rootSet) ([]string, Response, bool) {
	link := "/proc/" + tid + "/cwd"
	if dirfd != unix.AT_FDCWD {
		if dirfd < 0 {
			return nil, Fail(unix.EBADF), false
		}
		link = "/proc/" + tid + "/fd/" + strconv.Itoa(int(dirfd))
		var st unix.Stat_t
		if err := unix.Stat(link, &st); err != nil {
			if r.Valid() != nil {
				return nil, Fail(unix.ENOSYS), false
			}
			if err == unix.ENOENT {
				return nil, Fail(unix.EBADF), false
			}
			return nil, b.failPlace(r, &placeError{errno: unix.EPERM, reason: "look at the target's dirfd: " + err.Error()}), false
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, Fail(unix.ENOTDIR), false
		}
	}
	p, err := readlink(link)
	if err == nil {
		err = r.Valid()
	}
	if err != nil {
		if errors.Is(err, ErrGone) || r.Valid() != nil {
			return nil, Fail(unix.ENOSYS), false
		}
		return nil, b.failPlace(r, &placeError{errno: unix.EPERM, reason: "read the target's directory: " + err.Error()}), false
	}
	if strings.HasSuffix(p, " (deleted)") {
		return nil, Fail(unix.ENOENT), false
	}
	if rs.prefix != "/" {
		rel, ok := strings.CutPrefix(p, rs.prefix)
		if !ok || (rel != "" && !strings.HasPrefix(rel, "/")) {
			return nil, b.deny(nil, "the directory the path starts from is outside the target's root"), false
		}
		p = rel
	}
	if !strings.HasPrefix(p, "/") && p != "" {
		return nil, b.deny(nil, "the directory the path starts from is not reachable ("+p+")"), false
	}
	return splitPath(p), Response{}, true
}

// targetScoped opens the target's dirfd directory beneath the rule's
// root, for RESOLVE_BENEATH and RESOLVE_IN_ROOT requests, and returns it
// with the path relative to it.
func (b *Broker) targetScoped(r *Request, tid string, req openReq, rootFD int, rule *compiledRule, rs *rootSet) (int, string, Response, bool) {
	if strings.HasPrefix(req.path, "/") && req.resolve&unix.RESOLVE_BENEATH != 0 {
		return -1, "", Fail(unix.EXDEV), false // fs/namei.c: absolute paths leave the dirfd
	}
	base, resp, ok := b.baseDir(r, tid, req.dirfd, rs)
	if !ok {
		return -1, "", resp, false
	}
	if !hasPrefix(base, rule.comps) {
		return -1, "", b.deny(rule, "the dirfd of a scoped openat2 lies outside the rule's root"), false
	}
	sub := strings.Join(base[len(rule.comps):], "/")
	if sub == "" {
		sub = "."
	}
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_SYMLINKS}
	fd, err := unix.Openat2(rootFD, sub, &how)
	if err != nil {
		return -1, "", b.deny(rule, "the dirfd of a scoped openat2 cannot be reached from the rule's root"), false
	}
	p := strings.TrimLeft(req.path, "/")
	if p == "" {
		p = "."
	}
	return fd, p, Response{}, true
}
