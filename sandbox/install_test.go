package sandbox

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
)

func TestOrderForInstall(t *testing.T) {
	denySeccomp := filter(t, bpf.RetAllow, rule{"seccomp", bpf.RetErrno | uint32(unix.EPERM)})
	killSeccomp := filter(t, bpf.RetAllow, rule{"seccomp", bpf.RetKillProcess})
	other := filter(t, bpf.RetAllow, rule{"getppid", bpf.RetErrno | 1})
	logAll := bpf.Program{bpf.Ret(bpf.RetLog)}
	cases := []struct {
		name    string
		in      []bpf.Program
		want    []bpf.Program
		wantErr string
	}{
		{"one filter", []bpf.Program{denySeccomp}, []bpf.Program{denySeccomp}, ""},
		{"denier goes last", []bpf.Program{denySeccomp, other, logAll}, []bpf.Program{other, logAll, denySeccomp}, ""},
		{"already in order", []bpf.Program{other, killSeccomp}, []bpf.Program{other, killSeccomp}, ""},
		{"two deniers", []bpf.Program{denySeccomp, killSeccomp}, nil, "2 of the 2 seccomp filters deny seccomp(2)"},
		{"invalid", []bpf.Program{other, {bpf.LoadAbs(2)}}, nil, "cannot be installed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := orderForInstall(c.in, 0, false)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d filters, want %d", len(got), len(c.want))
			}
			for i := range got {
				if &got[i][0] != &c.want[i][0] {
					t.Errorf("filter %d is not the expected one", i)
				}
			}
		})
	}
}
