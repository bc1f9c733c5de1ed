package notify_test

import (
	"context"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/notify"
)

// A supervisor with a handler of its own: mkdirat of the sandboxed
// program fails with EPERM, and the refusal is an alert on stderr.
func ExampleServe() {
	// The listener comes from the sandboxed process: it installs its
	// filter with seccomp.FlagNewListener and hands the descriptor over
	// with SCM_RIGHTS (see docs/supervisor.md).
	listener := listenerFromSandbox()
	alerts := notify.NewAlerts(os.Stderr, notify.AlertLimit{})
	defer alerts.Close()
	h := notify.Handlers{
		"mkdirat": func(ctx context.Context, r *notify.Request) notify.Response {
			path, err := r.ReadString(r.Arg(1), notify.PathMax)
			if err != nil {
				return notify.Fail(notify.ErrnoOf(err))
			}
			resp := notify.Deny(unix.EPERM, "no new directories")
			resp.Path = path
			return resp
		},
	}
	if err := notify.Serve(context.Background(), listener, h, notify.Options{Alerts: alerts}); err != nil {
		log.Fatal(err)
	}
}

// The file broker serves the file-opening syscalls of a program whose
// filter notifies them.
func ExampleBroker() {
	rules, err := notify.ParseFileRules("app.files", []byte("read dir /usr /etc\nread,write,create /tmp\ndeny /etc/shadow\n"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := notify.NewBroker(rules)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	if err := notify.Serve(context.Background(), listenerFromSandbox(), b.Handlers(), notify.Options{}); err != nil {
		log.Fatal(err)
	}
}

func listenerFromSandbox() int { return -1 }
