package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
)

// The benchmarks below are shared by the backends; each backend's
// BenchmarkCommitSmall (and so on) opens a store and calls them. Latency
// percentiles are reported as p50-µs and p99-µs per Commit call.

var benchTenants atomic.Int64

// benchTenant returns a tenant id no earlier benchmark used in this process.
func benchTenant() string { return fmt.Sprintf("bench-%d", benchTenants.Add(1)) }

// smallChange is what one typical command writes: a license, the user's
// derived state and a group counter, plus one audit entry.
func smallChange(tenantID string, seq int64) store.Change {
	user := fmt.Sprintf("u%07d", seq%100_000)
	return store.Change{TenantID: tenantID,
		Mutations: []store.Mutation{
			{Kind: store.KindLicense, ID: user + "/sku-e5", Body: []byte(`{"state":"active","source":"group","groupId":"g42","assignedAt":"2025-03-01T12:00:00Z"}`)},
			{Kind: store.KindUser, ID: user, Body: userBody(user)},
			{Kind: store.KindGroupLicense, ID: "g42/sku-e5", Body: []byte(`{"skuId":"sku-e5","assigned":1234,"waiting":0}`)},
		},
		Audit: []audit.Entry{{Seq: seq, At: time.Now(), Actor: audit.ActorGroupLicensing, Action: "Change user license",
			UserID: user, GroupID: "g42", SKUID: "sku-e5", Why: "member of g42", Detail: `{"old":null,"new":"active"}`}},
	}
}

// latencies records the duration of each Commit and reports percentiles.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(p float64) float64 {
		return float64(l[min(len(l)-1, int(p*float64(len(l))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchCommitSmall commits one Change of 3 mutations and 1 audit entry per
// Commit: the latency of one command acknowledged on its own.
func BenchCommitSmall(b *testing.B, s store.Store) { benchCommitSmall(b, s, benchTenant(), 0) }

// BenchCommitSmallFenced is BenchCommitSmall on a store with tenant
// leases (store.Leaser): each Commit carries the lease's fencing token,
// which the store checks in the commit's transaction.
func BenchCommitSmallFenced(b *testing.B, s store.Store) {
	tenant := benchTenant()
	l, err := s.(store.Leaser).AcquireLease(context.Background(), tenant)
	if err != nil {
		b.Fatal(err)
	}
	benchCommitSmall(b, s, tenant, l.Token)
}

func benchCommitSmall(b *testing.B, s store.Store, tenant string, fence int64) {
	var lat latencies
	seq := int64(0)
	for b.Loop() {
		seq++
		c := smallChange(tenant, seq)
		c.Fence = fence
		ch := []store.Change{c}
		start := time.Now()
		if err := s.Commit(context.Background(), ch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	lat.report(b)
	b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "commits/s")
}

// BenchCommitBatch64 commits 64 such changes per Commit: group commit.
func BenchCommitBatch64(b *testing.B, s store.Store) {
	const batch = 64
	tenant := benchTenant()
	var lat latencies
	seq := int64(0)
	changes := make([]store.Change, batch)
	for b.Loop() {
		for i := range changes {
			seq++
			changes[i] = smallChange(tenant, seq)
		}
		start := time.Now()
		if err := s.Commit(context.Background(), changes); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	lat.report(b)
	b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "changes/s")
}

// BenchCommitBulk commits BulkObjects new user objects in one Commit, as an
// import does, into a fresh tenant each time.
func BenchCommitBulk(b *testing.B, s store.Store) {
	objects := 0
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		ch := BulkChange(benchTenant(), 0, BulkObjects)
		b.StartTimer()
		start := time.Now()
		if err := s.Commit(context.Background(), []store.Change{ch}); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		objects += BulkObjects
	}
	b.ReportMetric(float64(objects)/elapsed.Seconds(), "objects/s")
}
