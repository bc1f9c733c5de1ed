// Package audit turns the kernel's seccomp audit records into structured
// events: it parses type=1326 (AUDIT_SECCOMP) records as the kernel prints
// them, reads them from /dev/kmsg with detection of records the kernel
// dropped, and names the arch, syscall and action of each.
package audit

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TypeSeccomp is AUDIT_SECCOMP (include/uapi/linux/audit.h).
const TypeSeccomp = 1326

// Record is one seccomp audit record, with the fields the kernel emits in
// kernel/auditsc.c:audit_seccomp (auid uid gid ses subj pid comm exe sig
// arch syscall compat ip code).
type Record struct {
	// Time and Serial come from the "audit(SECONDS.MILLIS:SERIAL)" stamp.
	Time   time.Time
	Serial uint64
	AUID   uint32
	UID    uint32
	GID    uint32
	SES    uint32
	Subj   string
	PID    int
	Comm   string
	Exe    string
	// Sig is the signal the action delivers: 31 (SIGSYS) for kills, 0 otherwise.
	Sig       int
	AuditArch uint32
	// Syscall is seccomp_data.nr as the filter saw it.
	Syscall int64
	Compat  bool
	IP      uint64
	// Code is the filter's return value (action and data).
	Code uint32
}

// ErrNotSeccomp is returned by ParseRecord for audit messages of another type.
var ErrNotSeccomp = errors.New("not a seccomp audit record")

// ParseRecord parses the text of a seccomp audit record, with or without
// the leading "audit: " that the kernel log adds:
//
//	type=1326 audit(1795481931.856:96): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=19116 comm="logt" exe="/tmp/logt" sig=31 arch=c000003e syscall=101 compat=0 ip=0x7f1490abf829 code=0x80000000
func ParseRecord(msg string) (*Record, error) {
	s := strings.TrimSpace(msg)
	s = strings.TrimPrefix(s, "audit: ")
	if !strings.HasPrefix(s, "type=") {
		return nil, ErrNotSeccomp
	}
	rest := s[len("type="):]
	sp := strings.IndexByte(rest, ' ')
	if sp < 0 || rest[:sp] != strconv.Itoa(TypeSeccomp) {
		return nil, ErrNotSeccomp
	}
	rest = strings.TrimSpace(rest[sp+1:])
	r := &Record{}
	if strings.HasPrefix(rest, "audit(") {
		end := strings.Index(rest, "):")
		if end < 0 {
			return nil, fmt.Errorf("seccomp audit record: unterminated audit(...) stamp in %q", msg)
		}
		if err := parseStamp(rest[len("audit("):end], r); err != nil {
			return nil, err
		}
		rest = strings.TrimSpace(rest[end+2:])
	}
	fields, err := splitFields(rest)
	if err != nil {
		return nil, fmt.Errorf("seccomp audit record: %w", err)
	}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.key] = true
		if err := r.set(f.key, f.value, f.quoted); err != nil {
			return nil, fmt.Errorf("seccomp audit record: field %s=%q: %w", f.key, f.value, err)
		}
	}
	for _, need := range []string{"pid", "arch", "syscall", "code"} {
		if !seen[need] {
			return nil, fmt.Errorf("seccomp audit record: missing %s= in %q", need, msg)
		}
	}
	return r, nil
}

func parseStamp(s string, r *Record) error {
	colon := strings.IndexByte(s, ':')
	if colon < 0 {
		return fmt.Errorf("seccomp audit record: bad stamp %q, want SECONDS.MILLIS:SERIAL", s)
	}
	secs, frac, _ := strings.Cut(s[:colon], ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil {
		return fmt.Errorf("seccomp audit record: bad stamp seconds %q", secs)
	}
	var ms int64
	if frac != "" {
		if ms, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return fmt.Errorf("seccomp audit record: bad stamp milliseconds %q", frac)
		}
	}
	serial, err := strconv.ParseUint(s[colon+1:], 10, 64)
	if err != nil {
		return fmt.Errorf("seccomp audit record: bad stamp serial %q", s[colon+1:])
	}
	r.Time = time.Unix(sec, ms*int64(time.Millisecond)).UTC()
	r.Serial = serial
	return nil
}

type field struct {
	key, value string
	quoted     bool
}

// splitFields splits `k=v k="quoted value" k=HEX` into fields. Untrusted
// strings (comm, exe) are printed quoted, or as bare hex when they contain
// spaces, quotes or control characters (kernel/audit.c:
// audit_log_n_untrustedstring).
func splitFields(s string) ([]field, error) {
	var out []field
	for i := 0; i < len(s); {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, fmt.Errorf("expected key=value at %q", s[i:])
		}
		key := s[i : i+eq]
		i += eq + 1
		if i < len(s) && s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted value for %s", key)
			}
			out = append(out, field{key, s[i+1 : i+1+end], true})
			i += end + 2
			continue
		}
		end := strings.IndexByte(s[i:], ' ')
		if end < 0 {
			end = len(s) - i
		}
		out = append(out, field{key, s[i : i+end], false})
		i += end
	}
	return out, nil
}

func (r *Record) set(key, value string, quoted bool) error {
	u32 := func(base int) (uint32, error) {
		v, err := strconv.ParseUint(strings.TrimPrefix(value, "0x"), base, 32)
		return uint32(v), err
	}
	var err error
	switch key {
	case "auid":
		r.AUID, err = u32(10)
	case "uid":
		r.UID, err = u32(10)
	case "gid":
		r.GID, err = u32(10)
	case "ses":
		r.SES, err = u32(10)
	case "subj":
		r.Subj = value
	case "pid":
		r.PID, err = strconv.Atoi(value)
	case "comm":
		r.Comm, err = untrusted(value, quoted)
	case "exe":
		r.Exe, err = untrusted(value, quoted)
	case "sig":
		r.Sig, err = strconv.Atoi(value)
	case "arch":
		r.AuditArch, err = u32(16)
	case "syscall":
		r.Syscall, err = strconv.ParseInt(value, 10, 64)
	case "compat":
		var c int
		c, err = strconv.Atoi(value)
		r.Compat = c != 0
	case "ip":
		r.IP, err = strconv.ParseUint(strings.TrimPrefix(value, "0x"), 16, 64)
	case "code":
		r.Code, err = u32(16)
	}
	// Unknown keys are kept out of the record but are not errors: newer
	// kernels may add fields.
	return err
}

// untrusted decodes a string field: quoted text as is, "(null)" as empty,
// otherwise hex.
func untrusted(v string, quoted bool) (string, error) {
	if quoted || v == "(null)" || v == "?" {
		if v == "(null)" || v == "?" {
			return "", nil
		}
		return v, nil
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return "", fmt.Errorf("neither quoted nor hex")
	}
	return string(b), nil
}
