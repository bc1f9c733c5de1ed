package ebpf

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bpf(2) commands (enum bpf_cmd).
const (
	cmdMapCreate     = 0
	cmdMapLookupElem = 1
	cmdMapUpdateElem = 2
	cmdMapDeleteElem = 3
	cmdProgLoad      = 5
)

// Map types (enum bpf_map_type).
const (
	MapHash        = 1
	MapArray       = 2
	MapPerCPUArray = 6
)

// Update flags.
const (
	UpdateAny     = 0 // BPF_ANY
	UpdateNoExist = 1 // BPF_NOEXIST
)

// Program types (enum bpf_prog_type).
const (
	progTypeTracepoint    = 5  // BPF_PROG_TYPE_TRACEPOINT
	progTypeRawTracepoint = 17 // BPF_PROG_TYPE_RAW_TRACEPOINT
)

const cmdRawTracepointOpen = 17 // BPF_RAW_TRACEPOINT_OPEN

func bpf(cmd int, attr unsafe.Pointer, size uintptr) (int, error) {
	r, _, e := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(attr), size)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// mapCreateAttr is the BPF_MAP_CREATE part of union bpf_attr.
type mapCreateAttr struct {
	mapType    uint32
	keySize    uint32
	valueSize  uint32
	maxEntries uint32
	mapFlags   uint32
	innerMapFD uint32
	numaNode   uint32
	name       [16]byte
}

// mapElemAttr is the BPF_MAP_*_ELEM part of union bpf_attr.
type mapElemAttr struct {
	mapFD uint32
	_     uint32
	key   uint64
	value uint64
	flags uint64
}

// progLoadAttr is the BPF_PROG_LOAD part of union bpf_attr.
type progLoadAttr struct {
	progType    uint32
	insnCnt     uint32
	insns       uint64
	license     uint64
	logLevel    uint32
	logSize     uint32
	logBuf      uint64
	kernVersion uint32
	progFlags   uint32
	name        [16]byte
}

// Map is a kernel eBPF map.
type Map struct {
	fd                 int
	keySize, valueSize int
	// perCPU is the number of values a lookup returns for per-CPU maps
	// (one per possible CPU), 1 otherwise.
	perCPU int
}

// Map flags.
const (
	// NoPrealloc allocates hash map entries as they are inserted instead
	// of all at creation (BPF_F_NO_PREALLOC).
	NoPrealloc = 1
)

// NewMap creates a map. Values of per-CPU maps are read as one value per
// possible CPU, each rounded up to 8 bytes.
func NewMap(name string, typ, keySize, valueSize, maxEntries int) (*Map, error) {
	return NewMapFlags(name, typ, keySize, valueSize, maxEntries, 0)
}

// NewMapFlags creates a map with flags (NoPrealloc).
func NewMapFlags(name string, typ, keySize, valueSize, maxEntries int, flags uint32) (*Map, error) {
	attr := mapCreateAttr{mapType: uint32(typ), keySize: uint32(keySize), valueSize: uint32(valueSize), maxEntries: uint32(maxEntries), mapFlags: flags}
	copy(attr.name[:15], name)
	fd, err := bpf(cmdMapCreate, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		return nil, fmt.Errorf("create eBPF map %s: %w", name, err)
	}
	unix.CloseOnExec(fd)
	m := &Map{fd: fd, keySize: keySize, valueSize: valueSize, perCPU: 1}
	if typ == MapPerCPUArray {
		n, err := PossibleCPUs()
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		m.perCPU = n
	}
	return m, nil
}

// FD returns the map's descriptor, for LoadMapFD.
func (m *Map) FD() int { return m.fd }

// Close releases the map.
func (m *Map) Close() error {
	if m == nil || m.fd < 0 {
		return nil
	}
	err := unix.Close(m.fd)
	m.fd = -1
	return err
}

// ValueBytes is the size of the buffer Lookup fills.
func (m *Map) ValueBytes() int {
	if m.perCPU > 1 {
		return m.perCPU * ((m.valueSize + 7) &^ 7)
	}
	return m.valueSize
}

// Lookup reads the value of key into value (ValueBytes long). It reports
// false when the key is absent.
func (m *Map) Lookup(key, value []byte) (bool, error) {
	if len(key) != m.keySize || len(value) != m.ValueBytes() {
		return false, fmt.Errorf("eBPF map lookup: key %d bytes, value %d bytes; want %d and %d", len(key), len(value), m.keySize, m.ValueBytes())
	}
	attr := mapElemAttr{mapFD: uint32(m.fd), key: uint64(uintptr(unsafe.Pointer(&key[0]))), value: uint64(uintptr(unsafe.Pointer(&value[0])))}
	_, err := bpf(cmdMapLookupElem, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, err
}

// Update sets the value of key (flags UpdateAny or UpdateNoExist).
func (m *Map) Update(key, value []byte, flags uint64) error {
	if len(key) != m.keySize || len(value) != m.ValueBytes() {
		return fmt.Errorf("eBPF map update: key %d bytes, value %d bytes; want %d and %d", len(key), len(value), m.keySize, m.ValueBytes())
	}
	attr := mapElemAttr{mapFD: uint32(m.fd), key: uint64(uintptr(unsafe.Pointer(&key[0]))), value: uint64(uintptr(unsafe.Pointer(&value[0]))), flags: flags}
	_, err := bpf(cmdMapUpdateElem, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return err
}

// Delete removes key; an absent key is not an error.
func (m *Map) Delete(key []byte) error {
	attr := mapElemAttr{mapFD: uint32(m.fd), key: uint64(uintptr(unsafe.Pointer(&key[0])))}
	_, err := bpf(cmdMapDeleteElem, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}

// NextKey returns the key after key in the map's iteration order (the
// first key when key is nil), or false at the end.
func (m *Map) NextKey(key, next []byte) (bool, error) {
	attr := mapElemAttr{mapFD: uint32(m.fd), value: uint64(uintptr(unsafe.Pointer(&next[0])))}
	if key != nil {
		attr.key = uint64(uintptr(unsafe.Pointer(&key[0])))
	}
	_, err := bpf(4 /* BPF_MAP_GET_NEXT_KEY */, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(key)
	runtime.KeepAlive(next)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	return err == nil, err
}

// Program is a loaded eBPF program.
type Program struct{ fd int }

// LoadTracepoint loads a tracepoint program: its context is the
// tracepoint's record, laid out as the event's tracefs format file says.
// The error carries the verifier's log when it refused the program.
func LoadTracepoint(name string, insns []Instruction, license string) (*Program, error) {
	return load(progTypeTracepoint, name, insns, license)
}

// LoadRawTracepoint loads a raw tracepoint program: its context is the
// tracepoint's arguments as an array of 64-bit words (for sys_enter:
// struct pt_regs *regs, long id).
func LoadRawTracepoint(name string, insns []Instruction, license string) (*Program, error) {
	return load(progTypeRawTracepoint, name, insns, license)
}

func load(typ uint32, name string, insns []Instruction, license string) (*Program, error) {
	code := Encode(insns)
	lic := append([]byte(license), 0)
	logBuf := make([]byte, 1<<16)
	attr := progLoadAttr{
		progType: typ,
		insnCnt:  uint32(len(insns)),
		insns:    uint64(uintptr(unsafe.Pointer(&code[0]))),
		license:  uint64(uintptr(unsafe.Pointer(&lic[0]))),
	}
	copy(attr.name[:15], name)
	fd, err := bpf(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	if err != nil {
		// Load again with the verifier's log to say why.
		attr.logLevel, attr.logSize = 1, uint32(len(logBuf))
		attr.logBuf = uint64(uintptr(unsafe.Pointer(&logBuf[0])))
		if fd2, err2 := bpf(cmdProgLoad, unsafe.Pointer(&attr), unsafe.Sizeof(attr)); err2 == nil {
			unix.Close(fd2)
		}
		runtime.KeepAlive(code)
		runtime.KeepAlive(lic)
		runtime.KeepAlive(logBuf)
		log := strings.TrimRight(string(logBuf[:clen(logBuf)]), "\n")
		if log != "" {
			return nil, fmt.Errorf("load eBPF program %s: %w; verifier log:\n%s", name, err, log)
		}
		return nil, fmt.Errorf("load eBPF program %s: %w", name, err)
	}
	runtime.KeepAlive(code)
	runtime.KeepAlive(lic)
	unix.CloseOnExec(fd)
	return &Program{fd: fd}, nil
}

func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}

// Close unloads the program (once nothing is attached to it).
func (p *Program) Close() error {
	if p == nil || p.fd < 0 {
		return nil
	}
	err := unix.Close(p.fd)
	p.fd = -1
	return err
}

// Tracefs is where tracefs is mounted.
var Tracefs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// TracepointDir returns the tracefs directory of a tracepoint event, e.g.
// ("raw_syscalls", "sys_enter").
func TracepointDir(group, name string) (string, error) {
	for _, root := range Tracefs {
		d := root + "/events/" + group + "/" + name
		if _, err := os.Stat(d + "/id"); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("tracepoint %s:%s not found under %s (is tracefs mounted? mount -t tracefs nodev /sys/kernel/tracing)", group, name, strings.Join(Tracefs, " or "))
}

// AttachRawTracepoint attaches a raw tracepoint program to the kernel
// tracepoint name (e.g. "sys_enter"). Needs CAP_SYS_ADMIN or CAP_BPF and
// CAP_PERFMON. Like AttachTracepoint, the program runs for every task.
func AttachRawTracepoint(prog *Program, name string) (*Attachment, error) {
	cname := append([]byte(name), 0)
	attr := struct {
		name   uint64
		progFD uint32
		_      uint32
	}{name: uint64(uintptr(unsafe.Pointer(&cname[0]))), progFD: uint32(prog.fd)}
	fd, err := bpf(cmdRawTracepointOpen, unsafe.Pointer(&attr), unsafe.Sizeof(attr))
	runtime.KeepAlive(cname)
	if err != nil {
		return nil, fmt.Errorf("attach eBPF program to raw tracepoint %s: %w", name, err)
	}
	unix.CloseOnExec(fd)
	return &Attachment{fd: fd, raw: true}, nil
}

// Attachment is a program attached to a tracepoint.
type Attachment struct {
	fd  int
	raw bool
}

// AttachTracepoint attaches prog to the tracepoint group:name. The
// program then runs on every CPU whenever the tracepoint fires, for every
// task: it must filter itself. Needs CAP_PERFMON (or CAP_SYS_ADMIN).
func AttachTracepoint(prog *Program, group, name string) (*Attachment, error) {
	dir, err := TracepointDir(group, name)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(dir + "/id")
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s/id: %v", dir, err)
	}
	attr := unix.PerfEventAttr{
		Type:        unix.PERF_TYPE_TRACEPOINT,
		Size:        uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		Config:      id,
		Sample:      1,
		Wakeup:      1,
		Sample_type: unix.PERF_SAMPLE_RAW,
	}
	// One event on one CPU registers the tracepoint's probe, and the
	// kernel runs an attached program wherever the tracepoint fires
	// (kernel/trace/trace_event_perf.c; include/trace/perf.h: the program
	// runs before the per-CPU event list is consulted).
	fd, err := unix.PerfEventOpen(&attr, -1, 0, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("perf_event_open for tracepoint %s:%s: %w", group, name, err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_SET_BPF, prog.fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attach eBPF program to %s:%s: %w", group, name, err)
	}
	if err := unix.IoctlSetInt(fd, unix.PERF_EVENT_IOC_ENABLE, 0); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("enable tracepoint %s:%s: %w", group, name, err)
	}
	return &Attachment{fd: fd}, nil
}

// Close detaches the program.
func (a *Attachment) Close() error {
	if a == nil || a.fd < 0 {
		return nil
	}
	if !a.raw {
		unix.IoctlSetInt(a.fd, unix.PERF_EVENT_IOC_DISABLE, 0)
	}
	err := unix.Close(a.fd)
	a.fd = -1
	return err
}

// PossibleCPUs returns how many CPUs the kernel may ever bring up: the
// number of values a per-CPU map holds for each key.
func PossibleCPUs() (int, error) {
	raw, err := os.ReadFile("/sys/devices/system/cpu/possible")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, part := range strings.Split(strings.TrimSpace(string(raw)), ",") {
		lo, hi, found := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("/sys/devices/system/cpu/possible: %q", raw)
		}
		b := a
		if found {
			if b, err = strconv.Atoi(hi); err != nil {
				return 0, fmt.Errorf("/sys/devices/system/cpu/possible: %q", raw)
			}
		}
		n += b - a + 1
	}
	return n, nil
}
