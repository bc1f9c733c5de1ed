package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	tests := []struct{ typ, want string }{
		{"int", "KindInt"},
		{"unsigned int", "KindInt"},
		{"unsigned", "KindInt"},
		{"const int", "KindInt"},
		{"u32", "KindInt"},
		{"const __u32", "KindInt"},
		{"pid_t", "KindInt"},
		{"umode_t", "KindInt"},
		{"key_serial_t", "KindInt"},
		{"qid_t", "KindInt"},
		{"rwf_t", "KindInt"},
		{"timer_t", "KindInt"},
		{"const clockid_t", "KindInt"},
		{"const enum landlock_rule_type", "KindInt"},
		{"size_t", "KindLong"},
		{"const size_t", "KindLong"},
		{"unsigned long", "KindLong"},
		{"long", "KindLong"},
		{"off_t", "KindLong"},
		{"aio_context_t", "KindLong"},
		{"loff_t", "KindU64"},
		{"u64", "KindU64"},
		{"__u64", "KindU64"},
		{"const char *", "KindPointer"},
		{"struct robust_list_head * *", "KindPointer"},
		{"const void *const", "KindPointer"},
		{"cap_user_header_t", "KindPointer"},
		{"const cap_user_data_t", "KindPointer"},
		{"__kernel_old_time_t *", "KindPointer"},
	}
	for _, tt := range tests {
		got, ok := kindOf(tt.typ)
		if !ok || got != tt.want {
			t.Errorf("kindOf(%q) = %q, %v; want %q", tt.typ, got, ok, tt.want)
		}
	}
	for _, typ := range []string{"struct foo", "float", "union bpf_attr", ""} {
		if k, ok := kindOf(typ); ok {
			t.Errorf("kindOf(%q) = %q; want it left for a person to classify", typ, k)
		}
	}
}

// The fixtures are format files captured from Linux 6.18 on x86_64.
func TestReadFormat(t *testing.T) {
	tests := []struct {
		event string
		want  string // "type name" joined by ", "
	}{
		{"mmap", "unsigned long addr, unsigned long len, unsigned long prot, unsigned long flags, unsigned long fd, unsigned long off"},
		{"capget", "cap_user_header_t header, cap_user_data_t dataptr"},
		{"pread64", "unsigned int fd, char * buf, size_t count, loff_t pos"},
	}
	for _, tt := range tests {
		ps, err := readFormat(filepath.Join("testdata", "sys_enter_"+tt.event+".format"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.typ+" "+p.name)
		}
		if g := strings.Join(got, ", "); g != tt.want {
			t.Errorf("%s: got %q, want %q", tt.event, g, tt.want)
		}
	}
}

func TestParseFormatRejectsNamelessField(t *testing.T) {
	_, err := parseFormat(strings.NewReader("\tfield:int;\toffset:16;\tsize:8;\tsigned:0;\n"))
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("got %v, want an error naming line 1", err)
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, e := range []string{"mmap", "capget", "pread64"} {
		b, err := os.ReadFile(filepath.Join("testdata", "sys_enter_"+e+".format"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("field:; offset:")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := parseFormat(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.name == "" || p.typ == "" {
				t.Fatalf("empty type or name in %+v", p)
			}
		}
	})
}
