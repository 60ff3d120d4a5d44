package position

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"allot/prices"
)

// Snapshot is a saved position: the per-product figures and totals in
// full, the findings as compact references (stored apart, see
// EncodeFindings), so that the position can be compared over time.
type Snapshot struct {
	ID         string        `json:"id"`
	AsOf       string        `json:"asOf"`
	TakenAt    time.Time     `json:"takenDateTime"`
	Origin     string        `json:"origin"` // onDemand | daily
	Currency   *string       `json:"currency"`
	WindowDays int           `json:"windowDays"`
	SKUs       []SnapshotSKU `json:"skus"`
	Totals     SnapTotals    `json:"totals"`
	// Chargeback is the monthly cost per group of the tenant's trend
	// groupings (package chargeback fills it when the snapshot is taken);
	// absent in snapshots taken before it was kept, and without a price
	// list.
	Chargeback []SnapshotCosts `json:"chargeback,omitempty"`
}

// SnapshotCostsVersion is the version of SnapshotCosts written now; a
// reader skips versions it does not know.
const SnapshotCostsVersion = 1

// SnapshotCosts is a chargeback as a snapshot keeps it, for the trend: the
// monthly cost and seats per group of one grouping (by).
type SnapshotCosts struct {
	Version  int         `json:"v"`
	By       string      `json:"by"`
	Currency string      `json:"currency"`
	Total    float64     `json:"monthlyCost"`
	Groups   []GroupCost `json:"groups"`
}

// GroupCost is a group's seats and monthly cost in a snapshot.
type GroupCost struct {
	Key         string  `json:"key"`
	Seats       int     `json:"seats"`
	MonthlyCost float64 `json:"monthlyCost"`
}

// Snapshot origins.
const (
	OriginOnDemand = "onDemand"
	OriginDaily    = "daily"
)

// SnapshotSKU is a product's figures in a snapshot.
type SnapshotSKU struct {
	SKUID         string   `json:"skuId"`
	SKUPartNumber string   `json:"skuPartNumber"`
	Owned         int      `json:"owned"`
	Assigned      int      `json:"assigned"`
	Required      int      `json:"required"`
	Used          int      `json:"used"`
	Waiting       int      `json:"waiting"`
	UnitPrice     *float64 `json:"monthlyUnitPrice,omitempty"`
}

// SnapTotals are a snapshot's totals.
type SnapTotals struct {
	MonthlyCost    *float64       `json:"monthlyCost"`
	MonthlySavings *float64       `json:"monthlySavings"`
	AdditionalCost *float64       `json:"monthlyAdditionalCost"`
	Findings       int            `json:"findings"`
	FindingsByKind map[string]int `json:"findingsByKind"`
}

// FindingRef is a finding as a snapshot keeps it.
type FindingRef struct {
	ID                string   `json:"id"`
	Kind              string   `json:"kind"`
	UserID            string   `json:"userId,omitempty"`
	UserPrincipalName string   `json:"userPrincipalName,omitempty"`
	SKUPartNumber     string   `json:"skuPartNumber,omitempty"`
	MonthlyDelta      *float64 `json:"monthlyDelta"`
}

// NewSnapshot summarises a position.
func NewSnapshot(id, origin string, takenAt time.Time, p *Position) Snapshot {
	s := Snapshot{ID: id, AsOf: p.AsOf, TakenAt: takenAt.UTC(), Origin: origin, Currency: p.Currency, WindowDays: p.WindowDays,
		SKUs: make([]SnapshotSKU, len(p.SKUs))}
	for i, r := range p.SKUs {
		s.SKUs[i] = SnapshotSKU{SKUID: r.SKUID, SKUPartNumber: r.SKUPartNumber, Owned: r.Owned, Assigned: r.Assigned,
			Required: r.Required, Used: r.Used, Waiting: r.Waiting, UnitPrice: r.UnitPrice}
	}
	s.Totals = SnapTotals{MonthlyCost: p.Totals.MonthlyCost, MonthlySavings: p.Totals.MonthlySavings, AdditionalCost: p.Totals.AdditionalCost,
		Findings: p.Totals.Findings, FindingsByKind: p.Totals.FindingsByKind}
	return s
}

// Refs returns a position's findings as references.
func Refs(p *Position) []FindingRef {
	out := make([]FindingRef, 0, p.FindingCount())
	p.EachFinding(func(f *Finding) bool {
		out = append(out, FindingRef{ID: f.ID, Kind: f.Kind, UserID: f.UserID, UserPrincipalName: f.UserPrincipalName,
			SKUPartNumber: f.SKUPartNumber, MonthlyDelta: f.Fix.MonthlyDelta})
		return true
	})
	return out
}

// EncodeFindings packs finding references: gzip of one tab-separated line
// each (id, kind, user id, userPrincipalName, part number, delta in
// prices.Unit or "-"). About 25 bytes a finding.
func EncodeFindings(refs []FindingRef) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	w := bufio.NewWriter(zw)
	for _, f := range refs {
		d := "-"
		if f.MonthlyDelta != nil {
			d = strconv.FormatInt(prices.ToUnits(*f.MonthlyDelta), 10)
		}
		for i, s := range []string{f.ID, f.Kind, f.UserID, f.UserPrincipalName, f.SKUPartNumber, d} {
			if i > 0 {
				w.WriteByte('\t')
			}
			w.WriteString(strings.NewReplacer("\t", " ", "\n", " ").Replace(s))
		}
		w.WriteByte('\n')
	}
	w.Flush()
	zw.Close()
	return buf.Bytes()
}

// DecodeFindings unpacks EncodeFindings.
func DecodeFindings(data []byte) ([]FindingRef, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("snapshot findings: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("snapshot findings: %w", err)
	}
	var out []FindingRef
	for line := range strings.SplitSeq(string(raw), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("snapshot findings: bad line %q", line)
		}
		ref := FindingRef{ID: f[0], Kind: f[1], UserID: f[2], UserPrincipalName: f[3], SKUPartNumber: f[4]}
		if f[5] != "-" {
			n, err := strconv.ParseInt(f[5], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("snapshot findings: bad delta %q", f[5])
			}
			ref.MonthlyDelta = money(n)
		}
		out = append(out, ref)
	}
	return out, nil
}
