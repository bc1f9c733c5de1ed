package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/syscage/syscage/audit"
)

// Alerts writes alert events as JSON lines (one audit.Event per line) to
// a file or stderr, under a rate limit: a burst of events is written at
// once, then one per interval; the events the limit drops are counted and
// reported by a summary event (Action "suppressed", Suppressed = the
// count) as soon as the limit allows, so a flood of violations can
// neither fill a disk nor go unnoticed. Alerts is safe for concurrent use
// and may be shared by several supervisors.
type Alerts struct {
	mu       sync.Mutex
	w        io.Writer
	closer   io.Closer
	burst    float64
	interval time.Duration
	tokens   float64
	last     time.Time
	pending  uint64 // dropped since the last summary
	total    uint64 // dropped in all
	written  uint64
	timer    *time.Timer
	closed   bool
	err      error // first write error, kept for Close
	now      func() time.Time
}

// AlertLimit is the rate limit of Alerts.
type AlertLimit struct {
	// Burst events may be written back to back; 0 means 20.
	Burst int
	// Interval is the time one more event is allowed after the burst is
	// spent; 0 means 100ms (ten events a second).
	Interval time.Duration
	// Off writes every event.
	Off bool
}

// NewAlerts writes events to w.
func NewAlerts(w io.Writer, limit AlertLimit) *Alerts {
	a := &Alerts{w: w, interval: limit.Interval, burst: float64(limit.Burst), now: time.Now}
	if a.burst <= 0 {
		a.burst = 20
	}
	if a.interval <= 0 {
		a.interval = 100 * time.Millisecond
	}
	if limit.Off {
		a.interval = 0
	}
	a.tokens = a.burst
	return a
}

// OpenAlerts opens the destination of `--alerts DEST`: "-" is stderr,
// anything else a file, created with mode 0600 if needed and appended to.
func OpenAlerts(dest string, limit AlertLimit) (*Alerts, error) {
	if dest == "" {
		return nil, errors.New("no alert destination: give a file name, or - for stderr")
	}
	if dest == "-" {
		return NewAlerts(os.Stderr, limit), nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the alert file: %w", err)
	}
	a := NewAlerts(f, limit)
	a.closer = f
	return a, nil
}

// Write writes ev, or counts it when the rate limit drops it. The error
// is that of the underlying writer.
func (a *Alerts) Write(ev audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.New("alerts: write after Close")
	}
	if !a.take() {
		a.pending++
		a.total++
		a.armTimer()
		return nil
	}
	if err := a.flushSummary(); err != nil {
		return err
	}
	return a.encode(ev)
}

// take spends one token if there is one, refilling first.
func (a *Alerts) take() bool {
	if a.interval == 0 {
		return true
	}
	now := a.now()
	if !a.last.IsZero() {
		a.tokens = min(a.burst, a.tokens+float64(now.Sub(a.last))/float64(a.interval))
	}
	a.last = now
	if a.tokens < 1 {
		return false
	}
	a.tokens--
	return true
}

// armTimer schedules a summary for when the next token is due, so a
// flood that stops is still reported without waiting for another event.
func (a *Alerts) armTimer() {
	if a.timer != nil {
		return
	}
	wait := time.Duration((1 - a.tokens) * float64(a.interval))
	a.timer = time.AfterFunc(max(wait, time.Millisecond), func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.timer = nil
		if a.closed || a.pending == 0 {
			return
		}
		if !a.take() {
			a.armTimer()
			return
		}
		a.flushSummary()
	})
}

// flushSummary writes the summary of dropped events, if any.
func (a *Alerts) flushSummary() error {
	if a.pending == 0 {
		return nil
	}
	n := a.pending
	a.pending = 0
	return a.encode(audit.Event{Time: a.now(), Action: "suppressed", Source: "notify", Suppressed: n,
		Reason: fmt.Sprintf("%d events were dropped by the alert rate limit", n)})
}

func (a *Alerts) encode(ev audit.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := a.w.Write(b); err != nil {
		if a.err == nil {
			a.err = err
		}
		return err
	}
	a.written++
	return nil
}

// Counts returns how many events were written (summaries included) and
// how many the rate limit dropped.
func (a *Alerts) Counts() (written, dropped uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.written, a.total
}

// Close writes the summary of events still pending and closes the file
// OpenAlerts opened. It returns the first write error seen.
func (a *Alerts) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.err
	}
	a.closed = true
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	err := a.flushSummary()
	if a.closer != nil {
		if cerr := a.closer.Close(); err == nil {
			err = cerr
		}
	}
	if a.err != nil {
		return a.err
	}
	return err
}
