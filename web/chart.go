package web

import (
	"cmp"
	"slices"
)

// chart is the geometry of the dashboard's seat chart, an inline SVG drawn
// by the template: one row per product, the bar scaled to the product's own
// owned units (the dashed line at 100%) so that a small add-on reads as
// well as the main suite — assigned seats fill the bar, waiting users
// extend it past what is assigned (up to 130%). It comes in two layouts:
// wide (label, bar and figures on one line) and narrow (for phones: the
// label and figures above the bar); CSS shows one of them.
type chart struct {
	Width, Height int
	BarX, BarW    float64
	FullX         float64 // x of 100% of owned units
	ValueX        float64
	ValueAnchor   string // text-anchor of the figures
	BarH          int
	Rows          []chartRow
	More          int // products left out
}

type chartRow struct {
	skuRow
	LabelY, ValueY, BarY int
	OwnedW, AssignedW    float64
	WaitingX, WaitingW   float64
	Over                 bool // assigned + waiting > owned
	Title                string
}

const chartMax = 1.3 // the bar area shows up to 130% of owned units

// chartLayout places the parts of a row.
type chartLayout struct {
	width, rowH, barH    int
	barX, barW           float64
	labelY, valueY, barY int // offsets within a row
	valueX               float64
	valueAnchor          string
}

var (
	wideLayout   = chartLayout{width: 780, rowH: 30, barH: 16, barX: 196, barW: 400, labelY: 20, valueY: 20, barY: 7, valueX: 604, valueAnchor: "start"}
	narrowLayout = chartLayout{width: 360, rowH: 42, barH: 13, barX: 0, barW: 360, labelY: 14, valueY: 14, barY: 21, valueX: 360, valueAnchor: "end"}
)

// barChart lays out up to limit products, the largest (by owned units or
// demand) first.
func barChart(rows []skuRow, limit int, l chartLayout) chart {
	c := chart{Width: l.width, BarX: l.barX, BarW: l.barW, ValueX: l.valueX, ValueAnchor: l.valueAnchor, BarH: l.barH}
	c.FullX = c.BarX + c.BarW/chartMax
	rs := slices.Clone(rows)
	slices.SortStableFunc(rs, func(a, b skuRow) int {
		return cmp.Compare(max(b.Owned, b.Assigned+b.Waiting), max(a.Owned, a.Assigned+a.Waiting))
	})
	if len(rs) > limit {
		c.More = len(rs) - limit
		rs = rs[:limit]
	}
	for i, r := range rs {
		scale := float64(max(r.Owned, 1))
		if r.Owned == 0 {
			scale = float64(max(r.Assigned+r.Waiting, 1))
		}
		unit := (c.BarW / chartMax) / scale
		y := i * l.rowH
		cr := chartRow{skuRow: r, LabelY: y + l.labelY, ValueY: y + l.valueY, BarY: y + l.barY}
		cr.OwnedW = min(c.BarW, float64(r.Owned)*unit)
		cr.AssignedW = min(c.BarW, float64(r.Assigned)*unit)
		cr.WaitingX = c.BarX + cr.AssignedW
		cr.WaitingW = max(0, min(c.BarW-cr.AssignedW, float64(r.Waiting)*unit))
		if r.Waiting > 0 && cr.WaitingW < 3 {
			cr.WaitingW = min(3, c.BarW-cr.AssignedW)
		}
		cr.Over = r.Assigned+r.Waiting > r.Owned
		cr.Title = r.PartNumber + ": " + num(r.Assigned) + " of " + num(r.Owned) + " assigned, " + num(r.Waiting) + " waiting"
		c.Rows = append(c.Rows, cr)
	}
	c.Height = max(1, len(c.Rows)) * l.rowH
	return c
}
