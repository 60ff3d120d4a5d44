package tenant

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/pgtest"
	"allot/licensing"
	"allot/store"
)

// benchStores returns the stores to benchmark: SQLite always, PostgreSQL
// when ALLOT_TEST_POSTGRES is set (in a fresh schema).
func benchStores(b *testing.B) map[string]func(b *testing.B) store.Store {
	m := map[string]func(b *testing.B) store.Store{"sqlite": func(b *testing.B) store.Store { return openSQLite(b) }}
	if url, ok := pgtest.Enabled(b); ok {
		m["postgres"] = func(b *testing.B) store.Store {
			st, _ := pgtest.Open(b, url)
			return st
		}
	}
	return m
}

// benchTenant creates a tenant with a licensed group and 10,000 users.
func benchTenant(b *testing.B, st store.Store) (*Runtime, *Tenant) {
	ctx := context.Background()
	rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(context.Background()) })
	tn, err := rt.Create(ctx, store.Tenant{ID: tid, CompanyName: "Bench", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		b.Fatal(err)
	}
	e3 := sku(b, "SPE_E3")
	err = tn.Do(ctx, licensing.Op{}, func(tx *Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e3, licensing.Units{Enabled: 1_000_000}); err != nil {
			return err
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: gid(1), DisplayName: "All", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, gid(1), []licensing.AssignedLicense{{SKUID: e3}}, nil); err != nil {
			return err
		}
		for i := 0; i < 10_000; i++ {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: fmt.Sprintf("u%d@bench", i), UsageLocation: "US"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return rt, tn
}

func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDurableMembershipChange: one writer adds or removes one member
// of a licensed group; the time until the new license state is durable and
// visible to readers.
func BenchmarkDurableMembershipChange(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			_, tn := benchTenant(b, open(b))
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				u := uid(i / 2 % 10_000)
				add := i%2 == 0
				start := time.Now()
				err := tn.Do(context.Background(), licensing.Op{Actor: "bench"}, func(tx *Tx) error {
					if add {
						return tx.Engine.AddMembers(tx.Op, gid(1), []string{u})
					}
					return tx.Engine.RemoveMembers(tx.Op, gid(1), []string{u})
				})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, lat)
		})
	}
}

// BenchmarkGroupCommit64: 64 concurrent writers; throughput of durable
// membership changes with group commit, and the batch sizes it reaches.
func BenchmarkGroupCommit64(b *testing.B) {
	for name, open := range benchStores(b) {
		b.Run(name, func(b *testing.B) {
			_, tn := benchTenant(b, open(b))
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			var wg sync.WaitGroup
			next := make(chan int, 64)
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < 64; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					k := 0 // each writer alternates add and remove of its own users
					for range next {
						u := uid(w*150 + k/2%150)
						add := k%2 == 0
						k++
						t0 := time.Now()
						err := tn.Do(context.Background(), licensing.Op{Actor: "bench"}, func(tx *Tx) error {
							if add {
								return tx.Engine.AddMembers(tx.Op, gid(1), []string{u})
							}
							return tx.Engine.RemoveMembers(tx.Op, gid(1), []string{u})
						})
						d := time.Since(t0)
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				}(w)
			}
			for i := 0; i < b.N; i++ {
				next <- i
			}
			close(next)
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/el.Seconds(), "commands/s")
			report(b, lat)
		})
	}
}
