// Command siggen writes arch/zsignatures.go, the argument names and C
// types of every native syscall, from the syscall trace events of the
// running kernel. It needs Linux with tracefs (CONFIG_FTRACE_SYSCALLS) and
// root; the output is committed, so builds do not. From the module root:
//
//	mount -t tracefs nodev /sys/kernel/tracing   # if events/ is missing
//	go run ./internal/gen/siggen -o arch/zsignatures.go
//
// Each events/syscalls/sys_enter_NAME/format lists, after the common
// fields and __syscall_nr, one field per argument with the type and name
// of the kernel's SYSCALL_DEFINEn (include/trace/syscall.h,
// kernel/trace/trace_syscalls.c: syscall_enter_define_fields). Every type
// is classified into an arch.Kind here; an unknown type stops the program
// so that a person decides how filters must compare it.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// entryRename maps trace event names, which are the kernel's entry points,
// to the syscall names of the tables where they differ
// (arch/x86/entry/syscalls/syscall_64.tbl: "4 common stat sys_newstat").
var entryRename = map[string][]string{
	"newstat":    {"stat"},
	"newfstat":   {"fstat"},
	"newlstat":   {"lstat"},
	"newuname":   {"uname"},
	"umount":     {"umount2"},                // sys_umount(name, flags) is umount2; i386's umount is sys_oldumount
	"sendfile64": {"sendfile", "sendfile64"}, // x86_64 sendfile; 32-bit ABIs also have sendfile64 with this prototype
}

// intTypes are the 32-bit C types of syscall arguments: the kernel reads
// only the low half of the register (include/linux/types.h,
// include/uapi/asm-generic/posix_types.h: __kernel_pid_t, __kernel_uid32_t,
// __kernel_timer_t, __kernel_key_t, __kernel_mqd_t are int or unsigned int;
// umode_t is unsigned short; key_serial_t is int32_t; qid_t is
// __kernel_uid32_t; rwf_t is __kernel_rwf_t, an int).
var intTypes = map[string]bool{
	"int": true, "unsigned int": true, "unsigned": true, "u32": true, "__u32": true,
	"__s32": true, "s32": true, "pid_t": true, "uid_t": true, "gid_t": true,
	"umode_t": true, "mode_t": true, "clockid_t": true, "timer_t": true, "key_t": true,
	"mqd_t": true, "key_serial_t": true, "qid_t": true, "rwf_t": true,
	"enum landlock_rule_type": true, "old_uid_t": true, "old_gid_t": true,
	"unsigned short": true, "short": true, "u16": true, "unsigned char": true, "char": true,
}

// longTypes are word-sized: __kernel_long_t and __kernel_ulong_t
// (include/uapi/asm-generic/posix_types.h: __kernel_size_t, __kernel_off_t;
// include/uapi/linux/aio_abi.h: aio_context_t is __kernel_ulong_t).
var longTypes = map[string]bool{
	"long": true, "unsigned long": true, "size_t": true, "ssize_t": true,
	"off_t": true, "aio_context_t": true, "time_t": true, "__kernel_old_time_t": true,
}

// u64Types are 64-bit on every ABI (loff_t is long long).
var u64Types = map[string]bool{
	"u64": true, "__u64": true, "loff_t": true, "s64": true, "__s64": true,
	"long long": true, "unsigned long long": true,
}

// pointerTypedefs are typedefs of pointer types
// (include/uapi/linux/capability.h: cap_user_header_t, cap_user_data_t).
var pointerTypedefs = map[string]bool{
	"cap_user_header_t": true, "cap_user_data_t": true,
}

// kindOf classifies a C type; ok is false for a type not listed above.
func kindOf(typ string) (kind string, ok bool) {
	if strings.Contains(typ, "*") {
		return "KindPointer", true
	}
	t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(typ), "const "))
	switch {
	case pointerTypedefs[t]:
		return "KindPointer", true
	case intTypes[t]:
		return "KindInt", true
	case longTypes[t]:
		return "KindLong", true
	case u64Types[t]:
		return "KindU64", true
	}
	return "", false
}

type param struct{ name, typ, kind string }

var fieldRE = regexp.MustCompile(`^\s*field:(.+?)\s*;\s*offset:`)

func main() {
	log.SetFlags(0)
	log.SetPrefix("siggen: ")
	dir := flag.String("tracefs", "/sys/kernel/tracing", "tracefs mount point")
	out := flag.String("o", "arch/zsignatures.go", "file to write")
	flag.Parse()

	events := filepath.Join(*dir, "events", "syscalls")
	formats, err := filepath.Glob(filepath.Join(events, "sys_enter_*", "format"))
	if err != nil || len(formats) == 0 {
		log.Fatalf("no syscall events under %s: mount tracefs (mount -t tracefs nodev %s) and run as root on a kernel with CONFIG_FTRACE_SYSCALLS", events, *dir)
	}
	sigs := map[string][]param{}
	var unknown []string
	for _, f := range formats {
		entry := strings.TrimPrefix(filepath.Base(filepath.Dir(f)), "sys_enter_")
		ps, err := readFormat(f)
		if err != nil {
			log.Fatal(err)
		}
		for i := range ps {
			k, ok := kindOf(ps[i].typ)
			if !ok {
				unknown = append(unknown, fmt.Sprintf("%s: %s %s", entry, ps[i].typ, ps[i].name))
			}
			ps[i].kind = k
		}
		names := entryRename[entry]
		if names == nil {
			names = []string{entry}
		}
		for _, n := range names {
			sigs[n] = ps
		}
	}
	if len(unknown) > 0 {
		log.Fatalf("types with no Kind; classify them in siggen:\n  %s", strings.Join(unknown, "\n  "))
	}
	uname, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	src := render(sigs, strings.TrimSpace(string(uname)), len(formats))
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %d signatures to %s", len(sigs), *out)
}

// readFormat returns the argument fields of one event format file.
func readFormat(path string) ([]param, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := parseFormat(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return ps, nil
}

// parseFormat reads the "field:TYPE NAME;" lines of an event format and
// returns the syscall arguments among them, skipping the common fields
// every event has and __syscall_nr.
func parseFormat(r io.Reader) ([]param, error) {
	var ps []param
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		m := fieldRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		decl := strings.TrimSpace(m[1])
		i := strings.LastIndexAny(decl, " *")
		if i <= 0 || i == len(decl)-1 {
			return nil, fmt.Errorf("line %d: cannot split field %q into a type and a name", line, decl)
		}
		typ, name := strings.TrimSpace(decl[:i+1]), decl[i+1:]
		if strings.HasPrefix(name, "common_") || name == "__syscall_nr" {
			continue
		}
		ps = append(ps, param{name: name, typ: typ})
	}
	return ps, sc.Err()
}

func render(sigs map[string][]param, kernel string, events int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by \"go run ./internal/gen/siggen\" from %d tracefs syscall events of Linux %s (x86_64); DO NOT EDIT.\n\n", events, kernel)
	b.WriteString("package arch\n\n")
	// A sorted slice, searched by bisection, which the compiler lays out
	// as static data: a map literal would be built at every start of
	// every program importing package arch.
	b.WriteString("// signatures are the native x86_64 prototypes, sorted by syscall name.\n")
	b.WriteString("var signatures = []entry[string, []Param]{\n")
	names := make([]string, 0, len(sigs))
	for n := range sigs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "{%q, []Param{", n)
		for i, p := range sigs[n] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{%q, %q, %s}", p.name, p.typ, p.kind)
		}
		b.WriteString("}},\n")
	}
	b.WriteString("}\n")
	out, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatalf("formatting output: %v", err)
	}
	return out
}
