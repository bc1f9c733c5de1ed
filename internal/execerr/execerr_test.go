package execerr

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestWhy(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content string
		errno         unix.Errno
		want          string
	}{
		{"no #! line", "echo x\n", unix.ENOEXEC, "no #! line and not an ELF binary"},
		{"missing interpreter", "#!/no/such/sh\n", unix.ENOENT, "its #! interpreter /no/such/sh does not exist"},
		{"interpreter not executable", "#!/etc/passwd -x\n", unix.ENOEXEC, "its #! interpreter /etc/passwd cannot be executed"},
		{"empty #! line", "#!\n", unix.ENOEXEC, "its #! line names no interpreter"},
		{"ELF without loader", "\x7fELF....", unix.ENOENT, "dynamic loader, does not exist"},
		{"ELF of another machine", "\x7fELF....", unix.ENOEXEC, "another architecture"},
		{"other errno", "echo x\n", unix.EACCES, ""},
		{"ENOENT of a plain file", "echo x\n", unix.ENOENT, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := dir + "/" + strings.ReplaceAll(c.name, " ", "_")
			if err := os.WriteFile(p, []byte(c.content), 0o755); err != nil {
				t.Fatal(err)
			}
			got := Why(p, c.errno)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("Why = %q, want %q", got, c.want)
			}
		})
	}
	if got := Why(dir+"/absent", unix.ENOENT); got != "" {
		t.Errorf("Why of a file that does not exist = %q, want \"\"", got)
	}
}
