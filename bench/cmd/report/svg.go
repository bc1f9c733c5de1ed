package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// bar is one peer's pair of values in the chart.
type bar struct {
	Name             string
	Uncached, Cached float64
}

// chartSVG draws instructions per syscall by peer as horizontal bars: the
// mean with the kernel's cache off and with it on, and the optimal-tree
// bound as a dashed line. Plain SVG, no scripts or fonts to fetch.
func chartSVG(title string, bars []bar, bound float64) string {
	const (
		left, right, top = 170.0, 40.0, 56.0
		width            = 760.0
		rowH, barH       = 44.0, 16.0
	)
	height := top + rowH*float64(len(bars)) + 56
	maxV := bound
	for _, b := range bars {
		maxV = math.Max(maxV, math.Max(b.Uncached, b.Cached))
	}
	step := niceStep(maxV / 6)
	maxV = math.Ceil(maxV/step) * step
	x := func(v float64) float64 { return left + (width-left-right)*v/maxV }

	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&s, `<text x="%.0f" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left-150, html.EscapeString(title))
	// Legend.
	fmt.Fprintf(&s, `<rect x="%.0f" y="32" width="12" height="12" fill="#4e79a7"/><text x="%.0f" y="42">cache off</text>`+"\n", left, left+16)
	fmt.Fprintf(&s, `<rect x="%.0f" y="32" width="12" height="12" fill="#f28e2b"/><text x="%.0f" y="42">cache on (cached syscalls free)</text>`+"\n", left+100, left+116)
	fmt.Fprintf(&s, `<line x1="%.0f" y1="38" x2="%.0f" y2="38" stroke="#333" stroke-dasharray="4 3"/><text x="%.0f" y="42">optimal-tree bound (cache off)</text>`+"\n", left+330, left+358, left+362)
	// Grid and axis.
	base := top + rowH*float64(len(bars))
	for v := 0.0; v <= maxV+step/2; v += step {
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`+"\n", x(v), top-4, x(v), base)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.0f" text-anchor="middle" fill="#555">%g</text>`+"\n", x(v), base+16, v)
	}
	fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" text-anchor="middle" fill="#555">instructions per syscall, weighted by the bundled syscall mix</text>`+"\n", (left+width-right)/2, base+36)
	for i, b := range bars {
		y := top + rowH*float64(i)
		fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+barH+4, html.EscapeString(b.Name))
		fmt.Fprintf(&s, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="#4e79a7"/>`+"\n", left, y, x(b.Uncached)-left, barH)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" fill="#222">%s</text>`+"\n", x(b.Uncached)+4, y+barH-4, label(b.Uncached))
		fmt.Fprintf(&s, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="#f28e2b"/>`+"\n", left, y+barH+2, x(b.Cached)-left, barH)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" fill="#222">%s</text>`+"\n", x(b.Cached)+4, y+2*barH-2, label(b.Cached))
	}
	if bound > 0 {
		fmt.Fprintf(&s, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#333" stroke-width="1.5" stroke-dasharray="4 3"/>`+"\n", x(bound), top-6, x(bound), base)
	}
	s.WriteString("</svg>\n")
	return s.String()
}

// label prints a bar's value with two significant decimals below 10.
func label(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// niceStep rounds a grid step up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
