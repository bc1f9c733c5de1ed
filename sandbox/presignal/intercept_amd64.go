package presignal

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"unsafe"

	"github.com/syscage/syscage/sandbox/initstage"
)

// pipeFD is the write end of the pipe the handlers write to.
var pipeFD int32

// In intercept_amd64.s: the handlers' addresses, as the kernel calls
// them (ABI0).
func handlerPC() uintptr
func restorerPC() uintptr

// kernelSigaction is struct sigaction as rt_sigaction(2) takes it on
// x86_64: include/linux/signal_types.h, with sa_restorer
// (arch/x86/include/uapi/asm/signal.h) and a 64-bit sa_mask.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// include/uapi/asm-generic/signal-defs.h; SA_RESTORER:
// arch/x86/include/uapi/asm/signal.h.
const (
	saRestorer = 0x04000000
	saOnstack  = 0x08000000
	saRestart  = 0x10000000
)

// interceptedOnce keeps a process from intercepting twice: a second
// subscription would share the pipe with bytes meant for the first.
var interceptedOnce bool

func sigaction(sig syscall.Signal, act, old *kernelSigaction) syscall.Errno {
	_, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	return e
}

// intercept installs the handlers for Forwarded and returns the
// subscription that reads what they catch, or nil when it cannot. The
// caller holds sub.
func intercept() *subscription {
	if interceptedOnce {
		return nil
	}
	interceptedOnce = true
	var p [2]int
	// The write end does not block a handler; the read end blocks the
	// feeder.
	if syscall.Pipe2(p[:], syscall.O_CLOEXEC) != nil || syscall.SetNonblock(p[1], true) != nil {
		return nil
	}
	if initstage.TablesCopied() {
		// A launching thread's own descriptor table may lack the pipe,
		// and a handler running there would write to whatever file has
		// its number. (PrivateFDs marks the copy before it makes it, and
		// the pipe exists before this check: either the copy has the
		// pipe, or this sees the mark.)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil
	}
	pipeFD = int32(p[1])
	// Every signal blocked while the handler runs, on the alternate
	// stack (a goroutine's stack may be too small for the signal frame),
	// and system calls restarted after it, as the runtime's own.
	act := kernelSigaction{handler: handlerPC(), flags: saOnstack | saRestart | saRestorer, restorer: restorerPC(), mask: ^uint64(0)}
	old := make([]kernelSigaction, len(Forwarded))
	for i, s := range Forwarded {
		if sigaction(s.(syscall.Signal), &act, &old[i]) != 0 {
			for j := range i {
				sigaction(Forwarded[j].(syscall.Signal), &old[j], nil)
			}
			// Both ends stay open, as after end: a handler may still
			// be writing on another thread.
			return nil
		}
	}
	ready := make(chan struct{})
	close(ready)
	fed := make(chan struct{})
	s := &subscription{ch: make(chan os.Signal, 64), ready: ready, fed: fed}
	go feed(p[0], s.ch, fed)
	var once sync.Once
	s.end = func() {
		once.Do(func() {
			for i, sig := range Forwarded {
				sigaction(sig.(syscall.Signal), &old[i], nil)
			}
			// The write end stays open: a handler still running on
			// another thread may write to it, and a descriptor closed
			// under it could be a file opened since. The feeder ends at
			// the zero byte, after every signal caught before it.
			for {
				_, err := syscall.Write(int(pipeFD), []byte{0})
				if err != syscall.EAGAIN && err != syscall.EINTR {
					break
				}
				runtime.Gosched() // a full pipe: the feeder empties it
			}
		})
	}
	return s
}

// feed sends each signal number read from fd to ch, as os/signal does:
// without blocking, dropping a signal when ch is full. It closes fed and
// returns at a zero byte. It reads in a blocking system call, which
// returns as soon as a handler writes, rather than through the runtime's
// network poller, which a busy process may not poll for 10 ms.
func feed(fd int, ch chan<- os.Signal, fed chan<- struct{}) {
	defer close(fed)
	var buf [64]byte
	for {
		n, err := syscall.Read(fd, buf[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		for _, b := range buf[:n] {
			if b == 0 {
				return
			}
			select {
			case ch <- syscall.Signal(b):
			default:
			}
		}
	}
}
