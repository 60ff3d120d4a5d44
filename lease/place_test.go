package lease

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/store"
)

func TestTargetsSpreadEvenlyWithinLimits(t *testing.T) {
	for _, c := range []struct {
		name    string
		procs   []store.Process
		current map[string]int
		tenants int
		want    map[string]int
	}{
		{"even", []store.Process{{Owner: "a"}, {Owner: "b"}, {Owner: "c"}}, nil, 9, map[string]int{"a": 3, "b": 3, "c": 3}},
		{"the remainder stays where the tenants are", []store.Process{{Owner: "a"}, {Owner: "b"}, {Owner: "c"}, {Owner: "d"}},
			map[string]int{"a": 3, "b": 3, "c": 3}, 9, map[string]int{"a": 3, "b": 2, "c": 2, "d": 2}},
		{"the remainder by owner when nobody holds any", []store.Process{{Owner: "b"}, {Owner: "a"}}, nil, 3, map[string]int{"a": 2, "b": 1}},
		{"a limit below the share", []store.Process{{Owner: "a", MaxTenants: 2}, {Owner: "b"}, {Owner: "c"}}, nil, 9, map[string]int{"a": 2, "b": 4, "c": 3}},
		{"limits below the tenants", []store.Process{{Owner: "a", MaxTenants: 2}, {Owner: "b", MaxTenants: 3}}, nil, 9, map[string]int{"a": 2, "b": 3}},
		{"fewer tenants than processes", []store.Process{{Owner: "a"}, {Owner: "b"}, {Owner: "c"}}, map[string]int{"c": 1}, 1, map[string]int{"c": 1}},
		{"no processes", nil, nil, 4, map[string]int{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Targets(c.procs, c.current, c.tenants)
			for o, n := range got {
				if n == 0 {
					delete(got, o)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("Targets = %v, want %v", got, c.want)
			}
		})
	}
}

// placement is a test placement: tenant → holder ("" none).
type placement map[string]string

func (p placement) placed() []store.Placed {
	var out []store.Placed
	for id, o := range p {
		out = append(out, store.Placed{TenantID: id, Owner: o})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TenantID < out[j].TenantID })
	return out
}

func (p placement) counts() map[string]int {
	n := map[string]int{}
	for _, o := range p {
		n[o]++
	}
	return n
}

// round applies every live process's part of the plan, each computed
// from the same view, and returns the number of tenants moved.
func (p placement) round(t *testing.T, procs []store.Process) int {
	t.Helper()
	view := p.placed()
	moved := 0
	for _, pr := range procs {
		take, give := Plan(procs, view, pr.Owner)
		for _, id := range take {
			if p[id] != "" {
				t.Fatalf("%s takes %s, held by %s", pr.Owner, id, p[id])
			}
			p[id] = pr.Owner
		}
		for _, m := range give {
			if p[m.TenantID] != pr.Owner {
				t.Fatalf("%s gives %s, held by %s", pr.Owner, m.TenantID, p[m.TenantID])
			}
			p[m.TenantID] = m.To
			moved++
		}
	}
	return moved
}

func TestPlanEvensOutOnJoinAndLeaveAndKeepsLimits(t *testing.T) {
	p := placement{}
	for i := range 9 {
		p[fmt.Sprintf("t%d", i)] = "a" // the process that made them
	}
	procs := []store.Process{{Owner: "a"}, {Owner: "b"}, {Owner: "c"}}
	if moved := p.round(t, procs); moved != 6 {
		t.Errorf("%d moves, want 6", moved)
	}
	if got := fmt.Sprint(p.counts()); got != "map[a:3 b:3 c:3]" {
		t.Fatalf("3 processes, 9 tenants: %s", got)
	}
	if moved := p.round(t, procs); moved != 0 {
		t.Errorf("an even placement moved %d tenants", moved)
	}
	// A fourth joins: two tenants move to it, the rest stay.
	procs = append(procs, store.Process{Owner: "d"})
	if moved := p.round(t, procs); moved != 2 {
		t.Errorf("%d moves when d joined, want 2", moved)
	}
	if got := fmt.Sprint(p.counts()); got != "map[a:3 b:2 c:2 d:2]" {
		t.Fatalf("after d joined: %s", got)
	}
	// b is killed: its leases run out (nobody holds its tenants), and the
	// others take them, evenly.
	procs = []store.Process{{Owner: "a"}, {Owner: "c"}, {Owner: "d"}}
	for id, o := range p {
		if o == "b" {
			p[id] = ""
		}
	}
	p.round(t, procs)
	if got := fmt.Sprint(p.counts()); got != "map[a:3 c:3 d:3]" {
		t.Fatalf("after b left: %s", got)
	}
	// While a killed process's lease runs, its tenant is left alone.
	p["t0"] = "gone"
	for _, pr := range procs {
		take, give := Plan(procs, p.placed(), pr.Owner)
		for _, id := range take {
			if id == "t0" {
				t.Errorf("%s takes a tenant leased by a process that is not live", pr.Owner)
			}
		}
		for _, m := range give {
			if m.TenantID == "t0" {
				t.Errorf("%s gives a tenant it does not hold", pr.Owner)
			}
		}
	}
	// A limit of 1 on c: it gives the rest away; nobody goes over a limit.
	p["t0"] = "a"
	procs = []store.Process{{Owner: "a", MaxTenants: 4}, {Owner: "c", MaxTenants: 1}, {Owner: "d", MaxTenants: 4}}
	p.round(t, procs)
	if got := fmt.Sprint(p.counts()); got != "map[a:4 c:1 d:4]" {
		t.Errorf("with limits 4, 1, 4: %s, want a:4 c:1 d:4", got)
	}
	for o, n := range p.counts() {
		for _, pr := range procs {
			if pr.Owner == o && n > pr.MaxTenants {
				t.Errorf("%s holds %d tenants, over its limit %d", o, n, pr.MaxTenants)
			}
		}
	}
	if n := p.counts()[""]; n != 0 {
		t.Errorf("%d tenants without a holder, with places for all 9", n)
	}
}

// placer is a fake store.Placement on a fake lease table.
type placer struct {
	*fake
	procs   map[string]int // owner → limit (all live)
	tenants []string
}

func (p *placer) Heartbeat(_ context.Context, max int) error {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	p.procs[p.owner] = max
	return nil
}

func (p *placer) Deregister(context.Context) error {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	delete(p.procs, p.owner)
	return nil
}

func (p *placer) Placement(context.Context) ([]store.Process, []store.Placed, error) {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	var procs []store.Process
	for o, m := range p.procs {
		procs = append(procs, store.Process{Owner: o, MaxTenants: m})
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].Owner < procs[j].Owner })
	var placed []store.Placed
	for _, id := range p.tenants {
		pl := store.Placed{TenantID: id}
		if l := p.d.rows[id]; l != nil && p.d.expiry(l).After(p.d.now) {
			pl.Owner = l.Owner
		}
		placed = append(placed, pl)
	}
	return procs, placed, nil
}

func (p *placer) HandOverLease(_ context.Context, id string, token int64, to string) (store.Lease, error) {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	l := p.d.rows[id]
	if l == nil || l.Token != token || l.Owner != p.owner {
		return store.Lease{}, store.ErrFenced
	}
	if _, ok := p.procs[to]; !ok {
		return store.Lease{}, store.ErrNotFound
	}
	l.Token++
	l.Owner, l.TTL = to, p.d.now.Add(p.ttl).Sub(epoch)
	return p.d.view(l), nil
}

func TestHandOverWaitsForAdmittedWritesAndTheNewHolderTakesTheLease(t *testing.T) {
	ctx := context.Background()
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	procs := map[string]int{}
	pa := &placer{fake: &fake{d: d, owner: "process-a", ttl: time.Hour}, procs: procs, tenants: []string{"t1"}}
	pb := &placer{fake: &fake{d: d, owner: "process-b", ttl: time.Hour}, procs: procs, tenants: []string{"t1"}}
	a := New(pa, Options{})
	b := New(pb, Options{})
	t.Cleanup(func() { a.Close(ctx); b.Close(ctx) })
	tok, err := a.Token(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	_ = pa.Heartbeat(ctx, 0)
	_ = pb.Heartbeat(ctx, 0)
	leave, ok := a.Enter("t1")
	if !ok {
		t.Fatal("a write of a held tenant was not admitted")
	}
	ran := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.HandOver(ctx, pa, "t1", "process-b", func(_ context.Context, _ string, fn func() error) error {
			close(ran)
			return fn()
		})
	}()
	// While the admitted write runs, new writes wait and nothing moves.
	deadline := time.Now().Add(5 * time.Second)
	for {
		l2, ok := a.Enter("t1")
		if !ok {
			break
		}
		l2()
		if time.Now().After(deadline) {
			t.Fatal("writes were still admitted while the tenant is handed over")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	select {
	case <-ran:
		t.Fatal("the lease moved before the admitted write was answered")
	default:
	}
	leave()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l, _ := pa.LeaseOf(ctx, "t1"); l.Owner != "process-b" || l.Token != tok+1 {
		t.Fatalf("after the hand-over the lease is %+v, want process-b's, token %d", l, tok+1)
	}
	if a.Holds("t1") || len(a.Held()) != 0 {
		t.Error("the giver still holds the tenant")
	}
	if _, err := a.Token(ctx, "t1"); allot.ErrorCode(err) != allot.EUNAVAILABLE || !strings.Contains(err.Error(), "process-b") {
		t.Errorf("the giver's next batch: %v, want a refusal naming process-b", err)
	}
	// A write forwarded here by a process that read the lease before the
	// hand-over goes one hop further, to the new holder, while the lease
	// given lasts (served here, it was refused with a 503).
	if l3, ok := a.Enter("t1"); ok {
		l3()
		t.Error("after the hand-over, a write of the tenant was admitted here instead of going on to the new holder")
	}
	// The new holder's placement round finds the lease its own and keeps
	// the token.
	b.PlaceOnce(ctx, pb, PlaceOptions{})
	if !b.Holds("t1") {
		t.Fatal("the new holder did not take the lease handed to it")
	}
	if got, err := b.Token(ctx, "t1"); err != nil || got != tok+1 {
		t.Errorf("the new holder's token %d, %v; want %d", got, err, tok+1)
	}
	if n := count(a.handed); n != 1 {
		t.Errorf("allot_lease_handed_over_total = %v, want 1", n)
	}
	// Once the lease given has run out, writes are admitted here again
	// (to be refused by the lease check, or to take the tenant).
	a.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if l4, ok := a.Enter("t1"); !ok {
		t.Error("writes are not admitted here after the lease handed away ran out")
	} else {
		l4()
	}
}

func TestHandOverGivesUpWhileWritesDoNotEnd(t *testing.T) {
	ctx := context.Background()
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	procs := map[string]int{"process-b": 0}
	pa := &placer{fake: &fake{d: d, owner: "process-a", ttl: 200 * time.Millisecond}, procs: procs}
	a := New(pa, Options{})
	t.Cleanup(func() { a.Close(ctx) })
	if _, err := a.Token(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	leave, _ := a.Enter("t1")
	defer leave()
	if err := a.HandOver(ctx, pa, "t1", "process-b", nil); !errors.Is(err, errBusy) {
		t.Fatalf("a hand-over while a write does not end: %v, want errBusy", err)
	}
	if l, _ := pa.LeaseOf(ctx, "t1"); l.Owner != "process-a" {
		t.Errorf("the lease moved anyway: %+v", l)
	}
	if _, ok := a.Enter("t1"); !ok {
		t.Error("writes are not admitted after the hand-over was given up")
	}
}

func TestMaxTenantsLimitsTheLeasesTaken(t *testing.T) {
	ctx := context.Background()
	d := &db{now: time.Unix(1e9, 0), rows: map[string]*store.Lease{}}
	procs := map[string]int{}
	pa := &placer{fake: &fake{d: d, owner: "process-a", ttl: time.Hour}, procs: procs, tenants: []string{"t1", "t2", "t3"}}
	a := New(pa, Options{MaxTenants: 1})
	t.Cleanup(func() { a.Close(ctx) })
	if _, err := a.Token(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Token(ctx, "t2"); allot.ErrorCode(err) != allot.EUNAVAILABLE || !strings.Contains(err.Error(), "--max-tenants") {
		t.Errorf("a second tenant over the limit of 1: %v, want a refusal naming --max-tenants", err)
	}
	if _, ok := a.Enter("t2"); ok {
		t.Error("a write of a tenant over the limit was admitted here (it is to be forwarded)")
	}
	if _, ok := a.Enter("t1"); !ok {
		t.Error("a write of the held tenant was not admitted")
	}
	// Alone in the placement, it still takes no more than its limit.
	a.PlaceOnce(ctx, pa, PlaceOptions{})
	if got := a.Held(); len(got) != 1 {
		t.Errorf("held after a placement round: %v, want 1 tenant", got)
	}
	if procs["process-a"] != 1 {
		t.Errorf("registered with limit %d, want 1", procs["process-a"])
	}
}
