package chargeback_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"allot/catalog"
	"allot/chargeback"
	"allot/internal/tenantopts"
	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/prices"
	"allot/tenant"
)

// oldSnapshot is a snapshot as versions before the chargeback trend stored
// it: no "chargeback" field.
const oldSnapshot = `{"id":"old","asOf":"2026-01-05","takenDateTime":"2026-01-05T06:00:00Z","origin":"daily","currency":"EUR","windowDays":30,` +
	`"skus":[{"skuId":"05e9a617-0261-4cee-bb44-138d3ef5d965","skuPartNumber":"SPE_E3","owned":3,"assigned":0,"required":0,"used":0,"waiting":0,"monthlyUnitPrice":10}],` +
	`"totals":{"monthlyCost":30,"monthlySavings":0,"monthlyAdditionalCost":0,"findings":0,"findingsByKind":{}}}`

// A snapshot stored before the chargeback trend loads after a restart, as
// it was, and adds no point to a trend; a snapshot taken after it with a
// price list keeps the default groupings, and the trend has that one
// point. A later version's costs (another "v") are skipped, not misread.
func TestOldSnapshotLoadsWithoutTrend(t *testing.T) {
	ctx := context.Background()
	st := tenanttest.Store(t)
	now := time.Date(2026, 1, 6, 8, 0, 0, 0, time.UTC)
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }}))
	if err != nil {
		t.Fatal(err)
	}
	tn := tenanttest.Tenant(t, rt, "contoso")
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now}, func(tx *tenant.Tx) error {
		return tx.PersistRaw(snapshotstore.KindSnapshot, "old", []byte(oldSnapshot))
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rt = tenanttest.Runtime(t, st, func() time.Time { return now })
	tn, ok := rt.Get("contoso")
	if !ok {
		t.Fatal("no tenant after the restart")
	}
	var snaps []position.Snapshot
	tn.Read(func(s *tenant.State) { snaps = snapshotstore.List(s) })
	if len(snaps) != 1 || snaps[0].ID != "old" || snaps[0].Chargeback != nil || *snaps[0].Totals.MonthlyCost != 30 || snaps[0].SKUs[0].Owned != 3 {
		t.Fatalf("old snapshot after the restart: %+v", snaps)
	}
	if tr := chargeback.Trend(snaps, "department"); len(tr.Points) != 0 || len(tr.Groups) != 0 {
		t.Errorf("an old snapshot made a trend point: %+v", tr)
	}
	// A snapshot taken now, with a price list, keeps the default groupings.
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now}, func(tx *tenant.Tx) error {
		return prices.Put(tx, prices.List{Currency: "EUR", Prices: []prices.Price{}, UpdatedAt: now})
	}); err != nil {
		t.Fatal(err)
	}
	snap, _, err := snapshotstore.Take(ctx, tn, "new", position.OriginOnDemand, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	var by []string
	for _, c := range snap.Chargeback {
		by = append(by, c.By)
		if c.Version != position.SnapshotCostsVersion || c.Currency != "EUR" {
			t.Errorf("kept %+v", c)
		}
	}
	if len(by) != len(chargeback.DefaultTrendBy) {
		t.Errorf("kept groupings %v, want %v", by, chargeback.DefaultTrendBy)
	}
	tn.Read(func(s *tenant.State) { snaps = snapshotstore.List(s) })
	if tr := chargeback.Trend(snaps, "department"); len(tr.Points) != 1 || tr.Points[0].SnapshotID != "new" {
		t.Errorf("trend after a new snapshot: %+v", tr.Points)
	}
	snaps[1].Chargeback[0].Version = 99
	if tr := chargeback.Trend(snaps, snaps[1].Chargeback[0].By); len(tr.Points) != 0 {
		t.Errorf("a later version's costs were read: %+v", tr.Points)
	}
}

// Keep folds the groups beyond MaxTrendGroups into Other, the sum of their
// seats and cost, and keeps the total.
func TestKeepFoldsSmallGroups(t *testing.T) {
	r := &chargeback.Report{By: "department", Currency: "EUR"}
	var total float64
	for i := range chargeback.MaxTrendGroups + 10 {
		c := float64(1000 - i)
		r.Rows = append(r.Rows, chargeback.Row{Key: "d" + string(rune('A'+i%26)) + string(rune('a'+i/26)), Seats: 1, MonthlyCost: c})
		total += c
	}
	r.Total = total
	k := chargeback.Keep(r)
	if len(k.Groups) != chargeback.MaxTrendGroups || k.Groups[len(k.Groups)-1].Key != chargeback.Other {
		t.Fatalf("%d groups, last %+v", len(k.Groups), k.Groups[len(k.Groups)-1])
	}
	var sum float64
	seats := 0
	for _, g := range k.Groups {
		sum += g.MonthlyCost
		seats += g.Seats
	}
	if sum != total || seats != len(r.Rows) || k.Total != total {
		t.Errorf("kept sum %v seats %d total %v, want %v %d", sum, seats, k.Total, total, len(r.Rows))
	}
	if other := k.Groups[len(k.Groups)-1]; other.Seats != 11 {
		t.Errorf("other %+v", other)
	}
}
