package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/policy"
)

func TestEmuPolicy(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	x86, _ := arch.ByName("x86_64")
	i386, _ := arch.ByName("i386")
	aarch64, _ := arch.ByName("aarch64")
	tests := []struct {
		name string
		a    *arch.Arch
		args []string
		want []string
	}{
		{"rule", x86, []string{"mprotect", "0", "4096", "PROT_READ"}, []string{"action: ALLOW", "decided by: " + src + ":4:1: allow mprotect if prot none PROT_EXEC"}},
		{"rule fails", x86, []string{"mprotect", "0", "4096", "PROT_EXEC"}, []string{"action: ERRNO(1)", "decided by: no rule matched; default errno(EPERM)"}},
		{"set", x86, []string{"socket", "AF_INET"}, []string{"action: ALLOW", ":5:1: allow socket"}},
		{"i386", i386, []string{"read"}, []string{"action: ALLOW", ":3:1: allow read write close exit_group"}},
		{"unknown", x86, []string{"1000"}, []string{"ERRNO(38", "decided by: a number the policy's table does not know; unknown errno(ENOSYS)"}},
		{"bad arch", aarch64, []string{"read"}, []string{"KILL_PROCESS", "decided by: an architecture the policy does not accept; badarch kill_process"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call, err := parseEmuCall(tt.a, tt.args, "0")
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			cmd := &cobra.Command{}
			cmd.SetOut(&out)
			if err := emuPolicy(cmd, src, tt.a, call, policy.Env{}, false); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestEmuPolicyJSON(t *testing.T) {
	dir := t.TempDir()
	src := writeTestFile(t, dir, "app.policy", compilePolicy, 0o644)
	x86, _ := arch.ByName("x86_64")
	call, err := parseEmuCall(x86, []string{"socket", "AF_UNIX"}, "0")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	if err := emuPolicy(cmd, src, x86, call, policy.Env{}, true); err != nil {
		t.Fatal(err)
	}
	var got emuPolicyTrace
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Policy.Reason != "rule" || got.Policy.Position != src+":5:1" || got.Action != "ALLOW" || len(got.Filters) != 1 {
		t.Errorf("got %+v", got)
	}
}

func TestShortRule(t *testing.T) {
	long := "allow " + strings.Repeat("read ", 100)
	got := shortRule(long)
	if len(got) > 200 || !strings.HasPrefix(got, "allow read read") || !strings.Contains(got, "more characters") {
		t.Errorf("shortRule(long) = %q", got)
	}
	if got := shortRule("allow  read\n  write"); got != "allow read write" {
		t.Errorf("shortRule(short) = %q", got)
	}
}
