package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/syscage/syscage/bench/peer"
)

// machine describes where the report was measured.
type machine struct {
	CPU, Kernel, Go string
	Cores           int
	Versions        [][2]string // what, version
	Commit          string
}

func describeMachine() machine {
	m := machine{CPU: "unknown", Cores: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:]) + " " + unix.ByteSliceToString(u.Machine[:])
	}
	m.Versions = append(m.Versions, [2]string{"libseccomp (C library, linked)", peer.LibseccompVersion()})
	if out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "libseccomp2").Output(); err == nil {
		m.Versions = append(m.Versions, [2]string{"libseccomp2 (Debian package)", string(out)})
	}
	for _, path := range []string{
		"github.com/seccomp/libseccomp-golang",
		"gvisor.dev/gvisor",
		"github.com/elastic/go-seccomp-bpf",
		"github.com/moby/profiles/seccomp",
		"github.com/opencontainers/runtime-spec",
	} {
		m.Versions = append(m.Versions, [2]string{path, moduleVersion(path)})
	}
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}
