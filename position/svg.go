package position

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Charts of the HTML report: grouped horizontal bars drawn as inline SVG
// (no script, no external resource), readable in print.

type series struct{ name, color string }

type barRow struct {
	label  string
	values []float64
}

const (
	chartLabelW = 190
	chartPlotW  = 460
	chartValueW = 80
	chartBarH   = 9
	chartGap    = 7
	chartTop    = 34
)

// barChart draws rows of grouped bars (one bar per series) against one
// scale; unit formats the values ("" for counts, a currency otherwise).
func barChart(title string, ss []series, rows []barRow, unit string) template.HTML {
	if len(rows) == 0 {
		return template.HTML(`<p class="empty">Nothing to chart.</p>`)
	}
	maxV := 0.0
	for _, r := range rows {
		for _, v := range r.values {
			maxV = math.Max(maxV, v)
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	rowH := len(ss)*chartBarH + chartGap
	w := chartLabelW + chartPlotW + chartValueW
	h := chartTop + len(rows)*rowH + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, w, h, w, h)
	fmt.Fprintf(&b, `<title>%s</title>`, template.HTMLEscapeString(title))
	x := chartLabelW
	for _, s := range ss {
		fmt.Fprintf(&b, `<rect x="%d" y="6" width="10" height="10" fill="%s"/><text x="%d" y="15">%s</text>`, x, s.color, x+14, template.HTMLEscapeString(s.name))
		x += 14 + 7*len(s.name) + 18
	}
	// Grid: 0, ½, max.
	for i := 0; i <= 2; i++ {
		gx := chartLabelW + chartPlotW*i/2
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ccc"/>`, gx, chartTop-4, gx, h-20)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="#555">%s</text>`, gx, h-6, template.HTMLEscapeString(fmtValue(maxV*float64(i)/2, unit)))
	}
	for i, r := range rows {
		y := chartTop + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, chartLabelW-6, y+len(ss)*chartBarH/2+4, template.HTMLEscapeString(trim(r.label, 30)))
		for k, v := range r.values {
			bw := int(math.Round(v / maxV * chartPlotW))
			by := y + k*chartBarH
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>%s %s: %s</title></rect>`,
				chartLabelW, by, bw, chartBarH-1, ss[k].color, template.HTMLEscapeString(r.label), template.HTMLEscapeString(ss[k].name),
				template.HTMLEscapeString(fmtValue(v, unit)))
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="8" fill="#333">%s</text>`, chartLabelW+bw+3, by+chartBarH-1, template.HTMLEscapeString(fmtValue(v, unit)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text above is escaped
}

func fmtValue(v float64, unit string) string {
	if unit == "" {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return fmtMoney(v)
}

// fmtMoney formats an amount with thousands separators and two decimals.
func fmtMoney(v float64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := strconv.FormatFloat(v, 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String() + "." + frac
	if neg {
		return "−" + out
	}
	return out
}

func trim(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
