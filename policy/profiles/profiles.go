// Package profiles embeds syscage's bundled policies: default, strict,
// no-network and no-exec (docs/profiles.md describes each). They are
// written in the native policy language and parsed on request.
package profiles

import (
	"fmt"
	"slices"
	"strings"

	"github.com/syscage/syscage/internal/suggest"
	"github.com/syscage/syscage/policy"
	"github.com/syscage/syscage/policy/profiles/embedded"
)

// Default is the name of the profile syscage run applies when none is
// given.
const Default = "default"

// Names lists the embedded profiles, sorted.
func Names() []string { return embedded.Names() }

// Source returns the text of the named profile.
func Source(name string) ([]byte, error) {
	b, ok := embedded.Source(name)
	if !ok {
		return nil, unknown(name)
	}
	return b, nil
}

// Get parses the named profile. Its Source is "profile:NAME"; included
// files resolve among the embedded ones.
func Get(name string) (*policy.Policy, error) {
	if !slices.Contains(Names(), name) {
		return nil, unknown(name)
	}
	p, err := policy.ParseFile(name+".policy", policy.ParseOptions{FS: embedded.FS})
	if err != nil {
		// An embedded profile that does not parse is a bug of syscage.
		return nil, fmt.Errorf("embedded profile %q: %w", name, err)
	}
	p.Source = "profile:" + name
	return p, nil
}

func unknown(name string) error {
	return fmt.Errorf("unknown profile %q: the embedded profiles are %s, or give the path of a policy file%s",
		name, strings.Join(Names(), ", "), suggest.Phrase(suggest.Nearest(name, Names(), 2)))
}
