package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
)

func testAuditRoundTrip(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	full := audit.Entry{TenantID: "t1", Seq: 1, At: base, Actor: "Ada Admin (id 42)", Action: "Set group license",
		UserID: "u1", GroupID: "g1", SKUID: "sku-e5", Why: "member of Sales", Detail: `{"old":null,"new":{"state":"active"}}`}
	sparse := audit.Entry{Seq: 2, At: base.Add(time.Second), Actor: audit.ActorGroupLicensing, Action: "Recompute"}
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: []audit.Entry{full, sparse}})
	got, err := s.QueryAudit(ctx(t), audit.Query{TenantID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	sparse.TenantID = "t1"
	want := []audit.Entry{full, sparse}
	if len(got) != len(want) {
		t.Fatalf("QueryAudit = %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.At = us(w.At)
		g := got[i]
		if !g.At.Equal(w.At) || g.At.Location() != time.UTC {
			t.Errorf("entry %d At = %v, want %v in UTC", i, g.At, w.At)
		}
		g.At, w.At = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("entry %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
}

func testMaxAuditSeq(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 0 {
		t.Fatalf("MaxAuditSeq of a tenant without entries = %d, %v; want 0", seq, err)
	}
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: []audit.Entry{entry(3), entry(10), entry(7)}})
	mustCommit(t, s, store.Change{TenantID: "t2", Audit: []audit.Entry{entry(99)}})
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 10 {
		t.Fatalf("MaxAuditSeq = %d, %v; want 10", seq, err)
	}
}

// auditFixture commits 60 entries to t1 (and noise to t2) and returns t1's.
// Entry i has user u(i%3), group g(i%4) when i is even, SKU s(i%5) when i%3
// != 0, and At base + i minutes.
func auditFixture(t *testing.T, s store.Store) []audit.Entry {
	var es []audit.Entry
	for i := int64(1); i <= 60; i++ {
		e := entry(i)
		e.TenantID = "t1"
		e.UserID = fmt.Sprintf("u%d", i%3)
		if i%2 == 0 {
			e.GroupID = fmt.Sprintf("g%d", i%4)
		}
		if i%3 != 0 {
			e.SKUID = fmt.Sprintf("s%d", i%5)
		}
		e.At = us(e.At)
		es = append(es, e)
	}
	noise := slices.Clone(es)
	for i := range noise {
		noise[i].TenantID = "t2"
	}
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: es[:30]}, store.Change{TenantID: "t2", Audit: noise})
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: es[30:]})
	return es
}

// matches is the reference implementation of audit.Query.
func matches(q audit.Query, e audit.Entry) bool {
	return (q.UserID == "" || e.UserID == q.UserID) &&
		(q.GroupID == "" || e.GroupID == q.GroupID) &&
		(q.SKUID == "" || e.SKUID == q.SKUID) &&
		(q.From.IsZero() || !e.At.Before(q.From)) &&
		(q.To.IsZero() || e.At.Before(q.To)) &&
		e.Seq > q.AfterSeq
}

func testQueryAuditFilters(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	es := auditFixture(t, s)
	at := func(i int) time.Time { return us(entry(int64(i)).At) }
	for _, tt := range []struct {
		name string
		q    audit.Query
	}{
		{"all", audit.Query{}},
		{"user", audit.Query{UserID: "u1"}},
		{"group", audit.Query{GroupID: "g2"}},
		{"sku", audit.Query{SKUID: "s4"}},
		{"user and sku", audit.Query{UserID: "u2", SKUID: "s2"}},
		{"user and group", audit.Query{UserID: "u0", GroupID: "g0"}},
		{"unknown user", audit.Query{UserID: "u9"}},
		{"from is inclusive", audit.Query{From: at(10)}},
		{"to is exclusive", audit.Query{To: at(10)}},
		{"from and to", audit.Query{From: at(10), To: at(20)}},
		{"from with nanoseconds", audit.Query{From: at(10).Add(time.Nanosecond)}},
		{"to with nanoseconds", audit.Query{To: at(10).Add(time.Nanosecond)}},
		{"from and to a microsecond apart", audit.Query{From: at(10), To: at(10).Add(time.Microsecond)}},
		{"range and user", audit.Query{From: at(5), To: at(50), UserID: "u1"}},
		{"empty range", audit.Query{From: at(20), To: at(20)}},
		{"after seq", audit.Query{AfterSeq: 55}},
		{"limit", audit.Query{Limit: 5}},
		{"group, after seq and limit", audit.Query{GroupID: "g0", AfterSeq: 10, Limit: 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.TenantID = "t1"
			got, err := s.QueryAudit(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			want := []int64{}
			for _, e := range es {
				if matches(q, e) && (q.Limit == 0 || len(want) < q.Limit) {
					want = append(want, e.Seq)
				}
			}
			if !slices.Equal(seqs(got), want) {
				t.Fatalf("QueryAudit(%+v) seqs = %v, want %v", q, seqs(got), want)
			}
			for _, e := range got {
				if e != es[e.Seq-1] {
					t.Fatalf("entry %d = %+v, want %+v", e.Seq, e, es[e.Seq-1])
				}
			}
		})
	}
}

// testQueryAuditNewestFirst: Newest reverses the order; BeforeSeq pages
// backward from the newest.
func testQueryAuditNewestFirst(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	es := auditFixture(t, s)
	for _, user := range []string{"", "u1"} {
		q := audit.Query{TenantID: "t1", UserID: user, Newest: true, Limit: 3}
		var got []int64
		for page := 0; ; page++ {
			if page > 100 {
				t.Fatal("paging does not end")
			}
			page, err := s.QueryAudit(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			got = append(got, seqs(page)...)
			q.BeforeSeq = page[len(page)-1].Seq
		}
		var want []int64
		for i := len(es) - 1; i >= 0; i-- {
			if user == "" || es[i].UserID == user {
				want = append(want, es[i].Seq)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("user %q: newest-first pages = %v, want %v", user, got, want)
		}
	}
	// BeforeSeq and AfterSeq bound a window.
	got, err := s.QueryAudit(ctx(t), audit.Query{TenantID: "t1", AfterSeq: es[1].Seq, BeforeSeq: es[4].Seq})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{es[2].Seq, es[3].Seq}; !slices.Equal(seqs(got), want) {
		t.Fatalf("window = %v, want %v", seqs(got), want)
	}
}

func testQueryAuditPages(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	es := auditFixture(t, s)
	for _, q := range []audit.Query{{TenantID: "t1", Limit: 7}, {TenantID: "t1", UserID: "u1", Limit: 4}} {
		var got []int64
		for page := 0; ; page++ {
			if page > 100 {
				t.Fatal("paging does not end")
			}
			es, err := s.QueryAudit(ctx(t), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) > q.Limit {
				t.Fatalf("page of %d entries, limit %d", len(es), q.Limit)
			}
			if len(es) == 0 {
				break
			}
			got = append(got, seqs(es)...)
			q.AfterSeq = es[len(es)-1].Seq
		}
		var want []int64
		for _, e := range es {
			if e.UserID == q.UserID || q.UserID == "" {
				want = append(want, e.Seq)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged seqs = %v, want %v", got, want)
		}
	}
}

func testQueryAuditDefaultLimit(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	var es []audit.Entry
	for i := int64(1); i <= 1100; i++ {
		es = append(es, entry(i))
	}
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: es})
	got, err := s.QueryAudit(ctx(t), audit.Query{TenantID: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 || got[0].Seq != 1 || got[999].Seq != 1000 {
		t.Fatalf("QueryAudit without limit = %d entries (%v…), want seqs 1..1000", len(got), seqs(got[:min(3, len(got))]))
	}
}

func testQueryAuditNeedsTenant(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: []audit.Entry{entry(1)}})
	if es, err := s.QueryAudit(ctx(t), audit.Query{}); err == nil {
		t.Fatalf("QueryAudit without a tenant = %d entries, want an error", len(es))
	}
}

func testTimes(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	for i, at := range []time.Time{
		base,
		time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.FixedZone("", -7*3600)),
		time.Date(1969, 7, 20, 20, 17, 40, 500, time.UTC), // before the Unix epoch
		time.Unix(0, 0),
		{},
	} {
		id := fmt.Sprintf("t%d", i)
		tn := store.Tenant{ID: id, CreatedAt: at}
		if err := s.CreateTenant(ctx(t), tn); err != nil {
			t.Fatalf("CreateTenant(%v): %v", at, err)
		}
		got, err := s.GetTenant(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(us(at)) || got.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt %v read back as %v, want %v", at, got.CreatedAt, us(at))
		}
		if at.IsZero() && !got.CreatedAt.IsZero() {
			t.Errorf("zero CreatedAt read back as %v, not zero", got.CreatedAt)
		}
		mustCommit(t, s, store.Change{TenantID: id, Audit: []audit.Entry{{Seq: 1, At: at, Actor: "a", Action: "b"}}})
		es, err := s.QueryAudit(ctx(t), audit.Query{TenantID: id})
		if err != nil || len(es) != 1 {
			t.Fatalf("QueryAudit = %v, %v", es, err)
		}
		if !es[0].At.Equal(us(at)) || es[0].At.Location() != time.UTC {
			t.Errorf("audit At %v read back as %v, want %v", at, es[0].At, us(at))
		}
	}
}

// testAuditLegacyNamesReadAsMicrosofts: entries stored under the names
// earlier versions used read back under Microsoft's activity and actor
// names, and activity/actor filters match both spellings.
func testAuditLegacyNamesReadAsMicrosofts(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	old := audit.Entry{Seq: 1, At: base, Actor: "group-based licensing", Action: "Remove group license", GroupID: "g1"}
	cur := audit.Entry{Seq: 2, At: base.Add(time.Second), Actor: "Ada Admin (id 42)", Action: audit.ActivitySetGroupLicense, GroupID: "g1"}
	other := audit.Entry{Seq: 3, At: base.Add(2 * time.Second), Actor: audit.ActorGroupLicensing, Action: audit.ActivityChangeUserLicense, UserID: "u1"}
	mustCommit(t, s, store.Change{TenantID: "t1", Audit: []audit.Entry{old, cur, other}})
	got, err := s.QueryAudit(ctx(t), audit.Query{TenantID: "t1"})
	if err != nil || len(got) != 3 {
		t.Fatalf("QueryAudit = %+v, %v", got, err)
	}
	if got[0].Action != audit.ActivitySetGroupLicense || got[0].Actor != audit.ActorGroupLicensing {
		t.Fatalf("legacy entry reads as %q by %q", got[0].Action, got[0].Actor)
	}
	seqs := func(q audit.Query) []int64 {
		t.Helper()
		q.TenantID = "t1"
		es, err := s.QueryAudit(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	if got := seqs(audit.Query{Activity: audit.ActivitySetGroupLicense}); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("activity filter = %v, want [1 2]", got)
	}
	if got := seqs(audit.Query{Actor: audit.ActorGroupLicensing}); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("actor filter = %v, want [1 3]", got)
	}
	if got := seqs(audit.Query{Actor: audit.ActorGroupLicensing, Activity: audit.ActivityChangeUserLicense}); !slices.Equal(got, []int64{3}) {
		t.Fatalf("both filters = %v, want [3]", got)
	}
}
