package position

import (
	"embed"
	"html/template"
	"io"
	"sort"
	"strings"
)

//go:embed templates/report.html
var templatesFS embed.FS

var reportTmpl = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"money": func(v *float64) string {
		if v == nil {
			return "—"
		}
		return fmtMoney(*v)
	},
	"money2":   fmtMoney,
	"deref":    func(s *string) string { return *s },
	"join":     func(ss []string) string { return strings.Join(ss, ", ") },
	"evidence": EvidenceText,
	"deltaClass": func(v *float64) string {
		switch {
		case v == nil:
			return ""
		case *v < 0:
			return "saving"
		case *v > 0:
			return "cost"
		}
		return ""
	},
}).ParseFS(templatesFS, "templates/report.html"))

// HTMLOptions tune WriteHTML.
type HTMLOptions struct {
	Tenant      string // the tenant's name, for the title
	MaxFindings int    // findings listed (default 2000; the CSV has all)
	MaxSKUs     int    // products in the seats chart (default 25)
}

// WriteHTML writes a printable report: totals, charts (seats per product,
// cost of waste, findings by kind) as inline SVG, the product table and
// the findings. It needs no script and no network.
func WriteHTML(w io.Writer, p *Position, o HTMLOptions) error {
	if o.MaxFindings <= 0 {
		o.MaxFindings = 2000
	}
	if o.MaxSKUs <= 0 {
		o.MaxSKUs = 25
	}
	d := struct {
		P                      *Position
		Tenant, Generated      string
		SeatsChart, WasteChart template.HTML
		KindsChart             template.HTML
		SeatsTruncated         bool
		SeatsShown             int
		Findings               []Finding
		Truncated              bool
	}{P: p, Tenant: o.Tenant, Generated: p.GeneratedAt.Format("2006-01-02 15:04 UTC")}
	if d.Tenant == "" {
		d.Tenant = "tenant"
	}
	p.EachFinding(func(f *Finding) bool {
		if len(d.Findings) == o.MaxFindings {
			d.Truncated = true
			return false
		}
		d.Findings = append(d.Findings, *f)
		return true
	})
	skus := append([]SKU(nil), p.SKUs...)
	sort.SliceStable(skus, func(i, j int) bool {
		return max(skus[i].Owned, skus[i].Assigned) > max(skus[j].Owned, skus[j].Assigned)
	})
	if len(skus) > o.MaxSKUs {
		skus, d.SeatsTruncated = skus[:o.MaxSKUs], true
	}
	d.SeatsShown = len(skus)
	var rows []barRow
	for _, s := range skus {
		rows = append(rows, barRow{s.SKUPartNumber, []float64{float64(s.Owned), float64(s.Assigned), float64(s.Required), float64(s.Used)}})
	}
	d.SeatsChart = barChart("Seats per product", []series{{"owned", "#4a6fa5"}, {"assigned", "#7fa7d9"}, {"required", "#e0a030"}, {"used", "#5a9e6f"}}, rows, "")
	d.WasteChart = wasteChart(p)
	var kinds []barRow
	for _, k := range Kinds {
		if n := p.Totals.FindingsByKind[k]; n > 0 {
			kinds = append(kinds, barRow{KindTitle(k), []float64{float64(n)}})
		}
	}
	d.KindsChart = barChart("Findings by kind", []series{{"findings", "#8b5fbf"}}, kinds, "")
	return reportTmpl.Execute(w, d)
}

// wasteChart: with prices, the monthly cost of seats owned beyond need and
// the savings the findings offer, per product; without, surplus seats.
func wasteChart(p *Position) template.HTML {
	var rows []barRow
	if p.Currency == nil {
		for _, s := range p.SKUs {
			if s.Surplus > 0 {
				rows = append(rows, barRow{s.SKUPartNumber, []float64{float64(s.Surplus)}})
			}
		}
		rows = sortRows(rows)
		return barChart("Surplus seats", []series{{"surplus seats", "#c0504d"}}, rows, "")
	}
	savings := map[string]float64{}
	p.EachFinding(func(f *Finding) bool {
		if f.Fix.MonthlyDelta != nil && *f.Fix.MonthlyDelta < 0 {
			savings[f.SKUPartNumber] -= *f.Fix.MonthlyDelta
		}
		return true
	})
	for _, s := range p.SKUs {
		surplus := 0.0
		if s.Costs != nil {
			surplus = s.Costs.Surplus
		}
		if surplus > 0 || savings[s.SKUPartNumber] > 0 {
			rows = append(rows, barRow{s.SKUPartNumber, []float64{surplus, savings[s.SKUPartNumber]}})
		}
	}
	rows = sortRows(rows)
	return barChart("Cost of waste per month", []series{{"surplus seats", "#c0504d"}, {"savings of findings", "#5a9e6f"}}, rows, *p.Currency)
}

// sortRows puts the largest first and keeps 25.
func sortRows(rows []barRow) []barRow {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].values[0] > rows[j].values[0] })
	if len(rows) > 25 {
		rows = rows[:25]
	}
	return rows
}
