package licensing

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// A MemberLoader adds exactly what LoadMembers adds run by run — user and
// group members, and the same refusals (a missing member, a missing
// group) in the same order — whether Help looked every run up first, none,
// or some while Load ran.
func TestMemberLoaderEqualsLoadMembers(t *testing.T) {
	ids := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%03d", prefix, i))
		}
		return out
	}
	users, groups := ids("u", 300), ids("g", 40)
	var runs []MemberRun
	for gi, g := range groups {
		var ms []string
		for j := gi; j < len(users); j += 1 + gi%7 {
			ms = append(ms, users[j])
		}
		if gi > 0 {
			ms = append(ms, groups[gi-1]) // a nested group
		}
		if gi%9 == 0 {
			ms = append(ms, "missing-user")
		}
		runs = append(runs, MemberRun{g, ms})
	}
	runs = append(runs, MemberRun{"missing-group", []string{users[0]}})
	fresh := func() *Engine {
		e := New(testCatalog(t), Settings{})
		for _, u := range users {
			if err := e.LoadUser(User{ID: u, UserPrincipalName: u + "@contoso.example"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, g := range groups {
			if err := e.LoadGroup(Group{ID: g, DisplayName: g}); err != nil {
				t.Fatal(err)
			}
		}
		return e
	}
	copyRuns := func() []MemberRun {
		out := make([]MemberRun, len(runs))
		for i, r := range runs {
			out[i] = MemberRun{r.Group, slices.Clone(r.Members)}
		}
		return out
	}
	want := fresh()
	var wantBad []string
	for _, r := range copyRuns() {
		want.LoadMembers(r.Group, r.Members, func(m string, err error) { wantBad = append(wantBad, r.Group+"/"+m+": "+err.Error()) })
	}
	if len(wantBad) == 0 {
		t.Fatal("no refusal: the test is too weak")
	}
	for _, how := range []string{"help first", "load first", "side by side"} {
		for round := range 20 {
			e := fresh()
			m := e.NewMemberLoader(copyRuns())
			var bad []string
			load := func() { m.Load(func(g, mem string, err error) { bad = append(bad, g+"/"+mem+": "+err.Error()) }) }
			switch how {
			case "help first":
				m.Help()
				load()
			case "load first":
				load()
				m.Help()
			default:
				var wg sync.WaitGroup
				wg.Go(load)
				m.Help()
				wg.Wait()
			}
			if d := Diff(want, e); d != "" {
				t.Fatalf("%s, round %d: %s", how, round, d)
			}
			if !slices.Equal(bad, wantBad) {
				t.Fatalf("%s, round %d: refused %v, want %v", how, round, bad, wantBad)
			}
			if how != "side by side" {
				break
			}
		}
	}
}
