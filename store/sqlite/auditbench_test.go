package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
	"allot/store/sqlite"
)

// BenchmarkAuditByUser: a user's entries among 40,000 (20,000 changes of
// two entries, over 10,000 users), read through the index file, when each
// commit's entries are a row of their own (changes without mutations) and
// when they rode in the log records and were moved 100 commits to a row
// (changes with mutations; the runtime's case).
func BenchmarkAuditByUser(b *testing.B) {
	for _, c := range []struct {
		name   string
		mutate bool
	}{{"rowPerCommit", false}, {"moved", true}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(filepath.Join(b.TempDir(), "allot.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			sqlite.PauseAuditIndex(s)
			if err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
				b.Fatal(err)
			}
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range 20_000 {
				u := fmt.Sprintf("u%05d", i*7919%10_000)
				ch := store.Change{TenantID: "t1", Audit: []audit.Entry{
					{Seq: int64(2*i + 1), At: at, Actor: "admin@contoso", Action: "Add member to group", UserID: u, GroupID: "g1"},
					{Seq: int64(2*i + 2), At: at, Actor: audit.ActorGroupLicensing, Action: audit.ActivityChangeUserLicense, UserID: u, GroupID: "g1", SKUID: "s1", Why: "member added", Detail: "before: none"},
				}}
				if c.mutate {
					ch.Mutations = []store.Mutation{{Kind: store.KindUser, ID: u, Body: []byte("{}")}}
				}
				if err := s.Commit(ctx, []store.Change{ch}); err != nil {
					b.Fatal(err)
				}
				if i%100 == 99 {
					if err := sqlite.MoveAudit(s); err != nil {
						b.Fatal(err)
					}
				}
				at = at.Add(time.Second)
			}
			if err := sqlite.CatchUpAuditIndex(s); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				es, err := s.QueryAudit(ctx, audit.Query{TenantID: "t1", UserID: fmt.Sprintf("u%05d", i%10_000), Newest: true, Limit: 50})
				if err != nil || len(es) != 4 {
					b.Fatalf("%d entries, %v", len(es), err)
				}
			}
		})
	}
}
