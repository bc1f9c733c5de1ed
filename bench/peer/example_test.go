package peer_test

import (
	"fmt"

	"github.com/syscage/syscage/bench/peer"
)

// A range on one argument is two comparisons, which libseccomp refuses in
// one rule; OnePerArg rewrites it into masked equalities, one per rule.
func ExampleOnePerArg() {
	d := peer.DNF{peer.Conj{
		{Arg: 0, Width: 32, Op: peer.Ge, Value: 4},
		{Arg: 0, Width: 32, Op: peer.Le, Value: 11},
	}}
	one, err := peer.OnePerArg(d)
	if err != nil {
		panic(err)
	}
	for _, c := range one {
		fmt.Println(c)
	}
	// Output:
	// [arg0 & 0xfffffffc == 0x4]
	// [arg0 & 0xfffffffc == 0x8]
}
