package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// The process events connector (include/uapi/linux/cn_proc.h,
// include/uapi/linux/connector.h): the kernel multicasts a message for
// every fork, exec and exit to listeners with CAP_NET_ADMIN.
const (
	cnIdxProc          = 1 // CN_IDX_PROC
	cnValProc          = 1 // CN_VAL_PROC
	procCnMcastListen  = 1 // PROC_CN_MCAST_LISTEN
	procEventFork      = 0x00000001
	procEventExit      = 0x80000000
	cnMsgHeaderSize    = 20 // struct cn_msg without data
	procEventHeaderLen = 16 // what, cpu, timestamp_ns
)

// procEvent is one fork or exit, as the connector reports it.
type procEvent struct {
	What                  uint32
	ParentPid, ParentTgid int // fork: the forking thread and its process
	ChildPid, ChildTgid   int // fork: the new task and its process
	ExitPid, ExitTgid     int // exit
}

// procWatch listens to process events.
type procWatch struct {
	fd int
}

func openProcWatch() (*procWatch, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("open the process events connector: %w", err)
	}
	// A run that forks a lot must not overflow the queue between reads.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc, Pid: 0}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind the process events connector: %w (needs CAP_NET_ADMIN)", err)
	}
	msg := make([]byte, unix.NLMSG_HDRLEN+cnMsgHeaderSize+4)
	le := binary.NativeEndian
	le.PutUint32(msg[0:], uint32(len(msg)))
	le.PutUint16(msg[4:], unix.NLMSG_DONE)
	le.PutUint32(msg[12:], uint32(unix.Getpid()))
	cn := msg[unix.NLMSG_HDRLEN:]
	le.PutUint32(cn[0:], cnIdxProc)
	le.PutUint32(cn[4:], cnValProc)
	le.PutUint16(cn[16:], 4)
	le.PutUint32(cn[cnMsgHeaderSize:], procCnMcastListen)
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("subscribe to process events: %w", err)
	}
	return &procWatch{fd: fd}, nil
}

// errEventsLost reports that the socket's queue overflowed.
var errEventsLost = errors.New("process events were lost (the queue overflowed)")

// read returns the events waiting, without blocking longer than wait.
// errEventsLost says that some were dropped; reading may go on.
func (w *procWatch) read(wait time.Duration) ([]procEvent, error) {
	pfd := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, int(wait/time.Millisecond)); err != nil && err != unix.EINTR || n == 0 {
		return nil, nil
	}
	var out []procEvent
	buf := make([]byte, 64<<10)
	var lost error
	for {
		n, _, err := unix.Recvfrom(w.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ENOBUFS {
			lost = errEventsLost
			continue
		}
		if err != nil || n <= 0 {
			return out, lost
		}
		out = append(out, parseProcEvents(buf[:n])...)
	}
}

func (w *procWatch) close() {
	if w != nil {
		unix.Close(w.fd)
	}
}

// parseProcEvents decodes the netlink messages of one datagram; anything
// malformed or of another kind is skipped.
func parseProcEvents(b []byte) []procEvent {
	le := binary.NativeEndian
	var out []procEvent
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(le.Uint32(b[0:]))
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			break
		}
		msg := b[unix.NLMSG_HDRLEN:l]
		b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
		if len(msg) < cnMsgHeaderSize+procEventHeaderLen || le.Uint32(msg[0:]) != cnIdxProc || le.Uint32(msg[4:]) != cnValProc {
			continue
		}
		dataLen := int(le.Uint16(msg[16:]))
		data := msg[cnMsgHeaderSize:]
		if dataLen < len(data) {
			data = data[:dataLen]
		}
		if len(data) < procEventHeaderLen {
			continue
		}
		ev := procEvent{What: le.Uint32(data[0:])}
		d := data[procEventHeaderLen:]
		i32 := func(off int) int { return int(int32(le.Uint32(d[off:]))) }
		switch ev.What {
		case procEventFork:
			if len(d) < 16 {
				continue
			}
			ev.ParentPid, ev.ParentTgid, ev.ChildPid, ev.ChildTgid = i32(0), i32(4), i32(8), i32(12)
		case procEventExit:
			if len(d) < 8 {
				continue
			}
			ev.ExitPid, ev.ExitTgid = i32(0), i32(4)
		default:
			continue
		}
		out = append(out, ev)
	}
	return out
}
