// Package bench is the root of syscage's benchmark module: a module of its
// own, so that the main module keeps no cgo and no peer dependencies. Its
// packages wire in the peers (peer, moby), generate policies and inputs
// (gen), check syscage against libseccomp and the kernel (differential),
// measure (measure) and write the report (cmd/report); this package holds
// the go test benchmarks:
//
//	cd bench && go test -run '^$' -bench . -benchtime 200x
//
// README.md explains every command.
package bench
