package launch_test

import (
	"fmt"

	"github.com/syscage/syscage/sandbox/launch"
)

// Find a program as execve will: a name with a slash is taken as it is,
// any other is looked up in the PATH of the environment given.
func ExampleLookPath() {
	path, _, ok := launch.LookPath("./prog", nil)
	fmt.Println(path, ok)
	_, searched, ok := launch.LookPath("no-such-program", []string{"HOME=/root"})
	fmt.Println(searched, ok)
	// Output:
	// ./prog true
	// /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin false
}
