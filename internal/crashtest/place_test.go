package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// placeClient waits longer than haClient: during a rebalance a write
// waits for the tenant's next holder (a hand-over, at most a lease).
var placeClient = &http.Client{Timeout: 15 * time.Second}

// placed is a tenant of the placement test and its acknowledged writes.
type placed struct {
	id, admin, domain string
	mu                sync.Mutex
	users             []string
	acks              []time.Time
	failed            []string // unacknowledged writes: when, where, what
}

// holders returns the owner of every live lease by tenant, read from the
// database.
func (c *cluster) holders(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT tenant_id, owner FROM tenant_leases WHERE expires_at > clock_timestamp()`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var id, owner string
		if err := rows.Scan(&id, &owner); err != nil {
			t.Fatal(err)
		}
		out[id] = owner
	}
	return out
}

// perServer counts the live leases of each of servers, in their order,
// and how many of tenants none of them holds.
func perServer(h map[string]string, servers []*server, tenants []*placed) ([]int, int) {
	n := make([]int, len(servers))
	free := 0
	for _, p := range tenants {
		o := h[p.id]
		held := false
		for i, s := range servers {
			if o != "" && strings.Contains(o, " at "+strings.TrimPrefix(s.URL, "http://")+"/") {
				n[i]++
				held = true
			}
		}
		if !held {
			free++
		}
	}
	return n, free
}

// waitPlacement waits until every tenant is held and the counts per
// server satisfy ok, and returns how long it took and the counts.
func (c *cluster) waitPlacement(t *testing.T, servers []*server, tenants []*placed, within time.Duration, ok func([]int) bool) (time.Duration, []int) {
	t.Helper()
	start := time.Now()
	for {
		n, free := perServer(c.holders(t), servers, tenants)
		if free == 0 && ok(n) {
			return time.Since(start), n
		}
		if time.Since(start) > within {
			t.Fatalf("the tenants were not placed as wanted within %s: %v per server, %d without a holder", within, n, free)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writePlaced writes users to p through the servers in turn until stop
// closes, recording every acknowledgement and every failure.
func writePlaced(c *cluster, p *placed, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		s := c.pick(i)
		name := fmt.Sprintf("p%d", i)
		st, body, _ := s.placeCall("POST", "/v1.0/users", p.admin, userBody(name, p.domain))
		p.mu.Lock()
		if st == 201 {
			var u struct{ ID string }
			_ = json.Unmarshal(body, &u)
			p.users = append(p.users, u.ID)
			p.acks = append(p.acks, time.Now())
		} else {
			p.failed = append(p.failed, fmt.Sprintf("%s %s: %d %.200s", time.Now().Format("15:04:05.000"), s.URL, st, body))
		}
		p.mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
}

// placeCall is call with placeClient.
func (s *server) placeCall(method, path, token string, body any) (int, []byte, http.Header) {
	return callWith(placeClient, s, method, path, token, body)
}

// maxGap is the longest time between two acknowledged writes of p within
// [from, to], and the number of failures recorded.
func (p *placed) maxGap(from, to time.Time) (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var gap time.Duration
	prev := from
	for _, a := range p.acks {
		if a.Before(from) {
			continue
		}
		if a.After(to) {
			break
		}
		gap = max(gap, a.Sub(prev))
		prev = a
	}
	return gap, len(p.failed)
}

// Tenant placement (issue 22 point 4): allot serve --ha processes spread
// the tenants evenly — 3 processes and 9 tenants end 3/3/3; a fourth that
// joins takes a share while writes keep being acknowledged (forwarded to
// the next holder during a hand-over); a process killed leaves its tenants
// to the others; a process started with --max-tenants never holds more.
// Every acknowledged write is there at the end.
func TestHAPlacementSpreadsTenantsAndRebalances(t *testing.T) {
	db := ownDatabase(t)
	// 5 s unless ALLOT_HA_TEST_TTL says otherwise: on a loaded machine a
	// 2 s lease expires now and then when renewals are slow (each waits
	// at most half a lease), and a lease that expires is not a hand-over.
	ttl := 5 * time.Second
	if os.Getenv("ALLOT_HA_TEST_TTL") != "" {
		ttl = haTTL(t)
	}
	c := &cluster{t: t, db: db, env: []string{"ALLOT_HA=1", "ALLOT_LEASE_TTL=" + ttl.String()}}
	first := c.start()
	var tenants []*placed
	for i := range 9 {
		name := fmt.Sprintf("Pl%d", i)
		id, admin := first.customer(name, 0)
		tenants = append(tenants, &placed{id: id, admin: admin, domain: strings.ToLower(name) + ".example"})
	}
	c.start()
	c.start()
	servers := func() []*server {
		c.mu.Lock()
		defer c.mu.Unlock()
		return append([]*server(nil), c.servers...)
	}
	even := func(want ...int) func([]int) bool {
		return func(n []int) bool {
			got := append([]int(nil), n...)
			sort.Sort(sort.Reverse(sort.IntSlice(got)))
			return fmt.Sprint(got) == fmt.Sprint(want)
		}
	}
	took, n := c.waitPlacement(t, servers(), tenants, time.Minute, even(3, 3, 3))
	t.Logf("3 processes, 9 tenants: %v after %s", n, took)

	stop := make(chan struct{})
	var writers sync.WaitGroup
	for _, p := range tenants {
		writers.Go(func() { writePlaced(c, p, stop) })
	}
	time.Sleep(2 * time.Second) // writes flowing

	// A fourth process joins: it takes two tenants; every write is
	// acknowledged meanwhile.
	before := c.holders(t)
	joined := time.Now()
	c.start()
	took, n = c.waitPlacement(t, servers(), tenants, time.Minute, even(3, 2, 2, 2))
	time.Sleep(time.Second)
	settled := time.Now()
	t.Logf("a fourth process joined: %v after %s", n, took)
	after := c.holders(t)
	var outage time.Duration
	moved := 0
	for _, p := range tenants {
		gap, failed := p.maxGap(joined, settled)
		if before[p.id] != after[p.id] {
			moved++
			outage = max(outage, gap)
		}
		if failed > 0 {
			p.mu.Lock()
			t.Errorf("tenant %s: %d writes failed while the placement changed: %s", p.id, failed, strings.Join(p.failed, "; "))
			p.failed = nil
			p.mu.Unlock()
		}
	}
	if moved < 2 {
		t.Errorf("%d tenants changed holder when the fourth process joined, want 2 or more", moved)
	}

	// One process is killed: the others take its tenants once its leases
	// and registration ran out.
	victim := c.pick(1)
	victim.kill()
	c.mu.Lock()
	for i, s := range c.servers {
		if s == victim {
			c.servers = append(c.servers[:i], c.servers[i+1:]...)
			break
		}
	}
	c.mu.Unlock()
	taken, n := c.waitPlacement(t, servers(), tenants, ttl+time.Minute, func([]int) bool { return true })
	spread, n2 := c.waitPlacement(t, servers(), tenants, time.Minute, even(3, 3, 3))
	t.Logf("a process killed: its tenants held again after %s (%v), evenly after %s (%v)", taken, n, spread+taken, n2)
	killFailures := 0
	for _, p := range tenants {
		p.mu.Lock()
		killFailures += len(p.failed)
		p.failed = nil
		p.mu.Unlock()
	}

	// A process limited to one tenant replaces another: it never holds
	// more than one, and the others hold the rest.
	gone := c.pick(0)
	gone.stop()
	limited := startServe(t, db, append(append([]string(nil), c.env...), "ALLOT_MAX_TENANTS=1"), nil)
	c.replace(gone, limited)
	var over atomic.Int64
	watch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-watch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if n, _ := perServer(c.holders(t), []*server{limited}, tenants); n[0] > 1 { // (the others count as free here)
				over.Add(1)
			}
		}
	}()
	_, n = c.waitPlacement(t, servers(), tenants, time.Minute, func(n []int) bool {
		got := append([]int(nil), n...)
		sort.Ints(got)
		return fmt.Sprint(got) == "[1 4 4]"
	})
	time.Sleep(2 * time.Second)
	close(watch)
	<-watched
	if over.Load() > 0 {
		t.Errorf("the process started with --max-tenants 1 held more than one tenant %d times", over.Load())
	}
	t.Logf("with --max-tenants 1 on one of 3: %v", n)

	close(stop)
	writers.Wait()
	// Every acknowledged user is there, read through every process.
	acked := 0
	for _, p := range tenants {
		p.mu.Lock()
		users := append([]string(nil), p.users...)
		p.mu.Unlock()
		acked += len(users)
		for i, s := range servers() {
			got := map[string]bool{}
			for _, id := range s.list(t, "/v1.0/users?$select=id&$top=999", p.admin) {
				got[id] = true
			}
			for _, u := range users {
				if !got[u] {
					// A follower may be a poll behind: ask with the
					// number the owner has.
					if st, _ := s.call("GET", "/v1.0/users/"+u, p.admin, nil); st != 200 {
						t.Errorf("tenant %s: acknowledged user %s not on process %d (%d)", p.id, u, i, st)
					}
				}
			}
		}
	}
	t.Logf("FIGURES placement (lease %s): fourth process joined → %d tenants handed over, longest gap between acknowledged writes of a moved tenant %s (writes every 100 ms per tenant, through all processes); a process SIGKILLed → its tenants held again after %s, evenly spread after %s; %d writes unacknowledged around the kill; %d writes acknowledged",
		ttl, moved, outage.Round(time.Millisecond), taken.Round(time.Millisecond), (spread + taken).Round(time.Millisecond), killFailures, acked)
}
