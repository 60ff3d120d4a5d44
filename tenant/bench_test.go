package tenant

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
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

// procIO reads this process's write system calls and bytes written so far
// (/proc/self/io: syscw, wchar); ok is false where there is no such file.
func procIO() (calls, bytes int64, ok bool) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, v, found := strings.Cut(line, ": ")
		n, err := strconv.ParseInt(v, 10, 64)
		if !found || err != nil {
			continue
		}
		switch name {
		case "syscw":
			calls = n
		case "wchar":
			bytes = n
		}
	}
	return calls, bytes, true
}

// reportWrites reports the write system calls and bytes per operation since
// procIO's (calls0, bytes0): the commits' and everything the store does
// behind them (checkpoints, the audit index file) in the same time.
func reportWrites(b *testing.B, calls0, bytes0 int64, ok bool) {
	calls, bytes, ok2 := procIO()
	if ok && ok2 {
		b.ReportMetric(float64(calls-calls0)/float64(b.N), "writes/op")
		b.ReportMetric(float64(bytes-bytes0)/float64(b.N), "wB/op")
	}
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
			time.Sleep(300 * time.Millisecond) // the set-up's indexing and checkpoint
			calls0, bytes0, ok := procIO()
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
			time.Sleep(300 * time.Millisecond) // the store's work behind the last commits
			reportWrites(b, calls0, bytes0, ok)
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
			time.Sleep(300 * time.Millisecond) // the set-up's indexing and checkpoint
			calls0, bytes0, ok := procIO()
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
			time.Sleep(300 * time.Millisecond) // the store's work behind the last commits
			reportWrites(b, calls0, bytes0, ok)
			report(b, lat)
		})
	}
}
