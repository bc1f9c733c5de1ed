package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syscage/syscage/audit"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func decodeEvents(t *testing.T, b []byte) []audit.Event {
	t.Helper()
	var out []audit.Event
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var ev audit.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestAlertsRateLimit(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	a := NewAlerts(&buf, AlertLimit{Burst: 3, Interval: time.Second})
	a.now = clk.now
	for i := range 10 {
		if err := a.Write(audit.Event{PID: i, Syscall: "openat", Action: "errno(EACCES)"}); err != nil {
			t.Fatal(err)
		}
	}
	// A second later one more token: the summary of the seven dropped
	// goes out first, then the event.
	clk.t = clk.t.Add(time.Second)
	a.Write(audit.Event{PID: 100, Syscall: "openat"})
	// Nothing more dropped: Close adds no summary.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	evs := decodeEvents(t, buf.Bytes())
	var got []string
	for _, ev := range evs {
		if ev.Action == "suppressed" {
			got = append(got, "suppressed:"+itoa(int(ev.Suppressed)))
		} else {
			got = append(got, "pid:"+itoa(ev.PID))
		}
	}
	want := "pid:0 pid:1 pid:2 suppressed:7 pid:100"
	if strings.Join(got, " ") != want {
		t.Errorf("events %v, want %s", got, want)
	}
	if w, d := a.Counts(); w != 5 || d != 7 {
		t.Errorf("counts %d written, %d dropped", w, d)
	}
}

// A flood that stops is still summed up: by the timer, or at Close.
func TestAlertsSummaryWithoutMoreEvents(t *testing.T) {
	var buf syncWriter
	a := NewAlerts(&buf, AlertLimit{Burst: 1, Interval: 20 * time.Millisecond})
	for range 5 {
		a.Write(audit.Event{Syscall: "mkdir"})
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "suppressed") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	evs := decodeEvents(t, []byte(buf.String()))
	if len(evs) != 2 || evs[1].Suppressed != 4 {
		t.Fatalf("events %+v, want one event and a summary of 4", evs)
	}
	// Close with a pending count writes it.
	var buf2 bytes.Buffer
	b := NewAlerts(&buf2, AlertLimit{Burst: 1, Interval: time.Hour})
	b.Write(audit.Event{})
	b.Write(audit.Event{})
	b.Close()
	evs = decodeEvents(t, buf2.Bytes())
	if len(evs) != 2 || evs[1].Action != "suppressed" || evs[1].Suppressed != 1 {
		t.Fatalf("events after Close %+v", evs)
	}
	if err := b.Write(audit.Event{}); err == nil {
		t.Error("Write after Close succeeded")
	}
}

func TestAlertsUnlimitedAndErrors(t *testing.T) {
	var buf bytes.Buffer
	a := NewAlerts(&buf, AlertLimit{Off: true})
	for range 100 {
		a.Write(audit.Event{})
	}
	if n := strings.Count(buf.String(), "\n"); n != 100 {
		t.Errorf("%d lines without a limit, want 100", n)
	}
	failing := NewAlerts(errWriter{}, AlertLimit{})
	if err := failing.Write(audit.Event{}); err == nil {
		t.Error("a failing writer's error is lost")
	}
	if err := failing.Close(); err == nil {
		t.Error("Close does not report the write error")
	}
	if _, err := OpenAlerts("", AlertLimit{}); err == nil {
		t.Error("empty destination accepted")
	}
	p := filepath.Join(t.TempDir(), "alerts.jsonl")
	f, err := OpenAlerts(p, AlertLimit{})
	if err != nil {
		t.Fatal(err)
	}
	f.Write(audit.Event{Syscall: "ptrace"})
	f.Close()
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("alert file %v, mode %v: want 0600", err, st.Mode())
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// syncWriter is a buffer the alert timer may write to concurrently.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func ExampleAlerts() {
	var out bytes.Buffer
	alerts := NewAlerts(&out, AlertLimit{Burst: 20, Interval: 100 * time.Millisecond})
	alerts.Write(audit.Event{PID: 42, Arch: "x86_64", Syscall: "openat", Action: "errno(EACCES)", Path: "/etc/shadow", Source: "notify"})
	alerts.Close()
	var ev audit.Event
	json.Unmarshal(out.Bytes(), &ev)
	fmt.Println(ev.Summary(), ev.Path)
	// Output: pid 42 made openat on x86_64: errno(EACCES) /etc/shadow
}
