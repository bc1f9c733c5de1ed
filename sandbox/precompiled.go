package sandbox

import (
	"github.com/syscage/syscage/policy/profiles"
)

//go:generate go test -run ^TestPrecompiledProfiles$ -update .

// precompiled is an embedded profile compiled when syscage was built
// (zprecompiled_amd64.go, written by `go generate ./sandbox`), so that
// syscage run with it neither parses nor compiles it: most of a
// millisecond of every start. Only profiles whose compiled form depends
// on neither the program's capabilities nor the kernel's version are
// precompiled, and one is used only while the embedded text it was
// compiled from is still the text embedded: an edited profile is
// compiled again at run time.
type precompiled struct {
	name    string   // the embedded profile
	sources []source // the embedded files it was compiled from
	compiled
}

// source is the text of one embedded profile file when it was compiled.
type source struct {
	name string // profile name, as profiles.Source takes it
	text string
}

// UseProfile sets Filters, Flags and Gate for the named embedded profile,
// as UsePolicy does with the profile profiles.Get returns, but from the
// form compiled when syscage was built when there is one (see
// package profiles for the names). Set the capability fields first.
func (c *Command) UseProfile(name string) error {
	if cp := lookupPrecompiled(name, profiles.Source); cp != nil {
		c.use(cp)
		return nil
	}
	p, err := profiles.Get(name)
	if err != nil {
		return err
	}
	return c.UsePolicy(p)
}

// lookupPrecompiled returns the precompiled form of the named profile,
// or nil when there is none or read gives another text than the one it
// was compiled from.
func lookupPrecompiled(name string, read func(string) ([]byte, error)) *compiled {
	for i := range precompiledProfiles {
		pc := &precompiledProfiles[i]
		if pc.name != name {
			continue
		}
		for _, s := range pc.sources {
			text, err := read(s.name)
			if err != nil || string(text) != s.text {
				return nil
			}
		}
		return &pc.compiled
	}
	return nil
}
