package sandbox_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/syscage/syscage/policy/profiles"
	"github.com/syscage/syscage/sandbox"
)

// Run a shell command under the embedded default profile. The program
// that does this is re-executed as the init stage, which package
// initialisation takes care of.
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
