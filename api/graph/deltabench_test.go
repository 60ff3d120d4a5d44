package graph_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// BenchmarkDeltaAfterRestart: a users/delta round after 1,000 changes (one
// commit each) on a 100,000-user tenant, served from the directory index
// in the process that issued the deltaLink, and after a restart (runtime
// and SQLite store closed and opened again) rebuilt from the change log.
// It reports each round's wall time (first page, whole round). Run it
// alone, once:
//
//	go test ./api/graph/ -run XXX -bench DeltaAfterRestart -benchtime 1x
func BenchmarkDeltaAfterRestart(b *testing.B) {
	const users, changes = 100_000, 1_000
	path := filepath.Join(b.TempDir(), "allot.db")
	open := func() store.Store {
		st, err := sqlite.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	f, stop := serveOn(b, open())
	f.tenant = f.Customer("Contoso", "US")
	f.admin = f.Token(f.tenant, "GlobalAdministrator")
	tn, _ := f.RT.Get(f.tenant)
	do := func(fn func(tx *tenant.Tx) error) {
		if err := tn.Do(context.Background(), licensing.Op{Actor: "bench", Now: time.Now()}, fn); err != nil {
			b.Fatal(err)
		}
	}
	id := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	for start := 0; start < users; start += 500 {
		do(func(tx *tenant.Tx) error {
			for i := start; i < min(start+500, users); i++ {
				u := licensing.User{ID: id(i), UserPrincipalName: id(i) + "@contoso.example", DisplayName: "User", UsageLocation: "US", AccountEnabled: true}
				if err := tx.Engine.PutUser(tx.Op, u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	dl := pathOf(b, f.Must(200, "GET", "/v1.0/users/delta?$deltatoken=latest", f.admin, nil).JSON()["@odata.deltaLink"].(string))
	for i := range changes {
		do(func(tx *tenant.Tx) error {
			u, _ := tx.Engine.User(id(i * (users / changes)))
			u.DisplayName = fmt.Sprintf("Renamed %d", i)
			return tx.Engine.PutUser(tx.Op, u)
		})
	}
	round := func(f *fixture, label string) {
		start := time.Now()
		link, n, pages := dl, 0, 0
		var first time.Duration
		for {
			m := f.Must(200, "GET", link, f.admin, nil).JSON()
			if pages++; pages == 1 {
				first = time.Since(start)
			}
			n += len(m["value"].([]any))
			next, ok := m["@odata.nextLink"].(string)
			if !ok {
				break
			}
			link = pathOf(b, next)
		}
		if n != changes {
			b.Fatalf("%s: %d users in the round, want %d", label, n, changes)
		}
		b.ReportMetric(float64(first.Microseconds())/1000, label+"-first-page-ms")
		b.ReportMetric(float64(time.Since(start).Microseconds())/1000, label+"-round-ms")
	}
	b.ResetTimer()
	for range b.N {
		round(f, "index")
		b.StopTimer()
		stop()
		var f2 *fixture
		f2, stop = serveOn(b, open())
		f2.tenant, f2.admin = f.tenant, f.admin
		b.StartTimer()
		round(f2, "log")
		round(f2, "log-cached")
		f = f2
	}
}
