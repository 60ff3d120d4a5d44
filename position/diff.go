package position

import (
	"fmt"
	"sort"
	"time"
)

// MaxDiffListed is how many new and resolved findings a Diff lists; the
// counts cover all of them.
const MaxDiffListed = 5000

// Drift thresholds: a change smaller than these is noise.
const (
	DriftSeatsShare = 0.10 // assigned seats of a product up 10%…
	DriftSeatsMin   = 5    // …and by at least 5 seats
	DriftCostShare  = 0.05 // monthly cost of owned units up or down 5%
	DriftWasteShare = 0.10 // potential savings up 10%
)

// Diff is what changed between two positions.
type Diff struct {
	From             Ref              `json:"from"`
	To               Ref              `json:"to"`
	SKUs             []SKUChange      `json:"skus"`
	Totals           TotalsChange     `json:"totals"`
	FindingsByKind   map[string]Count `json:"findingsByKind"`
	NewFindings      []FindingRef     `json:"newFindings"`
	ResolvedFindings []FindingRef     `json:"resolvedFindings"`
	NewCount         int              `json:"newFindingsCount"`
	ResolvedCount    int              `json:"resolvedFindingsCount"`
	Drift            []Drift          `json:"drift"`
	Drifted          bool             `json:"drifted"`
}

// Ref names one side of a diff: a snapshot, or the live position ("now").
type Ref struct {
	ID      string    `json:"id"` // snapshot id, or "now"
	AsOf    string    `json:"asOf"`
	TakenAt time.Time `json:"takenDateTime"`
}

// Count is an integer's movement.
type Count struct {
	From  int `json:"from"`
	To    int `json:"to"`
	Delta int `json:"delta"`
}

// Amount is a monthly amount's movement; nil sides are unpriced.
type Amount struct {
	From  *float64 `json:"from"`
	To    *float64 `json:"to"`
	Delta *float64 `json:"delta"`
}

// SKUChange is a product's movement.
type SKUChange struct {
	SKUID         string `json:"skuId"`
	SKUPartNumber string `json:"skuPartNumber"`
	Owned         Count  `json:"owned"`
	Assigned      Count  `json:"assigned"`
	Required      Count  `json:"required"`
	Used          Count  `json:"used"`
	Waiting       Count  `json:"waiting"`
	MonthlyCost   Amount `json:"monthlyCost"`
}

// TotalsChange is the movement of the totals.
type TotalsChange struct {
	MonthlyCost    Amount `json:"monthlyCost"`
	MonthlySavings Amount `json:"monthlySavings"`
	AdditionalCost Amount `json:"monthlyAdditionalCost"`
	Findings       Count  `json:"findings"`
}

// Drift is a change worth a look.
type Drift struct {
	Kind          string `json:"kind"` // seats | shortfall | waiting | cost | waste | findings
	SKUPartNumber string `json:"skuPartNumber,omitempty"`
	Message       string `json:"message"`
}

// Compare returns what changed from a to b (each a snapshot and its
// findings). Drift is flagged when: a product's assigned seats grew by
// DriftSeatsShare and DriftSeatsMin while its required seats grew less; a
// shortfall or a waiting room appeared or grew; the monthly cost of owned
// units moved by DriftCostShare; the potential savings grew by
// DriftWasteShare; findings of kinds that are compliance risks
// (underLicensed, disabledHoldingLicense, guestLicensed, sharedMailbox,
// serviceAccount) appeared.
func Compare(a Snapshot, af []FindingRef, b Snapshot, bf []FindingRef) *Diff {
	d := &Diff{From: Ref{a.ID, a.AsOf, a.TakenAt}, To: Ref{b.ID, b.AsOf, b.TakenAt}, FindingsByKind: map[string]Count{},
		NewFindings: []FindingRef{}, ResolvedFindings: []FindingRef{}, Drift: []Drift{}}
	type pair struct{ a, b *SnapshotSKU }
	rows := map[string]*pair{}
	var ids []string
	for i := range a.SKUs {
		rows[a.SKUs[i].SKUID] = &pair{a: &a.SKUs[i]}
		ids = append(ids, a.SKUs[i].SKUID)
	}
	for i := range b.SKUs {
		if p, ok := rows[b.SKUs[i].SKUID]; ok {
			p.b = &b.SKUs[i]
		} else {
			rows[b.SKUs[i].SKUID] = &pair{b: &b.SKUs[i]}
			ids = append(ids, b.SKUs[i].SKUID)
		}
	}
	var zero SnapshotSKU
	for _, id := range ids {
		p := rows[id]
		x, y := p.a, p.b
		part := ""
		if x != nil {
			part = x.SKUPartNumber
		}
		if y != nil {
			part = y.SKUPartNumber
		}
		if x == nil {
			x = &zero
		}
		if y == nil {
			y = &zero
		}
		c := SKUChange{SKUID: id, SKUPartNumber: part, Owned: count(x.Owned, y.Owned), Assigned: count(x.Assigned, y.Assigned),
			Required: count(x.Required, y.Required), Used: count(x.Used, y.Used), Waiting: count(x.Waiting, y.Waiting),
			MonthlyCost: amount(cost(x), cost(y))}
		d.SKUs = append(d.SKUs, c)
		d.skuDrift(c, x, y)
	}
	sort.Slice(d.SKUs, func(i, j int) bool { return d.SKUs[i].SKUPartNumber < d.SKUs[j].SKUPartNumber })
	d.Totals = TotalsChange{MonthlyCost: amount(a.Totals.MonthlyCost, b.Totals.MonthlyCost),
		MonthlySavings: amount(a.Totals.MonthlySavings, b.Totals.MonthlySavings),
		AdditionalCost: amount(a.Totals.AdditionalCost, b.Totals.AdditionalCost), Findings: count(a.Totals.Findings, b.Totals.Findings)}
	for _, k := range Kinds {
		d.FindingsByKind[k] = count(a.Totals.FindingsByKind[k], b.Totals.FindingsByKind[k])
	}
	before := make(map[string]bool, len(af))
	for _, f := range af {
		before[f.ID] = true
	}
	after := make(map[string]bool, len(bf))
	risky := map[string]int{}
	for _, f := range bf {
		after[f.ID] = true
		if !before[f.ID] {
			d.NewCount++
			if len(d.NewFindings) < MaxDiffListed {
				d.NewFindings = append(d.NewFindings, f)
			}
			switch f.Kind {
			case UnderLicensed, DisabledHoldingLicense, GuestLicensed, SharedMailbox, ServiceAccount:
				risky[f.Kind]++
			}
		}
	}
	for _, f := range af {
		if !after[f.ID] {
			d.ResolvedCount++
			if len(d.ResolvedFindings) < MaxDiffListed {
				d.ResolvedFindings = append(d.ResolvedFindings, f)
			}
		}
	}
	if m := d.Totals.MonthlyCost; m.From != nil && m.To != nil && *m.From > 0 && abs(*m.Delta) >= DriftCostShare**m.From {
		d.flag("cost", "", fmt.Sprintf("the monthly cost of owned units moved from %.2f to %.2f", *m.From, *m.To))
	}
	if s := d.Totals.MonthlySavings; s.From != nil && s.To != nil && *s.Delta > 0 && *s.To >= (1+DriftWasteShare)**s.From {
		d.flag("waste", "", fmt.Sprintf("potential monthly savings grew from %.2f to %.2f: waste is accumulating", *s.From, *s.To))
	}
	for _, k := range Kinds {
		if n := risky[k]; n > 0 {
			d.flag("findings", "", fmt.Sprintf("%d new %s findings", n, k))
		}
	}
	return d
}

func (d *Diff) skuDrift(c SKUChange, x, y *SnapshotSKU) {
	if c.Assigned.Delta >= DriftSeatsMin && float64(c.Assigned.Delta) >= DriftSeatsShare*float64(max(x.Assigned, 1)) &&
		c.Required.Delta < c.Assigned.Delta {
		d.flag("seats", c.SKUPartNumber, fmt.Sprintf("%d more seats assigned but %d more required", c.Assigned.Delta, c.Required.Delta))
	}
	short := func(s *SnapshotSKU) int { return max(s.Required-s.Owned, 0) }
	if short(y) > short(x) {
		d.flag("shortfall", c.SKUPartNumber, fmt.Sprintf("shortfall grew from %d to %d seats", short(x), short(y)))
	}
	if y.Waiting > x.Waiting {
		d.flag("waiting", c.SKUPartNumber, fmt.Sprintf("waiting users grew from %d to %d", x.Waiting, y.Waiting))
	}
}

func (d *Diff) flag(kind, part, msg string) {
	d.Drift = append(d.Drift, Drift{Kind: kind, SKUPartNumber: part, Message: msg})
	d.Drifted = true
}

func count(a, b int) Count { return Count{a, b, b - a} }

func amount(a, b *float64) Amount {
	m := Amount{From: a, To: b}
	if a != nil && b != nil {
		m.Delta = round(*b - *a)
	}
	return m
}

func cost(s *SnapshotSKU) *float64 {
	if s.UnitPrice == nil {
		return nil
	}
	return round(float64(s.Owned) * *s.UnitPrice)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
