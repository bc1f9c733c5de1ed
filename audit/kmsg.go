package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// KmsgEntry is one record of the kernel log as /dev/kmsg returns it
// (Documentation/ABI/testing/dev-kmsg): "prio,seq,usec,flags;message".
type KmsgEntry struct {
	Priority int
	Seq      uint64
	// Usec is microseconds since boot.
	Usec    uint64
	Message string
}

// ParseKmsg parses one /dev/kmsg record. Continuation lines (" KEY=value"
// dictionary entries after the first line) are ignored.
func ParseKmsg(rec string) (KmsgEntry, error) {
	line, _, _ := strings.Cut(rec, "\n")
	head, msg, ok := strings.Cut(line, ";")
	if !ok {
		return KmsgEntry{}, fmt.Errorf("kmsg record %q: no ';' after the header", line)
	}
	parts := strings.Split(head, ",")
	if len(parts) < 3 {
		return KmsgEntry{}, fmt.Errorf("kmsg record %q: header needs prio,seq,usec", head)
	}
	prio, err := strconv.Atoi(parts[0])
	if err != nil {
		return KmsgEntry{}, fmt.Errorf("kmsg record %q: bad priority", head)
	}
	seq, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return KmsgEntry{}, fmt.Errorf("kmsg record %q: bad sequence number", head)
	}
	usec, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return KmsgEntry{}, fmt.Errorf("kmsg record %q: bad timestamp", head)
	}
	return KmsgEntry{Priority: prio & 7, Seq: seq, Usec: usec, Message: msg}, nil
}

// Item is what a Reader yields: a seccomp record, or news that records
// were lost.
type Item struct {
	// Record is set for a seccomp audit record.
	Record *Record
	// Entry is the kernel log entry the item came from.
	Entry KmsgEntry
	// Lost counts records the kernel dropped before this point: kmsg
	// entries overwritten before they were read (sequence gap), audit
	// messages suppressed by printk rate limiting ("kauditd_printk_skb: N
	// callbacks suppressed"), or audit_lost reports. Lost records may or may
	// not have been seccomp records; the count is an upper bound.
	Lost uint64
	// LostReason says which of those happened.
	LostReason string
}

// Reader reads seccomp audit records from /dev/kmsg.
type Reader struct {
	f *os.File
	// read returns one kernel log record per call, as read(2) on
	// /dev/kmsg does; tests replace it.
	read    func([]byte) (int, error)
	buf     []byte
	lastSeq uint64
	started bool
	// lastSerial is the serial of the last audit message of any type; the
	// kernel numbers every audit event, so a gap means messages were
	// dropped (printk rate limit, backlog) after being numbered.
	lastSerial uint64
}

// OpenKmsg opens /dev/kmsg for reading. With fromNow, only records logged
// after the call are returned; otherwise the whole kernel log buffer is
// read first. Reading needs CAP_SYSLOG or kernel.dmesg_restrict=0.
func OpenKmsg(fromNow bool) (*Reader, error) {
	f, err := os.OpenFile(kmsgPath, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// err names the operation and the path already.
		return nil, fmt.Errorf("%w (reading the kernel log needs root or CAP_SYSLOG)", err)
	}
	if fromNow {
		if _, err := unix.Seek(int(f.Fd()), 0, io.SeekEnd); err != nil {
			f.Close()
			return nil, fmt.Errorf("seek /dev/kmsg to its end: %w", err)
		}
	}
	fd := int(f.Fd())
	read := func(b []byte) (int, error) { return unix.Read(fd, b) }
	return &Reader{f: f, read: read, buf: make([]byte, 8192)}, nil
}

// Close releases the reader.
func (r *Reader) Close() error { return r.f.Close() }

// Fd returns the descriptor, for callers that poll it.
func (r *Reader) Fd() uintptr { return r.f.Fd() }

// kmsgPath is the kernel log device; tests point it elsewhere.
var kmsgPath = "/dev/kmsg"

// ErrNoMore is returned by Next when no record is waiting.
var ErrNoMore = errors.New("no more kernel log records for now")

// Next returns the next seccomp record or loss report, or ErrNoMore when
// the log has nothing new. It never blocks; poll Fd for readability to
// wait. Non-seccomp log entries are skipped.
func (r *Reader) Next() (Item, error) {
	for {
		n, err := r.read(r.buf)
		switch {
		case err == unix.EAGAIN:
			return Item{}, ErrNoMore
		case err == unix.EPIPE:
			// The reader fell behind and the ring buffer overwrote records
			// (Documentation/ABI/testing/dev-kmsg); the next read resumes at
			// the oldest record still there, and the sequence gap counts the
			// loss.
			continue
		case err == unix.EINTR:
			continue
		case err != nil:
			return Item{}, fmt.Errorf("read /dev/kmsg: %w", err)
		}
		e, perr := ParseKmsg(string(r.buf[:n]))
		if perr != nil {
			continue
		}
		var lost uint64
		if r.started && e.Seq > r.lastSeq+1 {
			lost = e.Seq - r.lastSeq - 1
		}
		r.started, r.lastSeq = true, e.Seq
		if lost > 0 {
			item := Item{Entry: e, Lost: lost, LostReason: fmt.Sprintf("kernel log overwrote %d entries before they were read", lost)}
			if serial, ok := auditSerial(e.Message); ok {
				// The overwritten entries' audit serials are not seen
				// either; restart the serial count here so they are not
				// counted twice.
				r.lastSerial = serial
			}
			if rec, err := ParseRecord(e.Message); err == nil {
				item.Record = rec
			}
			return item, nil
		}
		if n, ok := suppressed(e.Message); ok {
			// Informational: the same drops show up as a gap in the audit
			// serial numbers, which is what Lost counts.
			return Item{Entry: e, LostReason: fmt.Sprintf("kernel rate limiting suppressed %d messages", n)}, nil
		}
		if n, ok := auditLost(e.Message); ok {
			return Item{Entry: e, LostReason: fmt.Sprintf("audit subsystem reports %d lost records in total (audit_lost)", n)}, nil
		}
		serial, isAudit := auditSerial(e.Message)
		if !isAudit {
			continue
		}
		var gap uint64
		if r.lastSerial != 0 && serial > r.lastSerial+1 {
			gap = serial - r.lastSerial - 1
		}
		if serial > r.lastSerial {
			r.lastSerial = serial
		}
		item := Item{Entry: e}
		if gap > 0 {
			item.Lost = gap
			item.LostReason = fmt.Sprintf("audit serial numbers skipped %d: the kernel dropped that many audit messages (rate limit or backlog)", gap)
		}
		rec, err := ParseRecord(e.Message)
		if err == nil {
			item.Record = rec
		}
		if item.Record == nil && gap == 0 {
			continue
		}
		return item, nil
	}
}

// auditSerial returns the serial of an audit message of any type
// ("audit: type=N audit(SECONDS.MILLIS:SERIAL): ...").
func auditSerial(msg string) (uint64, bool) {
	rest, ok := strings.CutPrefix(msg, "audit: type=")
	if !ok {
		return 0, false
	}
	i := strings.Index(rest, " audit(")
	if i < 0 {
		return 0, false
	}
	rest = rest[i+len(" audit("):]
	colon := strings.IndexByte(rest, ':')
	end := strings.IndexByte(rest, ')')
	if colon < 0 || end < colon {
		return 0, false
	}
	n, err := strconv.ParseUint(rest[colon+1:end], 10, 64)
	return n, err == nil
}

// suppressed recognises printk rate limiting of audit messages, which
// kernel/audit.c reports as "kauditd_printk_skb: N callbacks suppressed".
func suppressed(msg string) (uint64, bool) {
	rest, ok := strings.CutPrefix(msg, "kauditd_printk_skb: ")
	if !ok {
		return 0, false
	}
	num, tail, ok := strings.Cut(rest, " ")
	if !ok || !strings.HasPrefix(tail, "callbacks suppressed") {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return n, err == nil
}

// auditLost recognises "audit: audit_lost=N audit_rate_limit=... " reports
// (kernel/audit.c: audit_log_lost).
func auditLost(msg string) (uint64, bool) {
	i := strings.Index(msg, "audit_lost=")
	if i < 0 || !strings.HasPrefix(msg, "audit: ") {
		return 0, false
	}
	v := msg[i+len("audit_lost="):]
	if sp := strings.IndexByte(v, ' '); sp >= 0 {
		v = v[:sp]
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return n, err == nil
}

// The audit netlink multicast group (AUDIT_NLGRP_READLOG) is not used: on
// Linux 6.18 without auditd it was seen to carry the records of killed
// processes but not those of the LOG action, while /dev/kmsg carries both
// and its drops can be counted.
