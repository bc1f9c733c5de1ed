package sandbox

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/sandbox/launch"
)

// Violation is a syscall a seccomp filter answered with a kill or trap.
type Violation struct {
	PID       int
	AuditArch uint32 // seccomp_data.arch
	Nr        int    // seccomp_data.nr, x32 bit included
	Arch      string // canonical arch name, "" if unknown
	Syscall   string // syscall name, "" if unknown
	Action    uint32 // the filter's return value (the audit record's code=)
	Comm, Exe string // from the audit record, when known
	// Source says how syscage learnt of it: "audit" (the kernel's
	// type=1326 record in /dev/kmsg) or "exec gate".
	Source string
}

// resolve fills Arch and Syscall from AuditArch and Nr.
func (v *Violation) resolve() {
	cands := arch.ByAuditArch(v.AuditArch)
	for _, a := range cands {
		// x86_64 and x32 share AUDIT_ARCH_X86_64; x32 numbers carry
		// bit 30 (arch.Arch.NrBase).
		if a.NrBase != 0 && uint32(v.Nr) < a.NrBase {
			continue
		}
		if a.NrBase == 0 && len(cands) > 1 && uint32(v.Nr)&0x40000000 != 0 {
			continue
		}
		v.Arch = a.Name
		v.Syscall, _ = a.SyscallName(v.Nr)
		return
	}
}

// Describe says in words which syscall on which arch it was, e.g.
// "syscall 101 (ptrace) on x86_64".
func (v *Violation) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "syscall %d", v.Nr)
	if v.Nr > 0xffff || v.Nr < 0 {
		fmt.Fprintf(&b, " (%#x)", uint32(v.Nr))
	}
	if v.Syscall != "" {
		fmt.Fprintf(&b, " (%s)", v.Syscall)
	}
	if v.Arch != "" {
		fmt.Fprintf(&b, " on %s", v.Arch)
	} else {
		fmt.Fprintf(&b, " on unknown arch %#x", v.AuditArch)
	}
	return b.String()
}

// kmsgReader reads the kernel log from the point where it was opened.
// Seccomp's audit records (type=1326, kernel/auditsc.c: audit_seccomp)
// reach it when no audit daemon takes them.
type kmsgReader struct {
	fd  int
	err error // why it could not be opened
}

func openKmsg() *kmsgReader {
	fd, err := launch.OpenKernelLog()
	return &kmsgReader{fd: fd, err: err}
}

// whyNot says why find found nothing.
func (k *kmsgReader) whyNot() string {
	if k != nil && k.err != nil {
		return fmt.Sprintf("/dev/kmsg, where the kernel's audit record of the kill would be, cannot be read: %v (it needs root or CAP_SYSLOG when kernel.dmesg_restrict is set)", k.err)
	}
	return "the kernel's audit record naming the syscall was not found in /dev/kmsg (an audit daemon may be taking the records: try ausearch -m SECCOMP; or the printk rate limit dropped it)"
}

func (k *kmsgReader) Close() {
	if k != nil && k.fd >= 0 {
		unix.Close(k.fd)
		k.fd = -1
	}
}

// find looks for the audit record of a seccomp kill or trap of pid. The
// kernel's audit thread prints the record shortly after the death, so it
// waits a little (at most about half a second) for it.
func (k *kmsgReader) find(pid int) *Violation {
	if k == nil || k.fd < 0 {
		return nil
	}
	buf := make([]byte, 8192)
	deadline := time.Now().Add(500 * time.Millisecond)
	for {
		for {
			n, err := unix.Read(k.fd, buf)
			if err == unix.EPIPE || err == unix.EINTR {
				continue // records overwritten meanwhile; go on with the next
			}
			if err != nil || n <= 0 {
				break
			}
			if v := parseAuditSeccomp(string(buf[:n])); v != nil && v.PID == pid && bpf.ActionOf(v.Action) != bpf.RetErrno &&
				bpf.ActionOf(v.Action) != bpf.RetLog && bpf.ActionOf(v.Action) != bpf.RetAllow {
				return v
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parseAuditSeccomp reads a seccomp audit record (type=1326) from a
// /dev/kmsg record or a log line, or returns nil. Records look like:
//
//	6,1234,567,-;audit: type=1326 audit(1700000000.123:45): auid=4294967295
//	uid=0 gid=0 ses=4294967295 subj=unconfined pid=1234 comm="x"
//	exe="/usr/bin/x" sig=31 arch=c000003e syscall=101 compat=0
//	ip=0x7f0000001234 code=0x80000000
func parseAuditSeccomp(rec string) *Violation {
	i := strings.Index(rec, "type=1326 ")
	if i < 0 {
		return nil
	}
	fields := auditFields(rec[i:])
	v := &Violation{Source: "audit"}
	var err error
	get := func(key string, base int) int64 {
		s, ok := fields[key]
		if !ok {
			err = fmt.Errorf("no %s", key)
			return 0
		}
		n, e := strconv.ParseInt(strings.TrimPrefix(s, "0x"), base, 64)
		if e != nil {
			err = e
		}
		return n
	}
	v.PID = int(get("pid", 10))
	v.AuditArch = uint32(get("arch", 16))
	v.Nr = int(uint32(get("syscall", 10)))
	v.Action = uint32(get("code", 16))
	if err != nil {
		return nil
	}
	v.Comm = fields["comm"]
	v.Exe = fields["exe"]
	v.resolve()
	return v
}

// auditFields splits key=value pairs; quoted values lose their quotes.
func auditFields(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Split(splitAuditField)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out
}

// splitAuditField is a bufio.SplitFunc for space-separated fields whose
// quoted values may hold spaces.
func splitAuditField(data []byte, atEOF bool) (int, []byte, error) {
	start := 0
	for start < len(data) && (data[start] == ' ' || data[start] == '\n') {
		start++
	}
	inQuote := false
	for i := start; i < len(data); i++ {
		switch data[i] {
		case '"':
			inQuote = !inQuote
		case ' ', '\n':
			if !inQuote {
				return i + 1, data[start:i], nil
			}
		}
	}
	if atEOF && start < len(data) {
		return len(data), data[start:], nil
	}
	if atEOF {
		return len(data), nil, nil
	}
	return start, nil, nil
}

// readProcStatus reads the numeric fields of /proc/PID/status.
func readProcStatus(pid int) (map[string]int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, line := range bytes.Split(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(strings.Fields(string(v) + " x")[0]); err == nil {
			out[string(k)] = n
		}
	}
	return out, nil
}

// ReportedKill says how a program that died of sig (SIGSYS: a seccomp
// kill or trap) was killed, from the kernel log: kmsgFD is /dev/kmsg,
// opened and read to its end before the program started (-1 when it
// could not be opened: the reason is then found again), and pid the
// program's. It is for a launcher other than Command, such as syscage
// run's quick path, that hands the explanation over.
func ReportedKill(kmsgFD, pid int, sig syscall.Signal) *Exit {
	ex := &Exit{Code: 128 + int(sig), Signal: sig, Seccomp: sig == unix.SIGSYS}
	if !ex.Seccomp {
		return ex
	}
	k := &kmsgReader{fd: kmsgFD}
	if kmsgFD < 0 {
		k = openKmsg()
	}
	defer k.Close()
	if ex.Violation = k.find(pid); ex.Violation == nil {
		ex.NoViolation = k.whyNot()
	}
	return ex
}
