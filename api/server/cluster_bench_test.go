package server_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"allot/api/apitest"
	"allot/licensing"
	"allot/tenant"
)

// TestHAFigures measures, on PostgreSQL with two processes' worth of
// runtimes (ALLOT_HA_FIGURES=1; docs/BENCHMARKS.md): the follower's lag
// (a commit returned on the owner → the follower's copy has it) under
// sustained commits, and the overhead of a forwarded write (a write sent
// to the follower vs to the owner). ALLOT_HA_FIGURES_TENANTS (8),
// ALLOT_HA_FIGURES_COMMITTERS per tenant (2), ALLOT_HA_FIGURES_SECONDS (10)
// and ALLOT_HA_FIGURES_POOL (connections per process) set the load.
func TestHAFigures(t *testing.T) {
	if os.Getenv("ALLOT_HA_FIGURES") != "1" {
		t.Skip("figures: set ALLOT_HA_FIGURES=1")
	}
	url := haSchema(t)
	if v, err := strconv.Atoi(os.Getenv("ALLOT_HA_FIGURES_POOL")); err == nil && v > 0 {
		// Connections per process (pgxpool's default is 4 here: at most
		// four commits at once).
		url += "&pool_max_conns=" + strconv.Itoa(v)
	}
	a := newHANode(t, url, 10*time.Second)
	b := newHANode(t, url, 10*time.Second)
	tenants := 8
	if v, err := strconv.Atoi(os.Getenv("ALLOT_HA_FIGURES_TENANTS")); err == nil && v > 0 {
		tenants = v
	}
	type pair struct {
		a, b      *tenant.Tenant
		mu        sync.Mutex
		committed map[int64]time.Time
		seen      map[int64]time.Time
	}
	var ps []*pair
	var id string
	for i := range tenants {
		id = a.env.Customer(fmt.Sprint("Contoso", i), "US")
		p := &pair{committed: map[int64]time.Time{}, seen: map[int64]time.Time{}}
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var ok bool
			if p.b, ok = b.rt.Get(id); ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the follower never learned of the tenant")
			}
		}
		p.a, _ = a.rt.Get(id)
		ps = append(ps, p)
	}

	// Follower lag: two committers per tenant on the owner for a while; a
	// poller per tenant on the follower notes when each number first
	// shows (1 ms granularity).
	dur := 10 * time.Second
	if v := os.Getenv("ALLOT_HA_FIGURES_SECONDS"); v != "" {
		d, err := time.ParseDuration(v + "s")
		if err == nil {
			dur = d
		}
	}
	var n atomic.Int64
	stop := make(chan struct{})
	var pollWG sync.WaitGroup
	for _, p := range ps {
		pollWG.Add(1)
		go func() {
			defer pollWG.Done()
			last := p.b.LogSeq()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cur := p.b.LogSeq()
				if cur > last {
					now := time.Now()
					p.mu.Lock()
					for s := last + 1; s <= cur; s++ {
						p.seen[s] = now
					}
					p.mu.Unlock()
					last = cur
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	var wg sync.WaitGroup
	start := time.Now()
	committers := 2
	if v, err := strconv.Atoi(os.Getenv("ALLOT_HA_FIGURES_COMMITTERS")); err == nil && v > 0 {
		committers = v
	}
	for k, p := range ps {
		for w := range committers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Since(start) < dur; i++ {
					uid := fmt.Sprintf("00000000-0000-4000-8000-%02d%02d%08d", k, w, i)
					err := p.a.Do(context.Background(), licensing.Op{}, func(tx *tenant.Tx) error {
						return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: uid + "@contoso.example", UsageLocation: "US"})
					})
					if err != nil {
						t.Error(err)
						return
					}
					now := time.Now()
					seq := p.a.LogSeq()
					p.mu.Lock()
					if _, ok := p.committed[seq]; !ok {
						p.committed[seq] = now
					}
					p.mu.Unlock()
					n.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, p := range ps {
		for p.b.LogSeq() < p.a.LogSeq() && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(5 * time.Millisecond)
	close(stop)
	pollWG.Wait()
	var lags []time.Duration
	commits := 0
	for _, p := range ps {
		commits += len(p.committed)
		for s, c := range p.committed {
			if v, ok := p.seen[s]; ok {
				lags = append(lags, max(v.Sub(c), 0))
			}
		}
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	pct := func(p float64) time.Duration {
		if len(lags) == 0 {
			return 0
		}
		return lags[min(len(lags)-1, int(float64(len(lags))*p))]
	}
	t.Logf("FIGURES follower lag: %d tenants, %d commands in %s, %d commits (%.0f commits/s, %.0f commands/s); lag over %d commits: p50 %s p99 %s max %s",
		tenants, n.Load(), elapsed.Round(time.Millisecond), commits, float64(commits)/elapsed.Seconds(), float64(n.Load())/elapsed.Seconds(),
		len(lags), pct(0.5), pct(0.99), pct(1))

	// Forwarded-write overhead: the same write through the owner and
	// through the follower, one at a time.
	lat := func(e *apitest.Env, k int) []time.Duration {
		var out []time.Duration
		for range k {
			t0 := time.Now()
			e.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 1})
			out = append(out, time.Since(t0))
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	const k = 200
	direct := lat(a.env, k)
	fwd := lat(b.env, k)
	t.Logf("FIGURES forwarded write (%d each, one at a time): to the owner p50 %s p99 %s; through the follower p50 %s p99 %s",
		k, direct[k/2], direct[k*99/100], fwd[k/2], fwd[k*99/100])
}
