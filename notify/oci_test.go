package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/policy"
)

const goodState = `{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":4422,"metadata":"policy=web",
"state":{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":4422,"bundle":"/b","annotations":{"k":"v"}}}`

func TestParseContainerProcessState(t *testing.T) {
	st, err := ParseContainerProcessState([]byte(goodState))
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid != 4422 || st.State.ID != "c1" || st.Metadata != "policy=web" || st.State.Annotations["k"] != "v" {
		t.Errorf("decoded %+v", st)
	}
	bad := []struct{ src, want string }{
		{`{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":1`, "malformed container state"},
		{`{"ociVersion":"1.0.2","fds":"seccompFd","pid":1}`, `field "fds"`},
		{`{"fds":["seccompFd"],"pid":1}`, "without ociVersion"},
		{`{"ociVersion":"1","fds":["other"],"pid":1}`, `names no "seccompFd"`},
		{`{"ociVersion":"1","fds":["seccompFd"],"pid":0}`, "has pid 0"},
		{`{"ociVersion":"1","fds":["seccompFd"],"pid":1} {}`, "more than one JSON value"},
		{``, "malformed container state"},
	}
	for _, c := range bad {
		_, err := ParseContainerProcessState([]byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.src, err, c.want)
		}
	}
}

func FuzzParseContainerProcessState(f *testing.F) {
	f.Add(goodState)
	f.Add(`{"ociVersion":"1","fds":["seccompFd","x"],"pid":7,"state":{}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, src string) {
		st, err := ParseContainerProcessState([]byte(src))
		if err != nil {
			return
		}
		// What parses re-encodes and parses to the same state.
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := ParseContainerProcessState(b)
		if err != nil {
			t.Fatalf("re-encoded state does not parse: %v\n%s", err, b)
		}
		if st2.Pid != st.Pid || st2.State.ID != st.State.ID || st2.Metadata != st.Metadata || len(st2.Fds) != len(st.Fds) {
			t.Fatalf("round trip changed the state: %+v -> %+v", st, st2)
		}
	})
}

func TestPolicyName(t *testing.T) {
	for in, want := range map[string]string{
		"policy=web":                    "web",
		"MKNOD=/dev/null;policy=db":     "db",
		"a=b, policy=x":                 "x",
		"web":                           "web",
		"":                              "",
		"a=b":                           "",
		"two words":                     "",
		"  policy=spaced  ":             "spaced",
		"BPF_MAP_TYPES=hash;policy=web": "web",
	} {
		if got := PolicyName(in); got != want {
			t.Errorf("PolicyName(%q) = %q, want %q", in, got, want)
		}
	}
}

// sendState writes one message as a runtime does: the JSON with fds.
func sendState(t testing.TB, sock, state string, fds ...int) {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if _, _, err := c.WriteMsgUnix([]byte(state), oob, nil); err != nil {
		t.Fatal(err)
	}
}

// The agent serves a container handed over as runc does, after bad
// connections that it reports and drops.
func TestAgent(t *testing.T) {
	root := tree(t)
	tg := startTarget(t, targetSpec{Notify: BrokerSyscalls, Scenario: "ops", Ops: []op{
		{Call: "openat", Path: root + "/ro/a.txt", Read: true},
		{Call: "openat", Path: root + "/secret/s.txt", Read: true},
	}})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	var events bytes.Buffer
	logs := make(chan string, 16)
	a := &Agent{
		Policies: map[string]*policy.Policy{"tree": treePolicy(t, root)},
		Alerts:   NewAlerts(&events, AlertLimit{Off: true}),
		// The target never executes another program: nothing of it is
		// the runtime's (TestAgentRunc in cmd/syscage covers runc's init).
		BrokerRuntimeInit: true,
		Logf:              func(f string, args ...any) { logs <- strings.TrimSpace(sprintf(f, args...)) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()

	state := func(pid int, meta string) string {
		return `{"ociVersion":"1.0.2","fds":["seccompFd"],"pid":` + itoa(pid) + `,"metadata":"` + meta + `","state":{"ociVersion":"1.0.2","id":"c1","status":"creating","bundle":"/b"}}`
	}
	expectLog := func(want string) {
		t.Helper()
		select {
		case l := <-logs:
			if !strings.Contains(l, want) {
				t.Errorf("log %q, want %q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no log line for %q", want)
		}
	}
	// Bad input first: each is reported, and the agent keeps serving.
	sendState(t, sock, "{not json")
	expectLog("malformed container state")
	sendState(t, sock, state(tg.cmd.Process.Pid, "policy=tree"))
	expectLog("no descriptor came with the state")
	devnull, _ := os.Open(os.DevNull)
	sendState(t, sock, state(tg.cmd.Process.Pid, "policy=nope"), int(devnull.Fd()))
	expectLog(`asks for policy "nope"`)
	sendState(t, sock, state(tg.cmd.Process.Pid, "policy=tree"), int(devnull.Fd()))
	expectLog("not a seccomp notification listener")
	devnull.Close()

	sendState(t, sock, state(tg.cmd.Process.Pid, "policy=tree"), tg.listener)
	unix.Close(tg.listener) // the agent holds the only copy now
	expectLog(`supervising container c1`)
	res := tg.wait(t)
	if res.Ops[0].Content != "A" || res.Ops[1].Errno != int(unix.EACCES) {
		t.Errorf("results %+v", res.Ops)
	}
	expectLog("container c1 done: 2 requests, 1 refused")
	if !strings.Contains(events.String(), `"container":"c1"`) {
		t.Errorf("the alert does not name the container:\n%s", events.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
