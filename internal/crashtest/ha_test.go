package crashtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"allot/internal/pgtest"
)

// haRounds is the number of owner pauses and kills of the HA test.
func haRounds() int {
	if long() {
		return 20
	}
	return 5
}

// haTTL is the lease time of the HA test's servers (ALLOT_HA_TEST_TTL,
// default 2s: the rounds wait for leases to expire).
func haTTL(t testing.TB) time.Duration {
	if v := os.Getenv("ALLOT_HA_TEST_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ALLOT_HA_TEST_TTL: %v", err)
		}
		return d
	}
	return 2 * time.Second
}

// ownDatabase creates a database with a unique name on the server of
// ALLOT_TEST_POSTGRES (skipping without it, unless required) and returns
// its URL; it is dropped at cleanup.
func ownDatabase(t testing.TB) string {
	t.Helper()
	admin := pgtest.URL(t) // skips without a server
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "allot_ha_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), admin); err == nil {
			if _, err := c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
			c.Close(context.Background())
		}
	})
	u.Path = "/" + name
	return u.String()
}

// haPace is each writer's pause between writes: the verification reads
// every acknowledged write back, within Graph's per-token throttling.
const haPace = 40 * time.Millisecond

// haAck is one acknowledged write of the HA workload.
type haAck struct {
	at     time.Time
	server *server
	// to: the process a forwarded write was served by (its lease
	// identity, X-Allot-Forwarded-To), "" if served by server.
	to string
}

// by reports whether s wrote the acknowledged write.
func (a haAck) by(s *server) bool {
	if a.to != "" {
		return strings.Contains(a.to, " at "+strings.TrimPrefix(s.URL, "http://")+"/")
	}
	return a.server == s
}

// haTenant is a world written through every server of a cluster.
type haTenant struct {
	*world
	a    acks
	mu   sync.Mutex
	last haAck // the latest acknowledged write
}

// cluster is the allot serve processes sharing one database.
type cluster struct {
	t       *testing.T
	db      string
	env     []string
	mu      sync.Mutex
	servers []*server
}

func (c *cluster) start() *server {
	s := startServe(c.t, c.db, c.env, nil)
	c.mu.Lock()
	c.servers = append(c.servers, s)
	c.mu.Unlock()
	return s
}

// live returns the servers, the one at i first.
func (c *cluster) pick(i int) *server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.servers[i%len(c.servers)]
}

func (c *cluster) replace(old, by *server) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, s := range c.servers {
		if s == old {
			c.servers[i] = by
		}
	}
}

func (c *cluster) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.servers)
}

// write runs workers on w that send each write to one server and move to
// the next on a refusal (503: another process holds the tenant) or a
// transport error, until stop closes.
func (c *cluster) write(w *haTenant, workers int, prefix string, stop <-chan struct{}, refused *atomic.Int64, ryw *rywCount) {
	var wg sync.WaitGroup
	var seq atomic.Int64
	for k := range workers {
		wg.Go(func() {
			at := k
			ack := func(s *server, to string) {
				w.mu.Lock()
				w.last = haAck{time.Now(), s, to}
				w.mu.Unlock()
				w.a.n.Add(1)
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := c.pick(at)
				i := seq.Add(1)
				st, body, hdr := s.haCallH("POST", "/v1.0/users", w.admin, userBody(fmt.Sprintf("%s%d", prefix, i), w.domain))
				if st != 201 {
					if st == 503 {
						refused.Add(1)
					}
					at++
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var u struct{ ID string }
				_ = json.Unmarshal(body, &u)
				w.a.mu.Lock()
				w.a.users = append(w.a.users, u.ID)
				w.a.mu.Unlock()
				ack(s, hdr.Get("X-Allot-Forwarded-To"))
				ryw.check(c.pick(at+1), w, u.ID, hdr.Get("X-Allot-Seq"))
				time.Sleep(haPace)
				if i%3 == 2 {
					st, _, hdr = s.haCallH("POST", "/v1.0/users/"+u.ID+"/assignLicense", w.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
					if st == 200 {
						w.a.mu.Lock()
						w.a.direct = append(w.a.direct, u.ID)
						w.a.mu.Unlock()
						ack(s, hdr.Get("X-Allot-Forwarded-To"))
					}
				} else {
					g := w.g
					if i%3 == 1 {
						g = w.h
					}
					st, _, hdr = s.haCallH("POST", "/v1.0/groups/"+g+"/members/$ref", w.admin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + u.ID})
					if st == 204 {
						w.a.mu.Lock()
						w.a.members[u.ID] = g
						w.a.mu.Unlock()
						ack(s, hdr.Get("X-Allot-Forwarded-To"))
					}
				}
			}
		})
	}
	wg.Wait()
}

// owner returns the server whose address the tenant's lease names.
func (c *cluster) owner(t *testing.T, tenantID string) (*server, string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var owner string
	var live bool
	if err := conn.QueryRow(ctx, `SELECT owner, expires_at > clock_timestamp() FROM tenant_leases WHERE tenant_id = $1`, tenantID).Scan(&owner, &live); err != nil {
		t.Fatalf("the lease of %s: %v", tenantID, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.servers {
		if live && strings.Contains(owner, " at "+strings.TrimPrefix(s.URL, "http://")+"/") {
			return s, owner
		}
	}
	return nil, owner
}

// metric returns a counter of the server's /metrics (0 if absent).
func (s *server) metric(name string) float64 {
	_, body := s.call("GET", "/metrics", "", nil)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// Several allot serve --ha processes on one PostgreSQL database, written
// through all of them: each round pauses (SIGSTOP) or kills (SIGKILL) the
// process holding a tenant's lease. Another process takes the tenant over
// once the lease expired; the paused one, woken, writes nothing (its writes
// are refused, naming the new owner, and the loss is counted and logged);
// afterwards every acknowledged write is in the database and no seat is
// oversubscribed.
func TestHAOwnerPausedOrKilledLosesNothingAcknowledged(t *testing.T) {
	db := ownDatabase(t)
	ttl := haTTL(t)
	c := &cluster{t: t, db: db, env: []string{"ALLOT_HA=1", "ALLOT_LEASE_TTL=" + ttl.String()}}
	first := c.start()
	var tenants []*haTenant
	for i := range 3 {
		w := newWorld(t, first, fmt.Sprintf("Ha%d", i))
		tenants = append(tenants, &haTenant{world: w, a: acks{members: map[string]string{}}})
	}
	// The others start once the tenants exist (a process learns of the
	// tenants when it starts: docs/SCALING.md).
	c.start()
	c.start()

	stop := make(chan struct{})
	var writers sync.WaitGroup
	var refused atomic.Int64
	ryw := &rywCount{}
	for i, w := range tenants {
		writers.Go(func() { c.write(w, 2, fmt.Sprintf("w%d-", i), stop, &refused, ryw) })
	}
	for _, w := range tenants {
		waitAcks(t, w, 5)
	}
	var pauses, kills []time.Duration
	fenced := 0.0
	forwarded := 0
	for r := range haRounds() {
		w := tenants[r%len(tenants)]
		waitAcks(t, w, 3)
		old, owner := c.owner(t, w.tenant)
		if old == nil {
			t.Fatalf("round %d: the lease of %s names %q, no running server", r, w.tenant, owner)
		}
		kill := r%2 == 1
		t0 := time.Now()
		if kill {
			old.kill()
		} else if err := old.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		took := waitTakeover(t, r, w, old, t0, ttl)
		if took < ttl/2 { // the last renewal was at most TTL/3 before the stop
			t.Errorf("round %d: another process wrote tenant %s %s after its owner stopped, before the lease (%s) could expire", r, w.tenant, took, ttl)
		}
		if kill {
			kills = append(kills, took)
			c.replace(old, c.startAlone())
			continue
		}
		pauses = append(pauses, took)
		newOwner, _ := c.owner(t, w.tenant)
		if err := old.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		fwd, fence := wokenOwnerWrites(t, c, r, w, old, newOwner, ttl, ryw)
		if fwd {
			forwarded++
		}
		fenced += fence
	}
	close(stop)
	writers.Wait()
	for i := range c.size() {
		c.pick(i).stop()
	}
	// A fresh process reads everything from the database.
	check := startServe(t, db, c.env, nil)
	f := figures{kills: len(pauses) + len(kills)}
	for _, w := range tenants {
		f.acked += int(w.a.n.Load())
		f.violations += w.verify(t, check, &w.a)
	}
	f.log(t, "ha")
	if v := ryw.violations.Load(); v > 0 {
		t.Errorf("%d reads with X-Allot-Min-Seq on another process did not see the write: %s", v, strings.Join(ryw.details, "\n"))
	}
	if ryw.seen.Load() == 0 {
		t.Error("no read with X-Allot-Min-Seq was checked")
	}
	t.Logf("FIGURES ha read-your-writes: %d reads on another process saw the write, %d waited too long (503), %d violations; client writes forwarded by a woken old owner: %d",
		ryw.seen.Load(), ryw.late.Load(), ryw.violations.Load(), forwarded)
	sort.Slice(pauses, func(i, j int) bool { return pauses[i] < pauses[j] })
	sort.Slice(kills, func(i, j int) bool { return kills[i] < kills[j] })
	t.Logf("FIGURES ha failover (lease %s): after SIGSTOP %v; after SIGKILL %v; writes refused 503 %d; commits fenced in the database %v",
		ttl, pauses, kills, refused.Load(), fenced)
}

// waitAcks waits for n more acknowledged writes of w's tenant.
func waitAcks(t *testing.T, w *haTenant, n int64) {
	t.Helper()
	target := w.a.n.Load() + n
	for deadline := time.Now().Add(time.Minute); w.a.n.Load() < target; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("tenant %s: no acknowledged write for a minute", w.tenant)
		}
	}
}

// waitTakeover waits for the next acknowledged write of w's tenant on
// another process than old, stopped at t0 in round r, and returns how long
// after t0 it came.
func waitTakeover(t *testing.T, r int, w *haTenant, old *server, t0 time.Time, ttl time.Duration) time.Duration {
	for deadline := t0.Add(ttl + time.Minute); ; time.Sleep(2 * time.Millisecond) {
		w.mu.Lock()
		last := w.last
		w.mu.Unlock()
		if last.at.After(t0) && !last.by(old) {
			return last.at.Sub(t0)
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %d: tenant %s was not taken over within %s of losing its owner", r, w.tenant, ttl+time.Minute)
		}
	}
}

// wokenOwnerWrites: the old owner of w's tenant, woken in round r, refuses
// a write served there (naming newOwner), forwards a client's write to the
// new owner (forwarded), and counts and logs the lost lease; fence is its
// count of commits fenced in the database.
func wokenOwnerWrites(t *testing.T, c *cluster, r int, w *haTenant, old, newOwner *server, ttl time.Duration, ryw *rywCount) (forwarded bool, fence float64) {
	// Served here (as a forwarded write is, never forwarded again),
	// the woken old owner's write is refused, naming the new owner.
	st, body := old.call("POST", "/v1.0/users", w.admin, userBody(fmt.Sprintf("stale%d", r), w.domain), "X-Allot-Forwarded-By: crashtest")
	for try := 0; try < 5 && st == 503 && strings.Contains(string(body), "could not be checked"); try++ {
		// The woken process's renewal timed out (a loaded machine): the
		// refusal names no owner yet; ask again.
		time.Sleep(ttl / 4)
		st, body = old.call("POST", "/v1.0/users", w.admin, userBody(fmt.Sprintf("stale%d-%d", r, try), w.domain), "X-Allot-Forwarded-By: crashtest")
	}
	if st != 503 {
		t.Errorf("round %d: the woken old owner's write of %s: %d %s, want 503", r, w.tenant, st, body)
	} else if names := func(s *server) bool {
		return s != nil && strings.Contains(string(body), " at "+strings.TrimPrefix(s.URL, "http://")+"/")
	}; names(old) {
		t.Errorf("round %d: the woken old owner's refusal %s names itself", r, body)
	} else if after, holder := c.owner(t, w.tenant); newOwner != nil && !names(newOwner) && !names(after) {
		// The placement may move the tenant on once the woken process
		// is back (it is short of its share): the refusal names the
		// holder when it was refused, the one that took over or the
		// one holding the tenant now.
		t.Errorf("round %d: the refusal %s names neither the new owner %s nor the holder now (%s)", r, body, newOwner.URL, holder)
	}
	// Sent as a client sends it, it is forwarded to the new owner.
	if st, body, hdr := old.haCallH("POST", "/v1.0/users", w.admin, userBody(fmt.Sprintf("fwd%d", r), w.domain)); st == 201 {
		var u struct{ ID string }
		_ = json.Unmarshal(body, &u)
		w.a.mu.Lock()
		w.a.users = append(w.a.users, u.ID)
		w.a.mu.Unlock()
		w.a.n.Add(1)
		forwarded = true
		ryw.check(old, w, u.ID, hdr.Get("X-Allot-Seq"))
	} else if st != 503 && st != 0 {
		t.Errorf("round %d: a client's write on the woken old owner: %d %s, want 201 (forwarded) or 503", r, st, body)
	}
	var lost float64
	lost, fence = old.metric("allot_lease_lost_total"), old.metric("allot_lease_fenced_total")
	if lost+fence < 1 {
		t.Errorf("round %d: the woken old owner counted no lost lease (lost %v, fenced %v)", r, lost, fence)
	}
	if !strings.Contains(old.output(), "tenant lease lost") {
		t.Errorf("round %d: the woken old owner did not log the lost lease", r)
	}
	return forwarded, fence
}

// haClient gives up on a request after a few seconds: a paused server
// would hold a writer for the whole pause, and it moves to another.
var haClient = &http.Client{Timeout: time.Second}

// haCallH is call with haClient, also returning the answer's headers.
func (s *server) haCallH(method, path, token string, body any, headers ...string) (int, []byte, http.Header) {
	return callWith(haClient, s, method, path, token, body, headers...)
}

// callWith sends a request to s with client; headers are "Name: value".
// A transport error gives status 0.
func callWith(client *http.Client, s *server, method, path, token string, body any, headers ...string) (int, []byte, http.Header) {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, []byte(err.Error()), nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// rywCount counts the read-your-writes checks: a user acknowledged with
// X-Allot-Seq n, read on another process with X-Allot-Min-Seq n, must be
// found (200); 503 (the process could not catch up in time, or it is
// paused) is allowed, 404 is a violation.
type rywCount struct {
	seen, late, violations atomic.Int64
	mu                     sync.Mutex
	details                []string // the first violations
}

func (c *rywCount) violation(format string, a ...any) {
	c.violations.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.details) < 10 {
		c.details = append(c.details, fmt.Sprintf(format, a...))
	}
}

func (c *rywCount) check(s *server, w *haTenant, userID, seq string) {
	if seq == "" {
		c.violation("user %s acknowledged without X-Allot-Seq", userID)
		return
	}
	st, body, hdr := s.haCallH("GET", "/v1.0/users/"+userID, w.admin, nil, "X-Allot-Min-Seq: "+seq)
	switch st {
	case 200:
		c.seen.Add(1)
	case 404:
		var lines []string
		for _, l := range strings.Split(s.output(), "\n") {
			if strings.Contains(l, w.tenant) && !strings.Contains(l, `"msg":"request"`) {
				lines = append(lines, l)
			}
		}
		c.violation("user %s (seq %s) read on %s: 404 %s %v; its log of the tenant:\n%s", userID, seq, s.URL, body, hdr, strings.Join(lines, "\n"))
	default:
		c.late.Add(1)
	}
}

// startAlone starts one more server of the cluster without adding it.
func (c *cluster) startAlone() *server { return startServe(c.t, c.db, c.env, nil) }
