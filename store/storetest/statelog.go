package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"allot/store"
)

// The stored objects equal a model through random commits, bulk commits,
// compactions and reopens, on two tenants at once: whatever mix of
// snapshot, log and legacy rows a backend keeps, LoadObjects and GetObject
// answer the objects as the mutations left them. Stores that do not
// compact skip the compactions.
func testStateMatchesModelThroughCompactions(t *testing.T, open func(*testing.T) store.Store) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 7))
			s := open(t)
			defer func() { s.Close() }()
			tenants := []string{"t1", "t2"}
			model := map[string]map[string]string{} // tenant → "kind\x00id" → body
			for _, tn := range tenants {
				mustCreateTenant(t, s, tn)
				model[tn] = map[string]string{}
			}
			kinds := []store.Kind{store.KindUser, store.KindMember, store.KindLicense}
			key := func() (store.Kind, string) {
				return kinds[rnd.IntN(len(kinds))], fmt.Sprintf("id%03d", rnd.IntN(120))
			}
			check := func(step int) {
				t.Helper()
				for _, tn := range tenants {
					got := loadAll(t, s, tn)
					var want []store.Object
					for k, body := range model[tn] {
						kind, id, _ := strings.Cut(k, "\x00")
						want = append(want, obj(store.Kind(kind), id, body))
					}
					slices.SortFunc(want, func(a, b store.Object) int {
						return strings.Compare(string(a.Kind)+"\x00"+a.ID, string(b.Kind)+"\x00"+b.ID)
					})
					if render(got) != render(want) {
						t.Fatalf("step %d, tenant %s: LoadObjects =\n%s\nwant\n%s", step, tn, render(got), render(want))
					}
					for range 5 {
						kind, id := key()
						o, err := s.GetObject(ctx(t), tn, kind, id)
						body, ok := model[tn][string(kind)+"\x00"+id]
						if ok != (err == nil) || (ok && string(o.Body) != body) {
							t.Fatalf("step %d, tenant %s: GetObject(%s, %s) = %q, %v; want %q, %v", step, tn, kind, id, o.Body, err, body, ok)
						}
					}
				}
			}
			for step := range 150 {
				tn := tenants[rnd.IntN(len(tenants))]
				switch r := rnd.IntN(100); {
				case r < 75:
					var muts []store.Mutation
					for range 1 + rnd.IntN(6) {
						kind, id := key()
						k := string(kind) + "\x00" + id
						if rnd.IntN(4) == 0 {
							muts = append(muts, del(kind, id))
							delete(model[tn], k)
						} else {
							body := fmt.Sprintf(`{"step":%d,"r":%d}`, step, rnd.IntN(1000))
							muts = append(muts, put(kind, id, body))
							model[tn][k] = body
						}
					}
					mustCommit(t, s, store.Change{TenantID: tn, Mutations: muts})
				case r < 85:
					if c, ok := s.(store.Compactor); ok {
						if err := c.Compact(ctx(t), tn); err != nil {
							t.Fatalf("step %d: Compact: %v", step, err)
						}
					}
				case r < 90:
					// A bulk commit of new keys (a kind the others do not use).
					var objs []store.Object
					for i := range 1 + rnd.IntN(50) {
						id := fmt.Sprintf("b%03d-%04d", step, i)
						body := fmt.Sprintf(`{"bulk":%d}`, step)
						objs = append(objs, obj(store.KindGroup, id, body))
						model[tn][string(store.KindGroup)+"\x00"+id] = body
					}
					kind, id := key()
					body := fmt.Sprintf(`{"withBulk":%d}`, step)
					model[tn][string(kind)+"\x00"+id] = body
					next, _ := batches(objs, 7)
					if err := s.CommitBulk(ctx(t), store.Change{TenantID: tn, Mutations: []store.Mutation{put(kind, id, body)}}, next); err != nil {
						t.Fatalf("step %d: CommitBulk: %v", step, err)
					}
				case r < 95:
					s.Close()
					s = open(t)
				default:
					check(step)
				}
			}
			check(-1)
			s.Close()
			s = open(t)
			check(-2)
		})
	}
}

// RunBackgroundCompactionLeavesAShortLog checks a backend's background
// compaction (compactLong, the compactor's step for one tenant) against
// store.Compactor: it compacts a tenant without a snapshot, and leaves
// alone one whose log is short again (a commit made while a compaction
// ran asked for another); Compact itself compacts any log. snapshotSeq
// reads the tenant's snapshot number (-1: none).
func RunBackgroundCompactionLeavesAShortLog(t *testing.T, s store.Store, compactLong func(tenantID string) error, snapshotSeq func(tenantID string) int64) {
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	commit := func(id string) {
		t.Helper()
		if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{{Kind: store.KindUser, ID: id, Body: []byte(`{}`)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	commit("u1")
	commit("u2")
	if err := compactLong("t1"); err != nil {
		t.Fatal(err)
	}
	if got := snapshotSeq("t1"); got != 2 {
		t.Fatalf("a tenant without a snapshot: snapshot %d after the background compaction, want 2", got)
	}
	commit("u3")
	if err := compactLong("t1"); err != nil {
		t.Fatal(err)
	}
	if got := snapshotSeq("t1"); got != 2 {
		t.Fatalf("a short log: snapshot %d after the background compaction, want 2 (left alone)", got)
	}
	if err := s.(store.Compactor).Compact(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if got := snapshotSeq("t1"); got != 3 {
		t.Fatalf("Compact of a short log: snapshot %d, want 3", got)
	}
}
