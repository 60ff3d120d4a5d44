package rules

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// bruteForce returns the ids of the rules in rs that s matches, sorted.
func bruteForce(ids []string, rs map[string]*Rule, s Subject) []string {
	var out []string
	for _, id := range ids {
		if rs[id].Match(s, testNow) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// randomIndex parses n random rules into an index.
func randomIndex(t *testing.T, g ruleGen, n int) (*Index, map[string]*Rule, []string) {
	t.Helper()
	x := NewIndex()
	rs := map[string]*Rule{}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("g%04d", i)
		r := mustParse(t, g.rule())
		x.Set(id, r)
		rs[id] = r
		ids = append(ids, id)
	}
	return x, rs, ids
}

func TestIndexMatchAllEqualsEvaluatingEveryRule(t *testing.T) {
	g := ruleGen{rand.New(rand.NewPCG(1, 2))}
	x, rs, ids := randomIndex(t, g, 400)
	indexed := 0
	for _, r := range rs {
		if r.indexed {
			indexed++
		}
	}
	t.Logf("%d of %d random rules have an index condition", indexed, len(rs))
	users := 1500
	if testing.Short() {
		users = 300
	}
	var dst []string
	for i := range users {
		u := g.user()
		dst = x.MatchAll(u, testNow, dst[:0])
		if want := bruteForce(ids, rs, u); !slices.Equal(dst, want) {
			for _, id := range symmetricDifference(dst, want) {
				t.Errorf("user %d (%v %v %v): rule %s %q: MatchAll and Match disagree", i, u.Single, u.Multi, u.Plans, id, rs[id])
			}
			t.FailNow()
		}
	}
}

func symmetricDifference(a, b []string) []string {
	var d []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			d = append(d, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			d = append(d, x)
		}
	}
	return d
}

func TestIndexAffectedIsASupersetOfTheRulesAChangeCanFlip(t *testing.T) {
	g := ruleGen{rand.New(rand.NewPCG(3, 4))}
	x, rs, ids := randomIndex(t, g, 300)
	props := []string{"department", "country", "city", "jobtitle", "extensionattribute1", "usertype", "mail",
		"accountenabled", "employeehiredate", "proxyaddresses", "othermails", "assignedplans"}
	for range 1500 {
		u := g.user()
		p := pick(g.r, props)
		v := g.mutate(u, p)
		affected := x.Affected([]string{p})
		for _, id := range ids {
			if rs[id].Match(u, testNow) != rs[id].Match(v, testNow) {
				if _, found := slices.BinarySearch(affected, id); !found {
					t.Fatalf("changing %s flips rule %s %q, but Affected(%s) omits it", p, id, rs[id], p)
				}
			}
		}
	}
	// Time alone changes only the rules that use system.now.
	affected := x.Affected([]string{NowProperty})
	for range 300 {
		u := g.user()
		for _, id := range ids {
			if rs[id].Match(u, testNow) != rs[id].Match(u, testNow.AddDate(0, 0, 40)) {
				if _, found := slices.BinarySearch(affected, id); !found {
					t.Fatalf("time flips rule %s %q, but Affected(NowProperty) omits it", id, rs[id])
				}
			}
		}
	}
}

func TestIndexStaysConsistentAcrossSetReplaceAndDelete(t *testing.T) {
	g := ruleGen{rand.New(rand.NewPCG(5, 6))}
	x, rs, _ := randomIndex(t, g, 200)
	for step := range 600 {
		id := fmt.Sprintf("g%04d", g.r.IntN(260))
		switch g.r.IntN(3) {
		case 0:
			x.Delete(id)
			delete(rs, id)
		default:
			r := mustParse(t, g.rule())
			x.Set(id, r)
			rs[id] = r
		}
		if step%50 != 0 {
			continue
		}
		ids := make([]string, 0, len(rs))
		for id := range rs {
			ids = append(ids, id)
		}
		if x.Len() != len(rs) {
			t.Fatalf("Len() = %d, want %d", x.Len(), len(rs))
		}
		for range 50 {
			u := g.user()
			if got, want := x.MatchAll(u, testNow, nil), bruteForce(ids, rs, u); !slices.Equal(got, want) {
				t.Fatalf("step %d: MatchAll = %v, want %v", step, got, want)
			}
		}
	}
	for id := range rs {
		x.Delete(id)
	}
	if x.Len() != 0 || len(x.sources) != 0 || len(x.always) != 0 || len(x.byProp) != 0 {
		t.Errorf("an emptied index keeps state: %d rules, %d sources, %d unindexed, %d properties",
			x.Len(), len(x.sources), len(x.always), len(x.byProp))
	}
}

func TestIndexLooksUpCandidatesInsteadOfEvaluatingEveryRule(t *testing.T) {
	cases := []struct {
		rule    string
		indexed bool
	}{
		{`user.department -eq "Sales"`, true},
		{`user.department -eq "Sales" -and user.city -contains "x"`, true},
		{`user.country -in ["US","CA"] -and -not (user.jobTitle -startsWith "Intern")`, true},
		{`user.jobTitle -startsWith "Senior"`, true},
		{`user.mail -endsWith "@contoso.com"`, true},
		{`user.department -eq "a" -or user.city -startsWith "b"`, true},
		{`user.proxyAddresses -any (_ -startsWith "smtp:")`, true},
		{`user.assignedPlans -any (assignedPlan.servicePlanId -eq "` + planExchange2 + `")`, true},
		{`-not (user.department -ne "Sales")`, true},
		{`-not (user.department -eq "a" -or user.city -ne "b")`, true},
		{`user.department -eq null`, true},
		{`user.department -ne "Sales"`, false},
		{`user.city -contains "ago"`, false},
		{`user.displayName -match "^Da"`, true},
		{`user.mail -match "@contoso\.com$"`, true},
		{`user.city -match "ago"`, false},
		{`user.city -match "^(Lagos|Abuja)$"`, false},
		{`user.department -eq "a" -or user.city -contains "b"`, false},
		{`user.otherMails -all (_ -endsWith "@contoso.com")`, false},
		{`user.employeeHireDate -ge system.now -minus P30D`, false},
	}
	for _, c := range cases {
		if r := mustParse(t, c.rule); r.indexed != c.indexed {
			t.Errorf("%s: indexed = %v, want %v (atoms %v)", c.rule, r.indexed, c.indexed, r.atoms)
		}
	}
	// With one indexed rule per department, a user is a candidate for one.
	x := NewIndex()
	for i := range 100 {
		x.Set(fmt.Sprint(i), mustParse(t, fmt.Sprintf(`user.department -eq "D%d" -and user.city -contains "a"`, i)))
	}
	sc := new(scratch)
	sc.reset(len(x.slots))
	u := with(alex(), "department", "d42")
	for _, si := range x.sources {
		v, _ := u.Value(si.src.prop)
		si.probe(appendFoldKey(nil, v), sc)
	}
	if len(sc.cand) != 1 || x.slots[sc.cand[0]].id != "42" {
		t.Errorf("candidates = %v, want only rule 42", sc.cand)
	}
}

func TestIndexAffectedEvaluateGetAndDelete(t *testing.T) {
	x := NewIndex()
	x.Set("sales", mustParse(t, `user.department -eq "Sales"`))
	x.Set("us", mustParse(t, `user.country -eq "US" -and user.department -ne "HR"`))
	x.Set("smtp", mustParse(t, `user.proxyAddresses -any (_ -startsWith "smtp:")`))
	x.Set("new", mustParse(t, `user.employeeHireDate -ge system.now -minus P30D`))
	if got := x.Affected([]string{"User.Department"}); !slices.Equal(got, []string{"sales", "us"}) {
		t.Errorf("Affected(department) = %v", got)
	}
	if got := x.Affected([]string{"proxyaddresses", "country"}); !slices.Equal(got, []string{"smtp", "us"}) {
		t.Errorf("Affected(proxyaddresses, country) = %v", got)
	}
	if got := x.Affected([]string{NowProperty}); !slices.Equal(got, []string{"new"}) {
		t.Errorf("Affected(NowProperty) = %v", got)
	}
	if got := x.Evaluate(alex(), testNow, []string{"us", "sales", "nope", "new"}, nil); !slices.Equal(got, []string{"us", "sales", "new"}) {
		t.Errorf("Evaluate = %v", got)
	}
	if got := x.MatchAll(alex(), testNow, []string{"keep"}); !slices.Equal(got, []string{"keep", "new", "sales", "smtp", "us"}) {
		t.Errorf("MatchAll = %v", got)
	}
	x.Set("sales", mustParse(t, `user.department -eq "HR"`)) // replace
	x.Delete("smtp")
	x.Delete("smtp")
	x.Set("new", nil)
	if got := x.MatchAll(alex(), testNow, nil); !slices.Equal(got, []string{"us"}) {
		t.Errorf("after replace and delete, MatchAll = %v", got)
	}
	if x.Get("sales").String() != `user.department -eq "HR"` || x.Get("smtp") != nil || x.Len() != 2 {
		t.Errorf("Get/Len after replace and delete: %v %v %d", x.Get("sales"), x.Get("smtp"), x.Len())
	}
}

func TestIndexMatchAllAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool allocate")
	}
	g := ruleGen{rand.New(rand.NewPCG(7, 8))}
	x, _, _ := randomIndex(t, g, 300)
	u := alex()
	dst := x.MatchAll(u, testNow, make([]string, 0, 300))
	if n := testing.AllocsPerRun(100, func() { dst = x.MatchAll(u, testNow, dst[:0]) }); n != 0 {
		t.Errorf("%v allocations per MatchAll, want 0", n)
	}
}

func TestIndexIsSafeForConcurrentUse(t *testing.T) {
	g := ruleGen{rand.New(rand.NewPCG(9, 10))}
	x, _, _ := randomIndex(t, g, 100)
	users := make([]*Attributes, 50)
	for i := range users {
		users[i] = g.user()
	}
	more := make([]*Rule, 50)
	for i := range more {
		more[i] = mustParse(t, g.rule())
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for w := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			var dst []string
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				u := users[(i+w)%len(users)]
				dst = x.MatchAll(u, testNow, dst[:0])
				x.Evaluate(u, testNow, x.Affected([]string{"department"}), nil)
			}
		}()
	}
	for i, r := range more {
		x.Set(fmt.Sprintf("n%02d", i), r)
		x.Delete(fmt.Sprintf("g%04d", i))
	}
	close(done)
	readers.Wait()
	if x.Len() != 100 {
		t.Errorf("Len() = %d, want 100", x.Len())
	}
}
