package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"allot/api/partner"
	"allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/lease"
	"allot/store/postgres"
	"allot/tenant"
)

// Benchmarks of several allot processes on one PostgreSQL (issue 22;
// docs/BENCHMARKS.md, docs/SCALING.md): allot bench follow (bench_follow.go)
// and allot bench failover (bench_failover.go). What they share is here: a
// schema of their own on the given server, an HA node built as allot serve
// --ha builds one, CPU accounting of this process, its children and the
// PostgreSQL server, and percentiles.

// benchSchema creates a schema of its own on the database at db and
// returns the URL that uses it, and the function that drops it.
func benchSchema(ctx context.Context, db string) (string, func(), error) {
	admin, err := pgx.Connect(ctx, plainConn(db))
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("allot_bench_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close(ctx)
		return "", nil, err
	}
	sep := "?"
	if strings.Contains(db, "?") {
		sep = "&"
	}
	drop := func() {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = admin.Exec(c, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(c)
	}
	return db + sep + "search_path=" + schema, drop, nil
}

// plainConn is db without the pool's parameters (pool_max_conns, …),
// which a single connection refuses.
func plainConn(db string) string {
	u, err := url.Parse(db)
	if err != nil {
		return db
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// benchNode is one HA process's serving part, built as allot serve --ha
// builds it (shared store, leases, runtime with the tenant options,
// follower, partner API with forwarding) without placement: the tenants
// stay with the process that created them.
type benchNode struct {
	st     *postgres.Store
	keeper *lease.Keeper
	rt     *tenant.Runtime
	URL    string
	close  func()
}

func startBenchNode(ctx context.Context, db, bootstrap string, ttl time.Duration) (*benchNode, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	st, err := postgres.OpenShared(ctx, db, postgres.SharedOptions{TTL: ttl, Owner: postgres.ProcessIdentity() + " at " + ln.Addr().String()})
	if err != nil {
		ln.Close()
		return nil, err
	}
	if _, err := server.Bootstrap(ctx, st, bootstrap, time.Now()); err != nil {
		st.Close()
		ln.Close()
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	keeper := lease.New(st, lease.Options{Logger: log})
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: log, Leases: keeper}))
	if err != nil {
		st.Close()
		ln.Close()
		return nil, err
	}
	s := server.New(rt, st, log, prometheus.NewRegistry())
	s.Cluster = &server.Cluster{Leases: st, Holds: keeper.Holds, Enter: keeper.Enter}
	partner.Register(s)
	hs := &http.Server{Handler: s.Handler()}
	go func() { _ = hs.Serve(ln) }()
	fctx, cancel := context.WithCancel(context.Background())
	fdone := make(chan struct{})
	go func() {
		defer close(fdone)
		rt.Follow(fctx, tenant.FollowOptions{})
	}()
	n := &benchNode{st: st, keeper: keeper, rt: rt, URL: "http://" + ln.Addr().String()}
	n.close = func() {
		c, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = hs.Shutdown(c)
		cancel()
		<-fdone
		_ = rt.Close(c)
		keeper.Close(c)
		st.Close()
	}
	return n, nil
}

// randomSecret is a partner token's secret for a benchmark's run.
func randomSecret() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "allot_bench_" + hex.EncodeToString(b)
}

// benchHTTP is the keep-alive client of the benchmarks' requests.
var benchHTTP = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}}

// call sends one JSON request with the partner token and returns the
// status, body and headers.
func call(ctx context.Context, method, url, token string, body any) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := benchHTTP.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// createCustomer creates a tenant through the partner API at base and
// returns its id.
func createCustomer(ctx context.Context, base, token, name string) (string, error) {
	code, b, _, err := call(ctx, "POST", base+"/partner/v1/customers", token, map[string]any{
		"companyProfile": map[string]any{"companyName": name, "domain": strings.ToLower(name) + ".example"}, "defaultUsageLocation": "US"})
	if err != nil {
		return "", err
	}
	if code != http.StatusCreated {
		return "", fmt.Errorf("creating customer %s: %d %s", name, code, b)
	}
	var c struct{ ID string }
	if err := json.Unmarshal(b, &c); err != nil || c.ID == "" {
		return "", fmt.Errorf("creating customer %s: no id in %s", name, b)
	}
	return c.ID, nil
}

// subscribe is the write the forwarding and failover figures time: one
// subscription bought for tenant id through base. It returns the answer's
// headers.
func subscribe(ctx context.Context, base, token, id string) (http.Header, error) {
	code, b, h, err := call(ctx, "POST", base+"/partner/v1/customers/"+id+"/subscriptions", token, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 1})
	if err != nil {
		return nil, err
	}
	if code != http.StatusCreated {
		return h, fmt.Errorf("subscription of %s through %s: %d %s", id, base, code, bytes.TrimSpace(b))
	}
	return h, nil
}

// cpuSelf is this process's user and system CPU.
func cpuSelf() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// procCPU is a process's user+system CPU from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command's closing parenthesis: state is 3,
	// utime 14 and stime 15 (proc(5)).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(u+s) * time.Second / hz, true
}

// pgProcesses lists the PostgreSQL server processes that work for the
// database of conn: its backends and the server's own (WAL writer,
// checkpointer, …), as pg_stat_activity lists them.
func pgProcesses(ctx context.Context, conn *pgx.Conn) (map[int]time.Duration, error) {
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL`)
	if err != nil {
		return nil, err
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, err
	}
	out := map[int]time.Duration{}
	for _, p := range pids {
		if c, ok := procCPU(int(p)); ok {
			out[int(p)] = c
		}
	}
	return out, nil
}

// cpuSince is the CPU the processes of now used since before (a process
// not in before counts whole; one gone from now is not counted).
func cpuSince(before, now map[int]time.Duration) time.Duration {
	var d time.Duration
	for pid, c := range now {
		d += c - before[pid]
	}
	return d
}

// percentiles of sorted durations.
func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// lineReader reads the control lines between a benchmark and its child.
func lineReader(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	return sc
}
