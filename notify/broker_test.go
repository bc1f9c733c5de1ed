package notify

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// tree builds the files the broker tests open and returns its root:
//
//	ro/a.txt "A", ro/sub/b.txt "B", ro/in -> a.txt, ro/out -> ../secret/s.txt,
//	ro/abs -> ROOT/ro/a.txt, ro/dirlink -> sub, ro/hidden/h.txt "H" (deny rule)
//	rw/ (read, write, create)
//	secret/s.txt "SECRET" (no rule)
func tree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"ro/sub", "ro/hidden", "rw", "secret"} {
		must(os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for name, content := range map[string]string{
		"ro/a.txt": "A", "ro/sub/b.txt": "B", "ro/hidden/h.txt": "H", "secret/s.txt": "SECRET", "rw/old.txt": "OLD",
	} {
		must(os.WriteFile(filepath.Join(root, name), []byte(content), 0o644))
	}
	must(os.Symlink("a.txt", filepath.Join(root, "ro/in")))
	must(os.Symlink("../secret/s.txt", filepath.Join(root, "ro/out")))
	must(os.Symlink(filepath.Join(root, "ro/a.txt"), filepath.Join(root, "ro/abs")))
	must(os.Symlink("sub", filepath.Join(root, "ro/dirlink")))
	must(os.Symlink("/proc/self/root"+root+"/secret/s.txt", filepath.Join(root, "ro/magic")))
	return root
}

func treeRules(root string) FileRules {
	return FileRules{Rules: []FileRule{
		{Root: root + "/ro", Read: true, Dir: true},
		{Root: root + "/ro/hidden", Deny: true},
		{Root: root + "/rw", Read: true, Write: true, Create: true},
	}}
}

func TestBrokerOpens(t *testing.T) {
	root := tree(t)
	int80 := buildC(t, "int80open.c", "-static")
	pre := []string{root + "/ro/sub", root + "/secret", root + "/ro", root + "/ro/a.txt"}
	eacces := int(unix.EACCES)
	cases := []struct {
		name    string
		op      op
		errno   int
		content string
	}{
		{"absolute read", op{Call: "openat", Path: root + "/ro/a.txt", Read: true}, 0, "A"},
		{"open(2)", op{Call: "open", Path: root + "/ro/sub/b.txt", Read: true}, 0, "B"},
		{"openat2", op{Call: "openat2", Path: root + "/ro/a.txt", Read: true}, 0, "A"},
		{"relative to cwd", op{Call: "openat", Path: "ro/a.txt", Read: true}, 0, "A"},
		{"relative to dirfd", op{Call: "openat", Dirfd: "pre:0", Path: "b.txt", Read: true}, 0, "B"},
		{"dotdot inside the root", op{Call: "openat", Path: root + "/ro/sub/../a.txt", Read: true}, 0, "A"},
		{"dotdot from cwd into the root", op{Call: "openat", Dirfd: "pre:1", Path: "../ro/a.txt", Read: true}, 0, "A"},
		{"symlink inside", op{Call: "openat", Path: root + "/ro/in", Read: true}, 0, "A"},
		{"symlinked directory inside", op{Call: "openat", Path: root + "/ro/dirlink/b.txt", Read: true}, 0, "B"},
		{"missing file", op{Call: "openat", Path: root + "/ro/none"}, int(unix.ENOENT), ""},
		{"empty path", op{Call: "openat", Path: ""}, int(unix.ENOENT), ""},
		{"no rule", op{Call: "openat", Path: root + "/secret/s.txt", Read: true}, eacces, ""},
		{"dotdot out of the root", op{Call: "openat", Path: root + "/ro/../secret/s.txt", Read: true}, eacces, ""},
		{"dotdot out through dirfd", op{Call: "openat", Dirfd: "pre:2", Path: "../secret/s.txt", Read: true}, eacces, ""},
		{"symlink out", op{Call: "openat", Path: root + "/ro/out", Read: true}, eacces, ""},
		{"absolute symlink", op{Call: "openat", Path: root + "/ro/abs", Read: true}, eacces, ""},
		{"magic link in a symlink", op{Call: "openat", Path: root + "/ro/magic", Read: true}, eacces, ""},
		{"/proc/self/root", op{Call: "openat", Path: "/proc/self/root" + root + "/secret/s.txt", Read: true}, eacces, ""},
		{"deny rule", op{Call: "openat", Path: root + "/ro/hidden/h.txt", Read: true}, eacces, ""},
		{"write without the right", op{Call: "openat", Path: root + "/ro/a.txt", Flags: unix.O_WRONLY}, eacces, ""},
		{"truncate without the right", op{Call: "openat", Path: root + "/ro/a.txt", Flags: unix.O_TRUNC}, eacces, ""},
		{"create without the right", op{Call: "openat", Path: root + "/ro/new.txt", Flags: unix.O_CREAT | unix.O_RDONLY, Mode: 0o644}, eacces, ""},
		{"O_CREAT on an existing file without the right", op{Call: "openat", Path: root + "/ro/a.txt", Flags: unix.O_CREAT | unix.O_RDONLY, Mode: 0o644, Read: true}, 0, "A"},
		{"directory with dir", op{Call: "openat", Path: root + "/ro/sub", Flags: unix.O_DIRECTORY}, 0, ""},
		{"directory without dir", op{Call: "openat", Path: root + "/rw", Flags: unix.O_DIRECTORY}, eacces, ""},
		{"directory without O_DIRECTORY", op{Call: "openat", Path: root + "/rw/."}, eacces, ""},
		{"creat", op{Call: "creat", Path: root + "/rw/c.txt", Mode: 0o600}, 0, ""},
		{"write existing", op{Call: "openat", Path: root + "/rw/old.txt", Flags: unix.O_RDWR, Read: true}, 0, "OLD"},
		{"O_EXCL on existing", op{Call: "openat", Path: root + "/rw/old.txt", Flags: unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, Mode: 0o600}, int(unix.EEXIST), ""},
		{"trailing slash on a file", op{Call: "openat", Path: root + "/ro/a.txt/"}, int(unix.ENOTDIR), ""},
		{"bad dirfd", op{Call: "openat", Dirfd: "bad", Path: "a.txt"}, int(unix.EBADF), ""},
		{"dirfd not a directory", op{Call: "openat", Dirfd: "pre:3", Path: "x"}, int(unix.ENOTDIR), ""},
		{"openat2 RESOLVE_BENEATH", op{Call: "openat2", Dirfd: "pre:0", Path: "../a.txt", Resolve: unix.RESOLVE_BENEATH}, int(unix.EXDEV), ""},
		{"openat2 RESOLVE_BENEATH inside", op{Call: "openat2", Dirfd: "pre:2", Path: "sub/b.txt", Resolve: unix.RESOLVE_BENEATH, Read: true}, 0, "B"},
		{"openat2 RESOLVE_NO_SYMLINKS", op{Call: "openat2", Path: root + "/ro/in", Resolve: unix.RESOLVE_NO_SYMLINKS}, int(unix.ELOOP), ""},
		{"openat2 unknown resolve flag", op{Call: "openat2", Path: root + "/ro/a.txt", Resolve: 1 << 40}, int(unix.EINVAL), ""},
		{"openat2 short struct", op{Call: "openat2", Path: root + "/ro/a.txt", HowSize: 16}, int(unix.EINVAL), ""},
		{"openat2 long struct with junk", op{Call: "openat2", Path: root + "/ro/a.txt", HowSize: 32}, int(unix.E2BIG), ""},
		{"unreadable path", op{Call: "openat", BadPtr: true}, int(unix.EFAULT), ""},
		{"path over PATH_MAX", op{Call: "openat", LongPath: true}, int(unix.ENAMETOOLONG), ""},
		{"path ending at an unmapped page", op{Call: "openat", PageEnd: true, Path: root + "/ro/a.txt", Read: true}, 0, "A"},
		{"O_NOFOLLOW on a symlink", op{Call: "openat", Path: root + "/ro/in", Flags: unix.O_NOFOLLOW}, int(unix.ELOOP), ""},
		{"i386 open", op{Call: "exec", Argv: []string{int80, "open", root + "/ro/a.txt"}}, 0, "A"},
		{"i386 openat denied", op{Call: "exec", Argv: []string{int80, "openat", root + "/secret/s.txt"}}, 0, "errno 13"},
	}
	var ops []op
	for _, c := range cases {
		ops = append(ops, c.op)
	}
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, I386: true, Dir: root, Scenario: "ops", Ops: ops, PreOpen: pre})
	b, err := NewBroker(treeRules(root))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var events bytes.Buffer
	alerts := NewAlerts(&events, AlertLimit{Off: true})
	_, wait := serveTarget(t, tg, b.Handlers(), Options{Alerts: alerts})
	res := tg.wait(t)
	st := wait()
	if len(res.Ops) != len(cases) {
		t.Fatalf("got %d results for %d ops", len(res.Ops), len(cases))
	}
	denied := 0
	for i, c := range cases {
		got := res.Ops[i]
		if got.Errno != c.errno || got.Content != c.content {
			t.Errorf("%s: errno %d (%s) content %q, want errno %d content %q", c.name, got.Errno, unix.ErrnoName(unix.Errno(got.Errno)), got.Content, c.errno, c.content)
		}
		if c.errno == eacces || strings.Contains(c.content, "errno 13") {
			denied++
		}
	}
	if st.Violations != uint64(denied) {
		t.Errorf("%d violations counted, want %d", st.Violations, denied)
	}
	// Every refusal is an alert naming the path.
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("alert %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	refusals := 0
	for _, ev := range evs {
		if ev["action"] == "errno(EACCES)" {
			refusals++
			if ev["path"] == "" || ev["syscall"] == "" || ev["reason"] == "" {
				t.Errorf("alert lacks path, syscall or reason: %v", ev)
			}
		}
	}
	if refusals != denied {
		t.Errorf("%d refusal alerts, want %d:\n%s", refusals, denied, events.String())
	}
}

// The broker opens as the target: a file the target's uid may not read
// is refused by the kernel's own check, a file it creates is its own,
// with its mode and umask.
func TestBrokerOpensAsTheTarget(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"", "/data"} {
		if err := os.Chmod(root+d, 0o777); err != nil && d == "" {
			t.Fatal(err)
		}
		os.MkdirAll(root+d, 0o777)
		os.Chmod(root+d, 0o777)
	}
	// The temporary directory's parents must let uid 1000 through; the
	// test's own directory is 0700.
	os.Chmod(filepath.Dir(root), 0o755)
	for p := filepath.Dir(root); p != "/"; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			t.Skipf("%s is not searchable by other users", p)
		}
	}
	os.WriteFile(root+"/data/root-only", []byte("R"), 0o600)
	os.WriteFile(root+"/data/public", []byte("P"), 0o644)
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, UID: 1000, GID: 1000, Umask: 0o027, SetUmask: true, Scenario: "ops", Ops: []op{
		{Call: "openat", Path: root + "/data/root-only", Read: true},
		{Call: "openat", Path: root + "/data/public", Read: true},
		{Call: "openat", Path: root + "/data/new", Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o666},
	}})
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: root + "/data", Read: true, Write: true, Create: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, wait := serveTarget(t, tg, b.Handlers(), Options{})
	res := tg.wait(t)
	wait()
	if res.Ops[0].Errno != int(unix.EACCES) {
		t.Errorf("root-only file: %+v, want EACCES from the kernel's check", res.Ops[0])
	}
	if res.Ops[1].Content != "P" {
		t.Errorf("public file: %+v", res.Ops[1])
	}
	var st unix.Stat_t
	if err := unix.Stat(root+"/data/new", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1000 || st.Gid != 1000 || st.Mode&0o777 != 0o640 {
		t.Errorf("created file: uid %d gid %d mode %o, want 1000 1000 640", st.Uid, st.Gid, st.Mode&0o777)
	}
}

// A target umask looser than the supervisor's still gives the mode the
// kernel would: 0666 under umask 0.
func TestBrokerCreateUnderLooseUmask(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(root+"/old", []byte("O"), 0o600)
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Umask: 0, SetUmask: true, Scenario: "ops", Ops: []op{
		{Call: "openat", Path: root + "/new", Flags: unix.O_CREAT | unix.O_WRONLY, Mode: 0o666},
		{Call: "openat", Path: root + "/old", Flags: unix.O_CREAT | unix.O_RDONLY, Mode: 0o666, Read: true},
		{Call: "creat", Path: root + "/c", Mode: 0o646},
		{Call: "openat", Path: root + "/new", Flags: unix.O_CREAT | unix.O_EXCL | unix.O_WRONLY, Mode: 0o666},
	}})
	b, err := NewBroker(FileRules{Rules: []FileRule{{Root: root, Read: true, Write: true, Create: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, wait := serveTarget(t, tg, b.Handlers(), Options{})
	res := tg.wait(t)
	wait()
	if res.Ops[0].Errno != 0 || res.Ops[1].Content != "O" || res.Ops[2].Errno != 0 || res.Ops[3].Errno != int(unix.EEXIST) {
		t.Errorf("results %+v", res.Ops)
	}
	for name, want := range map[string]uint32{"new": 0o666, "old": 0o600, "c": 0o646} {
		var st unix.Stat_t
		if err := unix.Stat(root+"/"+name, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&0o7777 != want {
			t.Errorf("%s: mode %o, want %o", name, st.Mode&0o7777, want)
		}
	}
}
