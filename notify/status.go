package notify

import (
	"bytes"
	"errors"
	"strconv"

	"golang.org/x/sys/unix"
)

// procStatus holds what the supervisor needs from /proc/TID/status
// (fs/proc/array.c: proc_pid_status).
type procStatus struct {
	name   string
	tgid   int
	uid    uint32 // real uid
	fsuid  uint32
	fsgid  uint32
	groups []uint32
	umask  uint32 // 0o777 + 1 when the kernel does not say (before 4.7)
	capEff uint64
}

const noUmask = 0o1000

// readStatus reads /proc/TID/status. The file is small (about 1.5 KiB)
// and is read in one go with plain system calls.
func readStatus(tid int) (procStatus, error) {
	var path [32]byte
	p := append(append(path[:0], "/proc/"...), strconv.Itoa(tid)...)
	p = append(p, "/status"...)
	fd, err := unix.Open(string(p), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return procStatus{}, err
	}
	defer unix.Close(fd)
	var buf [4096]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return procStatus{}, err
		}
		if m == 0 {
			break
		}
		n += m
	}
	return parseStatus(buf[:n])
}

var errStatus = errors.New("malformed /proc status")

func parseStatus(b []byte) (procStatus, error) {
	st := procStatus{umask: noUmask}
	seen := 0
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		k, v := line[:colon], bytes.TrimLeft(line[colon+1:], " \t")
		switch string(k) {
		case "Name":
			st.name = string(v)
		case "Umask":
			u, err := strconv.ParseUint(string(v), 8, 32)
			if err != nil {
				return st, errStatus
			}
			st.umask = uint32(u)
		case "Tgid":
			t, err := strconv.Atoi(string(v))
			if err != nil {
				return st, errStatus
			}
			st.tgid = t
			seen++
		case "Uid", "Gid":
			f := bytes.Fields(v)
			if len(f) != 4 {
				return st, errStatus
			}
			real, err1 := strconv.ParseUint(string(f[0]), 10, 32)
			fs, err2 := strconv.ParseUint(string(f[3]), 10, 32)
			if err1 != nil || err2 != nil {
				return st, errStatus
			}
			if k[0] == 'U' {
				st.uid, st.fsuid = uint32(real), uint32(fs)
			} else {
				st.fsgid = uint32(fs)
			}
			seen++
		case "Groups":
			for _, g := range bytes.Fields(v) {
				n, err := strconv.ParseUint(string(g), 10, 32)
				if err != nil {
					return st, errStatus
				}
				st.groups = append(st.groups, uint32(n))
			}
		case "CapEff":
			c, err := strconv.ParseUint(string(v), 16, 64)
			if err != nil {
				return st, errStatus
			}
			st.capEff = c
			seen++
		}
	}
	if seen < 4 {
		return st, errStatus
	}
	return st, nil
}

// tgidOf returns the process of thread tid, 0 if it has gone.
func tgidOf(tid int) int {
	st, err := readStatus(tid)
	if err != nil {
		return 0
	}
	return st.tgid
}
