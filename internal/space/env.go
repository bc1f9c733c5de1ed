package space

import (
	"slices"

	"github.com/syscage/syscage/policy"
)

// maxExactCaps bounds the capabilities whose every combination Envs
// lists.
const maxExactCaps = 6

// Envs returns the environments in which the only/except restrictions of
// rules can decide differently: every set of the capabilities they name
// (with more than six: none, all, each alone and all but each), each with
// the newest kernel, the oldest, and each minimum version they name.
// Without restrictions, the one environment of every capability on the
// newest kernel.
func Envs(rules []*policy.Rule) []policy.Env {
	var caps, kernels []string
	for _, r := range rules {
		for _, ap := range []*policy.Applies{r.Only, r.Except} {
			if ap == nil {
				continue
			}
			for _, c := range ap.Caps {
				if !slices.Contains(caps, c) {
					caps = append(caps, c)
				}
			}
			if ap.MinKernel != "" && !slices.Contains(kernels, ap.MinKernel) {
				kernels = append(kernels, ap.MinKernel)
			}
		}
	}
	capSets := [][]string{nil}
	switch {
	case len(caps) > 0 && len(caps) <= maxExactCaps:
		// Every subset: exact.
		for mask := 0; mask < 1<<len(caps); mask++ {
			set := []string{}
			for i, c := range caps {
				if mask&(1<<i) != 0 {
					set = append(set, c)
				}
			}
			capSets = append(capSets, set)
		}
	case len(caps) > 0:
		capSets = append(capSets, []string{})
		for _, c := range caps {
			capSets = append(capSets, []string{c})
			if len(caps) > 1 {
				capSets = append(capSets, slices.DeleteFunc(slices.Clone(caps), func(x string) bool { return x == c }))
			}
		}
	}
	vers := []string{""}
	if len(kernels) > 0 {
		vers = append(vers, "0")
		vers = append(vers, kernels...)
	}
	var out []policy.Env
	for _, cs := range capSets {
		for _, v := range vers {
			out = append(out, policy.Env{Caps: cs, Kernel: v})
		}
	}
	return out
}
