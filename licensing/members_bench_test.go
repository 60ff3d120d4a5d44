package licensing

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"testing"

	"allot/internal/idsort"
)

// BenchmarkMembers lists the user members of every group of a loaded
// 1,000,000-user engine (users in id order, as a load leaves them; 10,000
// groups of 200 members): what the directory index does at every build.
func BenchmarkMembers(b *testing.B) {
	n, groups, per := 1_000_000, 10_000, 200
	if testing.Short() {
		n, groups = 100_000, 1_000
	}
	e := New(testCatalog(b), Settings{})
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012d", uint32(i)*2654435761, i)
	}
	sort.Strings(ids)
	e.Reserve(n, groups)
	for _, id := range ids {
		if err := e.LoadUser(User{ID: id, UserPrincipalName: id + "@contoso.example"}); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewSource(1))
	gids := make([]string, groups)
	for g := range gids {
		gids[g] = fmt.Sprintf("g%05d", g)
		if err := e.LoadGroup(Group{ID: gids[g], DisplayName: gids[g]}); err != nil {
			b.Fatal(err)
		}
		ms := make([]string, 0, per)
		for range per {
			ms = append(ms, ids[r.Intn(n)])
		}
		e.LoadMembers(gids[g], ms, func(string, error) {})
	}
	b.Run("engine", func(b *testing.B) {
		for range b.N {
			for _, g := range gids {
				e.Members(g)
			}
		}
	})
	b.Run("strings", func(b *testing.B) { // the listing sorted by id strings alone
		for range b.N {
			for _, g := range gids {
				gr := e.groups[g]
				us := make([]string, 0, len(gr.members))
				for u := range gr.members {
					us = append(us, u.ID)
				}
				idsort.Strings(us)
			}
		}
	})
}

// BenchmarkLoadMembers loads 2,000,000 memberships (10,000 groups of 200)
// into a loaded 1,000,000-user engine, as a restart does.
func BenchmarkLoadMembers(b *testing.B) {
	n, groups, per := 1_000_000, 10_000, 200
	if testing.Short() {
		n, groups = 100_000, 1_000
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012d", uint32(i)*2654435761, i)
	}
	sort.Strings(ids)
	r := rand.New(rand.NewSource(1))
	runs := make([]MemberRun, groups)
	for g := range runs {
		ms := make([]string, 0, per)
		seen := map[int]bool{}
		for len(ms) < per {
			if j := r.Intn(n); !seen[j] {
				seen[j] = true
				ms = append(ms, ids[j])
			}
		}
		sort.Strings(ms)
		runs[g] = MemberRun{fmt.Sprintf("g%05d", g), ms}
	}
	fresh := func() *Engine {
		e := New(testCatalog(b), Settings{})
		e.Reserve(n, groups)
		for _, id := range ids {
			if err := e.LoadUser(User{ID: id, UserPrincipalName: id + "@contoso.example"}); err != nil {
				b.Fatal(err)
			}
		}
		for _, run := range runs {
			if err := e.LoadGroup(Group{ID: run.Group, DisplayName: run.Group}); err != nil {
				b.Fatal(err)
			}
		}
		return e
	}
	b.Run("LoadMembers", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			e := fresh()
			b.StartTimer()
			for _, run := range runs {
				e.LoadMembers(run.Group, run.Members, func(string, error) {})
			}
		}
	})
	b.Run("MemberLoader", func(b *testing.B) { // on one goroutine, without a helper
		for range b.N {
			b.StopTimer()
			e := fresh()
			rs := slices.Clone(runs) // Load lets go of its runs
			b.StartTimer()
			e.NewMemberLoader(rs).Load(func(_, _ string, _ error) {})
		}
	})
}
