package notify

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bpf"
	"github.com/syscage/syscage/compile"
	"github.com/syscage/syscage/policy"
)

const escalateSrc = `default allow
errno(EPERM) mkdirat
errno(0) fchmodat
errno(ENOSYS) unlinkat
notify openat
`

func TestEscalate(t *testing.T) {
	p, err := policy.Parse("p.policy", []byte(escalateSrc+"kill_process ptrace\ntrap kexec_load\n"), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := Escalate(p)
	want := map[string]string{"mkdirat": "notify", "fchmodat": "notify", "unlinkat": "errno(ENOSYS)", "openat": "notify", "ptrace": "notify", "kexec_load": "notify"}
	for _, r := range q.Rules {
		if got := r.Action.String(); got != want[r.Syscalls[0].Name] {
			t.Errorf("%s: %s, want %s", r.Syscalls[0].Name, got, want[r.Syscalls[0].Name])
		}
	}
	if p.Rules[0].Action.Kind != policy.Errno {
		t.Error("Escalate changed the original policy")
	}
	if q.BadArch.Kind != policy.Notify || q.Default.Kind != policy.Allow {
		t.Errorf("badarch %s, default %s", q.BadArch, q.Default)
	}
}

// The escalated policy, compiled and installed, sends its refusals to the
// supervisor, which answers them as the original policy would and writes
// an alert naming the rule; what the policy allows never leaves the
// kernel.
func TestPolicyHandler(t *testing.T) {
	root := tree(t)
	p, err := policy.Parse("p.policy", []byte(escalateSrc), policy.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := compile.Policy(Escalate(p), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Filters) != 1 {
		t.Fatalf("%d filters", len(res.Filters))
	}
	mkdirat, _ := nativeNr("mkdirat")
	fchmodat, _ := nativeNr("fchmodat")
	unlinkat, _ := nativeNr("unlinkat")
	tg := startTarget(t, targetSpec{Program: res.Filters[0].Encode(bpf.NativeEndian), Scenario: "ops", Ops: []op{
		{Call: "raw", Nr: mkdirat, Path: root + "/rw/d"},
		{Call: "raw", Nr: fchmodat, Path: root + "/rw/old.txt"},
		{Call: "raw", Nr: unlinkat, Path: root + "/rw/old.txt"},
		{Call: "openat", Path: root + "/ro/a.txt", Read: true},
	}})
	b, err := NewBroker(treeRules(root))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var events bytes.Buffer
	_, wait := serveTarget(t, tg, b.Handlers(), Options{Unhandled: PolicyHandler(p, policy.Env{}), Alerts: NewAlerts(&events, AlertLimit{Off: true})})
	out := tg.wait(t)
	st := wait()
	// mkdirat's raw call passes the path as its first argument (a dirfd):
	// the policy refuses it before anything looks at the arguments.
	if out.Ops[0].Errno != int(unix.EPERM) || out.Ops[1].Errno != 0 || out.Ops[1].FD != 0 ||
		out.Ops[2].Errno != int(unix.ENOSYS) || out.Ops[3].Content != "A" {
		t.Errorf("results %+v", out.Ops)
	}
	if st.Received != 3 || st.Violations != 2 {
		t.Errorf("stats %+v: want mkdirat, fchmodat and openat notified, two violations", st)
	}
	var rules []string
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		var ev struct{ Syscall, Rule, Action string }
		json.Unmarshal([]byte(line), &ev)
		rules = append(rules, ev.Syscall+" "+ev.Action+" "+ev.Rule)
	}
	want := []string{"mkdirat errno(EPERM) p.policy:2:1: errno(EPERM) mkdirat", "fchmodat return(0) p.policy:3:1: errno(0) fchmodat"}
	if strings.Join(rules, "\n") != strings.Join(want, "\n") {
		t.Errorf("alerts:\n%s\nwant:\n%s", strings.Join(rules, "\n"), strings.Join(want, "\n"))
	}
}
