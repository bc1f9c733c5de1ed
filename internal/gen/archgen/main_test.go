package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/syscage/syscage/internal/testenv"
)

// TestGeneratedFilesUpToDate regenerates the tables from the x/sys version
// go.mod requires and compares them with the committed files, so a
// dependency bump or a generator change cannot leave them stale.
func TestGeneratedFilesUpToDate(t *testing.T) {
	dir, version, err := locateSys()
	if err != nil {
		testenv.Unavailable(t, "golang.org/x/sys is not in the module cache: %v", err)
	}
	files, err := generate(dir, version)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "arch", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("arch/%s is stale: run `go generate ./arch`", name)
		}
	}
}

func TestSyscallName(t *testing.T) {
	tests := map[string]string{
		"SYS_READ":         "read",
		"SYS_NEWFSTATAT":   "newfstatat",
		"SYS__LLSEEK":      "_llseek",
		"SYS__NEWSELECT":   "_newselect",
		"SYS_FADVISE64_64": "fadvise64_64",
		"SYS__SYSCTL":      "_sysctl",
	}
	for in, want := range tests {
		if got := syscallName(in); got != want {
			t.Errorf("syscallName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDeriveX32(t *testing.T) {
	amd64 := []entry{{"read", 0}, {"rt_sigaction", 13}, {"readv", 19}, {"execveat", 322}}
	for name, nr := range only64 {
		if nr > 300 && name != "execveat" {
			amd64 = append(amd64, entry{name, nr})
		}
	}
	if err := checkTable("x86_64", amd64); err != nil {
		t.Fatal(err)
	}
	tab, err := deriveX32(amd64)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, e := range tab {
		got[e.name] = e.nr
	}
	want := map[string]int64{"read": x32Bit, "rt_sigaction": x32Bit | 512, "readv": x32Bit | 515, "pwritev2": x32Bit | 547}
	for name, nr := range want {
		if got[name] != nr {
			t.Errorf("x32 %s = %#x, want %#x", name, got[name], nr)
		}
	}
	// A "64" entry at another number than the cited one means the facts
	// are out of date; the generator must stop.
	if _, err := deriveX32(append(amd64, entry{"uselib", 999})); err == nil {
		t.Error("deriveX32 accepted uselib at 999")
	}
	if _, err := deriveX32([]entry{{"newcall", 520}}); err == nil {
		t.Error("deriveX32 accepted an x86_64 syscall in the x32 range")
	}
}

func TestSplitFactorsMajority(t *testing.T) {
	per := map[string]map[string]int64{}
	for i, tg := range targets {
		per[tg.name] = map[string]int64{"A": 1, "B": 2}
		if i == 1 {
			per[tg.name]["A"] = 7 // one arch differs
			delete(per[tg.name], "B")
		}
	}
	common, own, absent := split(per)
	if common["A"] != 1 || common["B"] != 2 {
		t.Errorf("common = %v", common)
	}
	odd := targets[1].name
	if own[odd]["A"] != 7 || len(own[targets[0].name]) != 0 {
		t.Errorf("own = %v", own)
	}
	if len(absent[odd]) != 1 || absent[odd][0] != "B" {
		t.Errorf("absent = %v", absent)
	}
}
