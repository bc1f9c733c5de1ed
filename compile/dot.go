package compile

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/syscage/syscage/arch"
	"github.com/syscage/syscage/bpf"
)

// WriteDot draws the filters as a Graphviz digraph (dot -Tsvg): one box
// per load or test, named as a listing names it, with a green edge where
// a test holds and a red dashed one where it does not, and one oval per
// distinct return value of a filter, which every path to that value
// joins. Each filter of a stack is a cluster.
func (r *Result) WriteDot(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "digraph syscage {")
	fmt.Fprintln(bw, "\tnode [fontname=\"monospace\", fontsize=10];")
	fmt.Fprintln(bw, "\tedge [fontname=\"monospace\", fontsize=9];")
	opts := bpf.DisasmOptions{Namer: arch.Names()}
	if len(r.Arches) > 0 {
		opts.Arch = r.Arches[0].AuditArch
	}
	for fi, p := range r.Filters {
		lines := bpf.Listing(p, opts)
		id := func(pc int) string {
			if pc < len(p) && p[pc].IsReturn() {
				return fmt.Sprintf("f%d_ret_%08x", fi, p[pc].K)
			}
			return fmt.Sprintf("f%d_%d", fi, pc)
		}
		if len(r.Filters) > 1 {
			fmt.Fprintf(bw, "\tsubgraph cluster_%d {\n\tlabel=%q;\n", fi, fmt.Sprintf("filter %d of %d", fi+1, len(r.Filters)))
		}
		rets := map[uint32]bool{}
		for pc, ins := range p {
			switch {
			case ins.IsReturn():
				if !rets[ins.K] {
					rets[ins.K] = true
				}
			case ins.IsConditionalJump():
				fmt.Fprintf(bw, "\t%s [shape=box, label=%q];\n", id(pc), condText(lines[pc].Text))
				fmt.Fprintf(bw, "\t%s -> %s [color=darkgreen];\n", id(pc), id(pc+1+int(ins.Jt)))
				fmt.Fprintf(bw, "\t%s -> %s [color=red, style=dashed];\n", id(pc), id(pc+1+int(ins.Jf)))
			case ins.IsJump():
				fmt.Fprintf(bw, "\t%s [shape=point];\n", id(pc))
				fmt.Fprintf(bw, "\t%s -> %s;\n", id(pc), id(pc+1+int(ins.K)))
			default:
				fmt.Fprintf(bw, "\t%s [shape=box, style=rounded, label=%q];\n", id(pc), lines[pc].Text)
				fmt.Fprintf(bw, "\t%s -> %s;\n", id(pc), id(pc+1))
			}
		}
		keys := make([]uint32, 0, len(rets))
		for k := range rets {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		for _, k := range keys {
			color := "lightcoral"
			switch bpf.ActionOf(k) {
			case bpf.RetAllow:
				color = "palegreen"
			case bpf.RetLog, bpf.RetTrace, bpf.RetUserNotif:
				color = "lightyellow"
			case bpf.RetErrno:
				color = "lightsalmon"
			}
			fmt.Fprintf(bw, "\tf%d_ret_%08x [shape=oval, style=filled, fillcolor=%s, label=%q];\n", fi, k, color, bpf.ActionString(k))
		}
		if len(r.Filters) > 1 {
			fmt.Fprintln(bw, "\t}")
		}
	}
	fmt.Fprintln(bw, "}")
	return bw.Flush()
}

// condText turns "if (A >= munmap) goto 0011 else goto 0012" into
// "A >= munmap".
func condText(s string) string {
	if i := strings.Index(s, "if ("); i >= 0 {
		rest := s[i+4:]
		if j := strings.LastIndex(rest, ") goto"); j >= 0 {
			return rest[:j]
		}
	}
	return s
}
