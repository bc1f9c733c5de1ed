package notify_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/notify"
	"github.com/syscage/syscage/policy"
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
// policy notifies them, within the policy's files block.
func ExampleNewPolicyBroker() {
	src := `default errno(EPERM)
files errno(EACCES) {
    read dir /usr /etc
    read write create /tmp
    deny /etc/shadow
}
notify open openat openat2 creat
allow read write close exit_group
`
	p, err := policy.Parse("app.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	b, err := notify.NewPolicyBroker(p)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	// The filter compiled from p hands its listener to the supervisor,
	// which answers the notified opens; PolicyHandler answers anything
	// else the filter notifies as the policy says.
	opts := notify.Options{Unhandled: notify.PolicyHandler(p, policy.Env{})}
	if err := notify.Serve(context.Background(), listenerFromSandbox(), b.Handlers(), opts); err != nil {
		log.Fatal(err)
	}
}

// The broker's rules for a files block: one per path.
func ExampleFileRulesOf() {
	src := "default allow\nfiles {\n    read dir /usr /etc\n    deny /etc/shadow\n}\nnotify openat\n"
	p, err := policy.Parse("app.policy", []byte(src), policy.ParseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	rules := notify.FileRulesOf(p.Files)
	for _, r := range rules.Rules {
		fmt.Println(r.Source)
	}
	fmt.Println("refusals:", rules.Errno())
	// Output:
	// app.policy:3:14: read dir /usr
	// app.policy:3:19: read dir /etc
	// app.policy:4:10: deny /etc/shadow
	// refusals: permission denied
}

func listenerFromSandbox() int { return -1 }
