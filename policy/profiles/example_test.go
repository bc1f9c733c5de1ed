package profiles_test

import (
	"fmt"

	"github.com/syscage/syscage/policy/profiles"
)

func ExampleGet() {
	p, err := profiles.Get("no-network")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Source, p.Default)
	_, err = profiles.Get("no-netwrk")
	fmt.Println(err)
	// Output:
	// profile:no-network errno(EPERM)
	// unknown profile "no-netwrk": the embedded profiles are default, no-exec, no-network, strict, or give the path of a policy file; did you mean "no-network"?
}
