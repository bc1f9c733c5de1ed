package record

import (
	"fmt"
	"testing"
)

func TestSmoke(t *testing.T) {
	for _, argv := range [][]string{{testProgram(t, "threads")}, {testProgram(t, "chain"), "2"}, {testProgram(t, "daemon"), "/tmp/rx/daemon.out"}, {testProgram(t, "sock")}} {
		var sets []map[string]uint64
		for _, b := range []Backend{BackendPtrace, BackendEBPF} {
			rec := recordIt(t, b, nil, argv...)
			t.Logf("%s %s: total %d exit %v notes %v procs %d threads %d execs %v %v", argv[0], rec.Backend, rec.Total(), rec.Exit, rec.Notes, rec.Processes, rec.Threads, rec.Execs, rec.End.Sub(rec.Start))
			m := map[string]uint64{}
			for _, s := range rec.Syscalls {
				m[s.String()] = s.Count
				if len(s.Args) > 0 {
					m[s.String()+fmt.Sprint(s.Args)] = 1
				}
			}
			sets = append(sets, m)
		}
		for k, v := range sets[0] {
			if sets[1][k] != v {
				t.Logf("  diff %s: ptrace %d ebpf %d", k, v, sets[1][k])
			}
		}
		for k, v := range sets[1] {
			if _, ok := sets[0][k]; !ok {
				t.Logf("  diff %s: ptrace - ebpf %d", k, v)
			}
		}
	}
}
