package usage

import (
	"math/rand"
	"reflect"
	"sort"
	"sync"
	"testing"

	"allot/catalog"
	"allot/tenant"
)

// walkAggregates builds aggregates with users of every shape: none, a few
// curated features, many (all of them: past the fast path's plan bound),
// and plans named directly by events (plan pseudo-features, some with a
// large planIdx).
func walkAggregates(t *testing.T) *Aggregates {
	t.Helper()
	rnd := rand.New(rand.NewSource(3))
	a := newAggregates()
	a.begin()
	base := stamp(770000000)
	var planFeats []featureIdx
	for _, p := range []string{"EXCHANGE_S_ENTERPRISE", "TEAMS1", "POWER_VIRTUAL_AGENTS_O365_P2", "FORMS_PLAN_E5", "YAMMER_ENTERPRISE"} {
		f, ok := lookupFeature([]byte(p))
		if !ok {
			t.Fatalf("no plan %s", p)
		}
		planFeats = append(planFeats, f)
	}
	// Plans beyond the slot table: every catalog plan, named by events.
	var many []featureIdx
	for _, s := range catalog.Default().SKUs() {
		for _, p := range s.Plans {
			if f, ok := lookupFeature([]byte(p.ID)); ok {
				many = append(many, f)
			}
		}
	}
	srcs := []Evidence{EvidenceEvent, EvidenceReport(ReportActiveUser), EvidenceReport(ReportTeamsActivity), EvidenceReport(ReportMailboxUsage)}
	observe := func(u *userAgg, f featureIdx) {
		for k := rnd.Intn(3); k >= 0; k-- {
			ts := base + stamp(rnd.Intn(90*86400))
			u.observe(f, ts, ts.day(), srcs[rnd.Intn(len(srcs))])
		}
	}
	a.user("nobody-yet")
	for i := 0; i < 200; i++ {
		u := a.users.at(a.user(uid(i)))
		switch i % 4 {
		case 0: // a few curated features
			for k := 0; k < 1+rnd.Intn(6); k++ {
				observe(u, featureIdx(1+rnd.Intn(len(ft.tab)-1)))
			}
		case 1: // every curated feature
			for f := 1; f < len(ft.tab); f++ {
				observe(u, featureIdx(f))
			}
		case 2: // curated features and plans named directly
			observe(u, featureNamed("exchangeMailbox"))
			observe(u, planFeats[rnd.Intn(len(planFeats))])
			observe(u, planFeats[rnd.Intn(len(planFeats))])
		case 3: // some of every plan of the catalog
			for k := 0; k < 20; k++ {
				observe(u, many[rnd.Intn(len(many))])
			}
		}
	}
	return a
}

// plansOf collects ForEachPlanUse by plan.
func plansOf(v UserView) map[string]PlanUse {
	m := map[string]PlanUse{}
	v.ForEachPlanUse(func(p PlanUse) bool {
		if _, dup := m[p.PlanID]; dup {
			m["duplicate "+p.PlanID] = p
		}
		m[p.PlanID] = p
		return true
	})
	return m
}

func TestWalkMatchesTheCopyingReads(t *testing.T) {
	a := walkAggregates(t)
	large, slow := false, 0
	n := 0
	a.ForEachView(func(v UserView) bool {
		n++
		u, ok := a.User(v.UserID())
		if !ok {
			t.Fatalf("ForEachView gave %s that User does not know", v.UserID())
		}
		checkViewFacts(t, v, u)
		got, want := checkViewPlans(t, v, u)
		if len(want) > walkPlans {
			slow++
		}
		large = large || largePlanIndex(u)
		// The Aggregates forms find the same.
		var viaA []PlanUse
		if !a.ForEachPlanUse(u.UserID, func(p PlanUse) bool { viaA = append(viaA, p); return true }) || len(viaA) != len(got) {
			t.Fatalf("%s: Aggregates.ForEachPlanUse gave %d plans", u.UserID, len(viaA))
		}
		return true
	})
	if n != a.Users() || n != 201 {
		t.Fatalf("walked %d of %d users", n, a.Users())
	}
	if slow == 0 || !large {
		t.Fatalf("the slow path was not exercised: %d users past the plan bound, large planIdx %v", slow, large)
	}
	if a.ForEachPlanUse("no-such-user", func(PlanUse) bool { t.Fatal("called"); return true }) {
		t.Fatal("an unknown user has plans")
	}
	if _, ok := a.View("no-such-user"); ok {
		t.Fatal("an unknown user has a view")
	}
	var zero UserView
	zero.ForEachPlanUse(func(PlanUse) bool { t.Fatal("called"); return true })
	if zero.Valid() || zero.UserID() != "" || zero.SignIns() != (SignInFacts{}) {
		t.Fatal("the zero view has aggregates")
	}
}

// checkViewFacts: a view's features, sign-ins, mailbox and activations are
// the copying view's.
func checkViewFacts(t *testing.T, v UserView, u UserUsage) {
	t.Helper()
	var feats []FeatureUse
	v.ForEachFeatureUse(func(f FeatureUse) bool { feats = append(feats, f); return true })
	if len(feats) != len(u.Features) || (len(feats) > 0 && !reflect.DeepEqual(feats, u.Features)) {
		t.Fatalf("%s: features %+v, want %+v", u.UserID, feats, u.Features)
	}
	if v.SignIns() != u.SignIns || v.Mailbox() != u.Mailbox {
		t.Fatalf("%s: facts differ", u.UserID)
	}
	var acts []Activation
	v.ForEachActivation(func(x Activation) bool { acts = append(acts, x); return true })
	if len(acts) != len(u.Activations) {
		t.Fatalf("%s: activations %+v", u.UserID, acts)
	}
}

// checkViewPlans: a view's plans are every plan a used feature grants,
// once, each equal to the copying view's Plan(); it returns them and the
// plans wanted.
func checkViewPlans(t *testing.T, v UserView, u UserUsage) (got map[string]PlanUse, want map[string]bool) {
	t.Helper()
	want = map[string]bool{}
	for _, f := range u.Features {
		for _, p := range f.Plans {
			want[p] = true
		}
	}
	got = plansOf(v)
	if len(got) != len(want) {
		t.Fatalf("%s: %d plans, want %d", u.UserID, len(got), len(want))
	}
	for p := range want {
		exp, _ := u.Plan(p)
		if g, ok := got[p]; !ok || !reflect.DeepEqual(g, exp) {
			t.Fatalf("%s plan %s: %+v, want %+v", u.UserID, p, g, exp)
		}
	}
	return got, want
}

// largePlanIndex reports whether a plan-granting feature of u's has a plan
// index past the walk's slots (the walk's slow path).
func largePlanIndex(u UserUsage) bool {
	large := false
	for _, f := range u.Features {
		if fi, _ := featureByKey("plan:" + f.Plans[0]); f.Workload == "" && int(fi) >= 0 {
			for _, p := range fi.info().pix {
				large = large || int(p) >= walkSlots
			}
		}
	}
	return large
}

func TestWalkStopsWhenTold(t *testing.T) {
	a := walkAggregates(t)
	for _, id := range []string{uid(1), uid(3)} { // fast path, slow path
		v, _ := a.View(id)
		calls := 0
		v.ForEachPlanUse(func(PlanUse) bool { calls++; return calls < 2 })
		if calls != 2 {
			t.Fatalf("%s: %d calls after asking to stop at 2", id, calls)
		}
		calls = 0
		v.ForEachFeatureUse(func(FeatureUse) bool { calls++; return false })
		if calls != 1 {
			t.Fatalf("%s: %d feature calls", id, calls)
		}
	}
	calls := 0
	a.ForEachView(func(UserView) bool { calls++; return false })
	if calls != 1 {
		t.Fatalf("%d view calls", calls)
	}
}

func TestWalkDoesNotAllocate(t *testing.T) {
	a := walkAggregates(t)
	var ids []string
	a.ForEachView(func(v UserView) bool { ids = append(ids, v.UserID()); return true })
	sort.Strings(ids)
	sink := 0
	allocs := testing.AllocsPerRun(20, func() {
		for _, id := range ids {
			v, _ := a.View(id)
			v.ForEachPlanUse(func(p PlanUse) bool { sink += p.Days.Count(DayOf(p.Last), 30) + len(p.PlanID); return true })
			v.ForEachFeatureUse(func(f FeatureUse) bool { sink += len(f.Plans); return true })
			v.ForEachActivation(func(x Activation) bool { sink += len(x.SKUID); return true })
			sink += int(v.Mailbox().StorageUsedBytes) + v.SignIns().Days.Count(0, 1)
			a.ForEachPlanUse(id, func(PlanUse) bool { return true })
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per walk of %d users", allocs, len(ids))
	}
	if sink == 0 {
		t.Fatal("nothing was read")
	}
}

// Concurrent readers of a readers' copy (run with -race): the walk writes
// nothing shared.
func TestWalkIsSafeForConcurrentReaders(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-05-01T00:00:00Z"), 50, "SPE_E5")
	e.events(at("2024-06-03T00:00:00Z"), string(genEvents(2000, 50, 0, at("2024-06-02T00:00:00Z"), 5)))
	want := map[string]map[string]PlanUse{}
	e.tn.Read(func(s *tenant.State) {
		Of(s).ForEachView(func(v UserView) bool { want[v.UserID()] = plansOf(v); return true })
	})
	if len(want) != 50 {
		t.Fatalf("%d users with usage", len(want))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.tn.Read(func(s *tenant.State) {
				a := Of(s)
				for id, w := range want {
					v, _ := a.View(id)
					if got := plansOf(v); !reflect.DeepEqual(got, w) {
						errs <- id
						return
					}
				}
			})
		}()
	}
	wg.Wait()
	close(errs)
	for id := range errs {
		t.Fatalf("a concurrent walk of %s differs", id)
	}
}
