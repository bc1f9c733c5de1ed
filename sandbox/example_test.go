package sandbox_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/syscage/syscage/notify"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/policy/profiles"
	"github.com/syscage/syscage/sandbox"
)

// Run a shell command under the embedded default profile. The default
// profile allows the Go runtime's own calls, so the program is forked
// directly from a filtered thread; other profiles re-execute the
// program as the init stage, which package initialisation takes care
// of.
func ExampleCommand() {
	p, err := profiles.Get("default")
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &sandbox.Command{Path: "sh", Args: []string{"sh", "-c", "echo hello from the cage; exit 3"}, Stdout: os.Stdout}
	if err := c.UsePolicy(p); err != nil {
		fmt.Println(err)
		return
	}
	ex, err := c.Run()
	var se *sandbox.StartError
	if errors.As(err, &se) {
		fmt.Println("not started:", se, "exit code", se.Code)
		return
	}
	fmt.Println("exit code", ex.Code)
	// Output:
	// hello from the cage
	// exit code 3
}

// Filter the calling Go program itself, on every thread. (Not run here:
// a test process must never filter itself.)
func ExampleSelfPolicy() {
	p, err := profiles.Get("default")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := sandbox.SelfPolicy(p); err != nil {
		fmt.Println("cannot sandbox myself:", err)
		return
	}
	// From here on, every thread of this program runs under the profile.
}

// Run a command under an embedded profile, taken in the form compiled
// when syscage was built.
func ExampleCommand_UseProfile() {
	c := &sandbox.Command{Path: "sh", Args: []string{"sh", "-c", "echo under no-network"}, Stdout: os.Stdout}
	if err := c.UseProfile("no-network"); err != nil {
		fmt.Println(err)
		return
	}
	ex, err := c.Run()
	if err != nil {
		fmt.Println("not started:", err)
		return
	}
	fmt.Println("exit code", ex.Code)
	// Output:
	// under no-network
	// exit code 0
}

// Replace the calling program with a sandboxed one, with no supervisor
// left behind. (Not run here: the test process would become the
// program.)
func ExampleCommand_Exec() {
	c := &sandbox.Command{Path: "sh", Args: []string{"sh", "-c", "echo hello from the cage"}}
	if err := c.UseProfile("default"); err != nil {
		fmt.Println(err)
		return
	}
	err := c.Exec() // returns only when the program could not start
	var se *sandbox.StartError
	if errors.As(err, &se) {
		fmt.Fprintln(os.Stderr, "not started:", se)
		os.Exit(se.Code)
	}
}

// Run a program under a policy file with a files block, its opens served
// by the file broker in this process, with alerts on stderr and the
// sandbox killed at the first refusal. (Not run here: it needs the
// policy file.)
func ExampleCommand_UseSupervisedPolicy() {
	p, err := policy.ParseFile("app.policy", policy.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	alerts, err := notify.OpenAlerts("-", notify.AlertLimit{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer alerts.Close()
	c := &sandbox.Command{Path: "./app"}
	err = c.UseSupervisedPolicy(p, sandbox.SupervisorOptions{
		Alerts:          alerts,
		KillOnViolation: true,
		OnKill:          func(r *notify.Request) { fmt.Fprintln(os.Stderr, "killed at", r.Syscall) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ex, err := c.Run() // the supervisor stops once the program has ended
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("exit code", ex.Code)
}

// Ask how a command would start: directly from a filtered thread of the
// caller, or through the re-executed init stage.
func ExampleCommand_WhyNotDirect() {
	c := &sandbox.Command{Path: "/bin/true"}
	if err := c.UseProfile("default"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("default: %q\n", c.WhyNotDirect())
	c.NewNetwork = true // a new network namespace needs the stage
	fmt.Println("with a network namespace, direct:", c.WhyNotDirect() == "")
	// Output:
	// default: ""
	// with a network namespace, direct: false
}

// A program that knows it will start a Command calls Prepare first, so
// that the signal subscription and the launching thread get going while
// it sets the Command up. (Not run here: it subscribes the test binary
// to signals for the rest of its life.)
func ExamplePrepare() {
	sandbox.Prepare()
	c := &sandbox.Command{Path: "sh", Args: []string{"sh", "-c", "echo hi"}, ForwardSignals: true}
	if err := c.UseProfile("default"); err != nil {
		fmt.Println(err)
		return
	}
	if ex, err := c.Run(); err == nil {
		fmt.Println("exit code", ex.Code)
	}
}
