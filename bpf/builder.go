package bpf

import (
	"errors"
	"fmt"
	"sort"

	"github.com/syscage/syscage/internal/suggest"
)

// Builder assembles a program whose jumps name their targets by label
// instead of by offset. Program resolves the labels; where a conditional
// jump's target lies beyond the 255 instructions its 8-bit jt/jf field can
// reach, it routes the jump through a trampoline: an unconditional JA,
// whose 32-bit offset reaches anywhere, placed within reach at a point
// that execution can only enter by jumping (after a RET or a jump), so the
// program's behaviour is unchanged.
//
// Classic BPF jumps only forward (include/uapi/linux/filter.h: offsets are
// unsigned), so every label must be defined after the jumps that use it.
// Errors are collected and reported together by Program.
type Builder struct {
	items  []item
	labels map[string]int // label -> index of the item it marks
	errs   []error
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{labels: map[string]int{}}
}

// targetKind says how a jump names its target before resolution.
type targetKind uint8

const (
	toNext  targetKind = iota // the item after the jump
	toLabel                   // a Builder label
	toIndex                   // an absolute item index (raw offsets, numeric assembler targets)
)

// target is one jump destination before resolution.
type target struct {
	kind  targetKind
	label string
	index uint64
}

// shape is how an instruction transfers control, which decides which of
// its fields are offsets and whether execution can fall through it.
type shape uint8

const (
	shapeNone   shape = iota // not a jump: falls through unless it is a RET
	shapeAlways              // JA-like: K is the offset
	shapeCond                // conditional: jt and jf are offsets
)

// shapeOf classifies an opcode the way the kernel decodes jumps: any
// BPF_JMP whose operation bits are BPF_JA is unconditional, every other
// BPF_JMP reads jt/jf (net/core/filter.c: bpf_check_classic checks the
// offsets the same way).
func shapeOf(op uint16) shape {
	if op&0x07 != ClassJMP {
		return shapeNone
	}
	if op&0xf0 == JmpJA {
		return shapeAlways
	}
	return shapeCond
}

// item is one instruction as given to the Builder, with symbolic targets.
type item struct {
	ins    Instruction
	shape  shape
	jt, jf target // jt is the only target of a JA
}

// Label marks the next instruction emitted with name. Each name may be
// defined once.
func (b *Builder) Label(name string) {
	if name == "" {
		b.errs = append(b.errs, fmt.Errorf("label before instruction %d: empty label name", len(b.items)))
		return
	}
	if at, dup := b.labels[name]; dup {
		b.errs = append(b.errs, fmt.Errorf("label %q defined twice: before instruction %d and again before instruction %d; rename one", name, at, len(b.items)))
		return
	}
	b.labels[name] = len(b.items)
}

// Emit appends ins. A jump given this way keeps its meaning in terms of
// the Builder's own instructions: "jt = 2" still skips the next two
// instructions emitted, even if trampolines end up between them.
func (b *Builder) Emit(ins Instruction) {
	i := uint64(len(b.items))
	it := item{ins: ins, shape: shapeOf(ins.Op)}
	switch it.shape {
	case shapeAlways:
		it.jt = target{kind: toIndex, index: i + 1 + uint64(ins.K)}
	case shapeCond:
		it.jt = target{kind: toIndex, index: i + 1 + uint64(ins.Jt)}
		it.jf = target{kind: toIndex, index: i + 1 + uint64(ins.Jf)}
	}
	b.items = append(b.items, it)
}

// JumpTo appends an unconditional jump (JA) to label.
func (b *Builder) JumpTo(label string) {
	b.items = append(b.items, item{ins: Jump(0), shape: shapeAlways, jt: labelTarget(label)})
}

// JumpIf appends a conditional jump comparing A with the constant k: op is
// JmpJEQ, JmpJGT, JmpJGE or JmpJSET. An empty label means the next
// instruction.
func (b *Builder) JumpIf(op uint16, k uint32, trueLabel, falseLabel string) {
	b.cond(JumpIf(op, k, 0, 0), op, trueLabel, falseLabel)
}

// JumpIfX appends a conditional jump comparing A with X; see JumpIf.
func (b *Builder) JumpIfX(op uint16, trueLabel, falseLabel string) {
	b.cond(JumpIfX(op, 0, 0), op, trueLabel, falseLabel)
}

func (b *Builder) cond(ins Instruction, op uint16, t, f string) {
	switch op {
	case JmpJEQ, JmpJGT, JmpJGE, JmpJSET:
	default:
		b.errs = append(b.errs, fmt.Errorf("instruction %d: conditional jump operation 0x%02x is not JmpJEQ, JmpJGT, JmpJGE or JmpJSET", len(b.items), op))
	}
	b.items = append(b.items, item{ins: ins, shape: shapeCond, jt: labelTarget(t), jf: labelTarget(f)})
}

func labelTarget(name string) target {
	if name == "" {
		return target{kind: toNext}
	}
	return target{kind: toLabel, label: name}
}

// Ret appends "return k".
func (b *Builder) Ret(k uint32) { b.Emit(Ret(k)) }

// Len returns the number of instructions emitted so far, trampolines not
// included.
func (b *Builder) Len() int { return len(b.items) }

// Program resolves the labels and returns the program. It reports every
// undefined, duplicate, misplaced or backward label at once. It does not
// check the program otherwise (Validate does).
func (b *Builder) Program() (Program, error) {
	errs := append([]error(nil), b.errs...)
	n := len(b.items)
	names := make([]string, 0, len(b.labels))
	for name := range b.labels {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if b.labels[name] == n {
			errs = append(errs, fmt.Errorf("label %q is at the end of the program with no instruction after it; a label marks the next instruction", name))
		}
	}
	items := make([]item, n)
	copy(items, b.items)
	for i := range items {
		for w, t := range []*target{&items[i].jt, &items[i].jf} {
			if t.kind != toLabel {
				continue
			}
			at, ok := b.labels[t.label]
			if !ok {
				errs = append(errs, fmt.Errorf("instruction %d: %s to undefined label %q%s", i, branchName(items[i].shape, w), t.label, suggest.Phrase(suggest.Nearest(t.label, names, 3))))
				*t = target{kind: toNext}
				continue
			}
			*t = target{kind: toIndex, index: uint64(at)}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if n == 0 {
		return nil, errors.New("empty program: a filter needs at least one instruction")
	}
	p, _, lerrs := layout(items, false)
	for _, e := range lerrs {
		errs = append(errs, fmt.Errorf("instruction %d: %s", e.item, e.msg))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// branchName names branch w (0 = jt, 1 = jf) of an instruction in errors.
func branchName(s shape, w int) string {
	switch {
	case s == shapeAlways:
		return "jump"
	case w == 0:
		return "true branch"
	default:
		return "false branch"
	}
}

// itemError is a resolution error at one item.
type itemError struct {
	item int
	msg  string
}

// trampoline is a JA inserted to extend a conditional jump's reach.
type trampoline struct {
	to    uint64 // item index it jumps to
	users int
	pos   uint64 // final index, set by place
}

// layouter places items and trampolines. Items keep their order; the
// trampolines of island j sit right after item j.
type layouter struct {
	items   []item
	islands [][]*trampoline
	hops    [][2]*trampoline // per item and branch: the trampoline used, or nil
	tgt     [][2]uint64      // per item and branch: resolved item index
	pos     []uint64         // final index of each item
	total   uint64
}

// layout resolves the targets of items (all toNext or toIndex by now) to
// offsets. Targets past the last item are an error unless allowPastEnd,
// which the text assembler sets so that any decodable program, even one
// the kernel would reject, survives a disassembly round trip; such a
// target keeps its distance from the end of the program. It returns the
// program and the final index of each item.
func layout(items []item, allowPastEnd bool) (Program, []uint64, []itemError) {
	n := uint64(len(items))
	l := &layouter{
		items:   items,
		islands: make([][]*trampoline, len(items)),
		hops:    make([][2]*trampoline, len(items)),
		tgt:     make([][2]uint64, len(items)),
		pos:     make([]uint64, len(items)),
	}
	var errs []itemError
	for i, it := range items {
		if it.shape == shapeNone {
			continue
		}
		for w, t := range [2]target{it.jt, it.jf} {
			if w == 1 && it.shape == shapeAlways {
				break
			}
			idx := uint64(i) + 1
			if t.kind == toIndex {
				idx = t.index
			}
			l.tgt[i][w] = idx
			switch {
			case idx <= uint64(i):
				errs = append(errs, itemError{i, fmt.Sprintf("%s goes backward to instruction %d; classic BPF jumps only forward", branchName(it.shape, w), idx)})
			case idx >= n && !allowPastEnd:
				errs = append(errs, itemError{i, fmt.Sprintf("%s lands past the end of the program (instruction %d of %d)", branchName(it.shape, w), idx, n)})
			}
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	l.place()
	if errs = l.extend(); len(errs) > 0 {
		return nil, nil, errs
	}
	l.prune()
	return l.emit()
}

// place computes the final index of every item and trampoline.
func (l *layouter) place() {
	var p uint64
	for j := range l.items {
		l.pos[j] = p
		p++
		for _, tr := range l.islands[j] {
			tr.pos = p
			p++
		}
	}
	l.total = p
}

// final returns the final index of item index idx; indexes past the end
// keep their distance from the end.
func (l *layouter) final(idx uint64) uint64 {
	if n := uint64(len(l.items)); idx >= n {
		return l.total + (idx - n)
	}
	return l.pos[idx]
}

// reach is how far a conditional jump can go: jt/jf are 8 bits.
const reach = MaxConditionalJumpRange

// extend adds trampolines until every conditional branch reaches its
// target or a trampoline to it. Trampolines and islands only grow, so
// distances only grow and a branch that fits stays fitting unless
// something is inserted between; the loop ends because each round either
// changes nothing or adds a trampoline, and the trampolines a branch can
// need are finite.
func (l *layouter) extend() []itemError {
	for {
		changed := false
		for i, it := range l.items {
			if it.shape != shapeCond {
				continue
			}
			for w := range 2 {
				if l.fits(i, w) {
					continue
				}
				to := l.tgt[i][w]
				if to >= uint64(len(l.items)) {
					return []itemError{{i, fmt.Sprintf("%s lands past the end of the program, %d instructions away: beyond the %d a conditional jump reaches",
						branchName(it.shape, w), l.final(to)-l.pos[i]-1, reach)}}
				}
				if l.hops[i][w] != nil {
					l.hops[i][w].users--
				}
				tr := l.reuse(i, to)
				if tr == nil {
					tr = l.insert(i, to)
					if tr == nil {
						return []itemError{{i, fmt.Sprintf("%s to instruction %d: no room for a trampoline within %d instructions", branchName(it.shape, w), to, reach)}}
					}
					l.place()
				}
				tr.users++
				l.hops[i][w] = tr
				changed = true
			}
		}
		if !changed {
			return nil
		}
	}
}

// fits reports whether branch w of item i reaches where it goes now.
func (l *layouter) fits(i, w int) bool {
	dest := l.final(l.tgt[i][w])
	if tr := l.hops[i][w]; tr != nil {
		dest = tr.pos
	}
	return dest-l.pos[i]-1 <= reach
}

// reuse finds an existing trampoline to item to within reach of item i.
func (l *layouter) reuse(i int, to uint64) *trampoline {
	limit := l.pos[i] + 1 + reach
	var best *trampoline
	for j := i; j < len(l.items) && l.pos[j] < limit; j++ {
		for _, tr := range l.islands[j] {
			if tr.to == to && tr.pos <= limit {
				best = tr // the farthest one serves later jumps too
			}
		}
	}
	return best
}

// insert adds a trampoline to item to for a branch of item i, in the
// farthest island it can reach: after an item that execution cannot fall
// through (a RET or a jump), so only jumps enter it. Item i itself is
// such an item, so there is always a candidate unless its island is full.
func (l *layouter) insert(i int, to uint64) *trampoline {
	limit := l.pos[i] + 1 + reach
	for j := min(int(to)-1, len(l.items)-1); j >= i; j-- {
		slot := l.pos[j] + 1 + uint64(len(l.islands[j]))
		if slot > limit || !l.closed(j) {
			continue
		}
		tr := &trampoline{to: to}
		l.islands[j] = append(l.islands[j], tr)
		return tr
	}
	return nil
}

// closed reports whether execution cannot fall through item j.
func (l *layouter) closed(j int) bool {
	it := l.items[j]
	return it.shape != shapeNone || it.ins.Class() == ClassRET
}

// prune sends branches straight to their targets where they now reach,
// drops trampolines nobody uses, and repeats: removing instructions only
// shortens distances, so every branch that fits keeps fitting.
func (l *layouter) prune() {
	for {
		changed := false
		for i := range l.items {
			for w := range 2 {
				tr := l.hops[i][w]
				if tr == nil {
					continue
				}
				if l.final(l.tgt[i][w])-l.pos[i]-1 <= reach {
					tr.users--
					l.hops[i][w] = nil
					changed = true
				}
			}
		}
		for j, isl := range l.islands {
			kept := isl[:0]
			for _, tr := range isl {
				if tr.users > 0 {
					kept = append(kept, tr)
				} else {
					changed = true
				}
			}
			l.islands[j] = kept
		}
		l.place()
		if !changed {
			return
		}
	}
}

// emit writes the final program.
func (l *layouter) emit() (Program, []uint64, []itemError) {
	p := make(Program, 0, l.total)
	var errs []itemError
	for i, it := range l.items {
		ins := it.ins
		switch it.shape {
		case shapeAlways:
			off := l.final(l.tgt[i][0]) - l.pos[i] - 1
			if off > 0xffffffff {
				errs = append(errs, itemError{i, fmt.Sprintf("jump offset %d does not fit in 32 bits", off)})
			}
			ins.K = uint32(off)
		case shapeCond:
			for w, f := range []*uint8{&ins.Jt, &ins.Jf} {
				dest := l.final(l.tgt[i][w])
				if tr := l.hops[i][w]; tr != nil {
					dest = tr.pos
				}
				*f = uint8(dest - l.pos[i] - 1)
			}
		}
		p = append(p, ins)
		for _, tr := range l.islands[i] {
			p = append(p, Jump(uint32(l.final(tr.to)-tr.pos-1)))
		}
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return p, l.pos, nil
}
