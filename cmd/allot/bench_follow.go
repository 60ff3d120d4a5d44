package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"allot/api/server"
	"allot/licensing"
	"allot/tenant"
)

// allot bench follow: two allot processes on one PostgreSQL database, the
// owner of every tenant (this process) and a follower (a child process of
// the same binary, built as allot serve --ha builds one). The owner commits
// commands through its runtime in-process, paced at --rate over --tenants
// tenants (one new user each, a change-log record and an audit entry), so
// the load generator costs no HTTP; the follower applies the change log
// (LISTEN/NOTIFY, one Changes query per step) and notes when its copy of
// each tenant reached each log number. Reported: commits (the log's
// numbers, not commands), the follower's lag (the owner's Do returned → the
// follower's copy has that number, both on this machine's clock), the CPU
// of the owner, the follower and PostgreSQL over the load, and a partner
// API write sent to the owner and to the follower (forwarded), at rest and
// under the load.

type followBench struct {
	db                string
	tenants, inflight int
	rate              float64
	seconds           float64
	forwards          int
	cpuProfile, fProf string
	role              string // "follower" in the child
	token             string // the child's: the partner secret
	keep              bool
}

func benchFollowCmd() *cobra.Command {
	var o followBench
	c := &cobra.Command{
		Use:         "follow",
		Annotations: createsDatabase, // a schema of its own
		Short:       "Measure a follower's lag, each process's CPU and a forwarded write on PostgreSQL (two processes)",
		Long: `Start an owner (this process) and a follower (a child process) on a schema of
their own in the PostgreSQL database --db, create --tenants tenants on the owner,
then commit one command at a time per slot at --rate commands per second for
--seconds (at most --inflight at once) and report the commits per second (log
numbers), the follower's lag p50/p99/max, the CPU of each process and of
PostgreSQL, and the latency of a partner API write sent to the owner and to the
follower (which forwards it), at rest and under the load. See
docs/BENCHMARKS.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(o.db, "postgres://") && !strings.HasPrefix(o.db, "postgresql://") {
				return fmt.Errorf("--db: want a PostgreSQL URL (postgres://…), not %q", o.db)
			}
			if o.role == "follower" {
				return runFollower(cmd.Context(), o)
			}
			return runFollowBench(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.db, "db", "", "PostgreSQL URL (a schema of its own is created and dropped)")
	f.IntVar(&o.tenants, "tenants", 64, "tenants the load is spread over")
	f.IntVar(&o.inflight, "inflight", 32, "commands in flight at most")
	f.Float64Var(&o.rate, "rate", 1000, "commands per second offered (0: as fast as they complete)")
	f.Float64Var(&o.seconds, "seconds", 20, "seconds of load")
	f.IntVar(&o.forwards, "forwards", 100, "partner API writes timed through each process at rest")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write the owner's CPU profile over the load to this file")
	f.StringVar(&o.fProf, "follower-cpuprofile", "", "write the follower's CPU profile over the load to this file")
	f.BoolVar(&o.keep, "keep", false, "keep the schema")
	f.StringVar(&o.role, "role", "", "internal: the child's role")
	f.StringVar(&o.token, "token", "", "internal: the partner secret")
	_ = f.MarkHidden("role")
	_ = f.MarkHidden("token")
	return c
}

// loadTenant is a tenant under load on the owner: when each log number
// was acknowledged (the first Do that returned with the copy at it or
// beyond).
type loadTenant struct {
	id   string
	t    *tenant.Tenant
	mu   sync.Mutex
	base int64
	at   []time.Time // at[i]: number base+1+i
}

func (lt *loadTenant) acked(now time.Time) {
	cur := lt.t.LogSeq()
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for s := lt.base + int64(len(lt.at)) + 1; s <= cur; s++ {
		lt.at = append(lt.at, now)
	}
}

// followerReport is what the follower child sends back.
type followerReport struct {
	CPUUser, CPUSys time.Duration
	// Applied: per tenant, the number the watch started at and when
	// each later number was applied (Unix nanoseconds).
	Applied map[string]appliedTimes
	Missing int // numbers the follower had not reached within a minute
}

type appliedTimes struct {
	Base int64
	At   []int64
}

// benchChild is the follower process and its control lines.
type benchChild struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  func() (string, bool)
	URL  string
	wait func() error
}

func startFollower(ctx context.Context, o followBench, db, token string) (*benchChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"bench", "follow", "--role", "follower", "--db", db, "--tenants", strconv.Itoa(o.tenants + 1), "--token", token}
	if o.fProf != "" {
		args = append(args, "--follower-cpuprofile", o.fProf)
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := lineReader(out)
	c := &benchChild{cmd: cmd, in: in, wait: cmd.Wait, out: func() (string, bool) {
		if sc.Scan() {
			return sc.Text(), true
		}
		return "", false
	}}
	line, ok := c.out()
	u, found := strings.CutPrefix(line, "ready ")
	if !ok || !found {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the follower did not start (%q)", line)
	}
	c.URL = u
	return c, nil
}

func runFollowBench(ctx context.Context, out io.Writer, o followBench) error {
	db, drop, err := benchSchema(ctx, o.db)
	if err != nil {
		return err
	}
	if !o.keep {
		defer drop()
	}
	token := randomSecret()
	owner, err := startBenchNode(ctx, db, token, 10*time.Second)
	if err != nil {
		return err
	}
	defer owner.close()
	var lts []*loadTenant
	for i := range o.tenants {
		id, err := createCustomer(ctx, owner.URL, token, fmt.Sprint("Bench", i))
		if err != nil {
			return err
		}
		t, _ := owner.rt.Get(id)
		lts = append(lts, &loadTenant{id: id, t: t})
	}
	fwd, err := createCustomer(ctx, owner.URL, token, "Forwarded")
	if err != nil {
		return err
	}
	child, err := startFollower(ctx, o, db, token)
	if err != nil {
		return err
	}
	defer func() { _ = child.cmd.Process.Kill(); _ = child.wait() }()
	fmt.Fprintf(out, "owner %s, follower %s (pid %d), %d tenants; load average %s\n", owner.URL, child.URL, child.cmd.Process.Pid, o.tenants, loadAverage())

	if o.forwards > 0 {
		f, err := forwardSamples(ctx, owner.URL, child.URL, token, fwd, o.forwards, nil)
		if err != nil {
			return err
		}
		printForwards(out, "at rest", f)
	}

	pg, err := pgx.Connect(ctx, plainConn(db))
	if err != nil {
		return err
	}
	defer pg.Close(ctx)
	return runFollowLoad(ctx, out, o, owner, child, pg, lts, token, fwd)
}

// runFollowLoad runs the load, times forwarded writes meanwhile, and
// reports.
func runFollowLoad(ctx context.Context, out io.Writer, o followBench, owner *benchNode, child *benchChild, pg *pgx.Conn, lts []*loadTenant, token, fwd string) error {
	for _, lt := range lts {
		lt.base = lt.t.LogSeq()
	}
	if _, err := io.WriteString(child.in, "start\n"); err != nil {
		return err
	}
	if line, _ := child.out(); line != "started" {
		return fmt.Errorf("the follower did not start watching (%q)", line)
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	load0 := loadAverage()
	u0, s0 := cpuSelf()
	pg0, err := pgProcesses(ctx, pg)
	if err != nil {
		return err
	}
	start := time.Now()
	dur := time.Duration(o.seconds * float64(time.Second))
	stopFwd := make(chan struct{})
	type fwdResult struct {
		f   fwdTimes
		err error
	}
	fwdDone := make(chan fwdResult, 1)
	go func() {
		f, err := forwardSamples(ctx, owner.URL, child.URL, token, fwd, 0, stopFwd)
		fwdDone <- fwdResult{f, err}
	}()
	commands, late, err := offerLoad(ctx, lts, o, start, dur)
	elapsed := time.Since(start)
	close(stopFwd)
	fr := <-fwdDone
	u1, s1 := cpuSelf()
	pg1, _ := pgProcesses(ctx, pg)
	load1 := loadAverage()
	stopProfile()
	if err != nil {
		return err
	}
	if fr.err != nil {
		return fr.err
	}
	rep, err := stopFollower(child, lts)
	if err != nil {
		return err
	}
	commits := 0
	for _, lt := range lts {
		commits += len(lt.at)
	}
	lags, unseen := followLags(lts, rep)
	wall := elapsed.Seconds()
	fmt.Fprintf(out, "load: %d tenants, %.0f commands/s offered, %d in flight at most, %s: %d commands, %d commits (%.0f commits/s; %.0f commands/s), %s behind the schedule at the end\n",
		o.tenants, o.rate, o.inflight, elapsed.Round(time.Millisecond), commands, commits, float64(commits)/wall, float64(commands)/wall, late.Round(time.Millisecond))
	fmt.Fprintf(out, "follower lag over %d commits: p50 %s, p90 %s, p99 %s, max %s (%d not seen)\n",
		len(lags), ms(pct(lags, 0.5)), ms(pct(lags, 0.9)), ms(pct(lags, 0.99)), ms(pct(lags, 1)), unseen+rep.Missing)
	fmt.Fprintf(out, "CPU over the load (user+sys per wall second): owner and load generator %.2f (user %.1f s, sys %.1f s), follower %.2f (user %.1f s, sys %.1f s), PostgreSQL %.2f (%d processes); load average %s → %s\n",
		(u1-u0+s1-s0).Seconds()/wall, (u1 - u0).Seconds(), (s1 - s0).Seconds(),
		(rep.CPUUser+rep.CPUSys).Seconds()/wall, rep.CPUUser.Seconds(), rep.CPUSys.Seconds(),
		cpuSince(pg0, pg1).Seconds()/wall, len(pg1), load0, load1)
	printForwards(out, "under the load", fr.f)
	return nil
}

// offerLoad commits at o.rate (slot i is due at start + i/rate, on tenant
// i mod tenants) with at most o.inflight commands at once, for dur; it
// returns the commands run and how late the last slot started.
func offerLoad(ctx context.Context, lts []*loadTenant, o followBench, start time.Time, dur time.Duration) (int64, time.Duration, error) {
	var slot, done atomic.Int64
	var late atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	interval := time.Duration(0)
	if o.rate > 0 {
		interval = time.Duration(float64(time.Second) / o.rate)
	}
	end := start.Add(dur)
	for range max(o.inflight, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := slot.Add(1) - 1
				due := start.Add(time.Duration(i) * interval)
				now := time.Now()
				if due.After(end) || now.After(end) {
					return
				}
				if d := due.Sub(now); d > 0 {
					time.Sleep(d)
				} else {
					late.Store(int64(-d))
				}
				lt := lts[int(i%int64(len(lts)))]
				uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
				err := lt.t.Do(ctx, licensing.Op{}, func(tx *tenant.Tx) error {
					return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: "u" + strconv.FormatInt(i, 10) + "@bench.example", UsageLocation: "US"})
				})
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				lt.acked(time.Now())
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return done.Load(), time.Duration(late.Load()), firstErr
}

// stopFollower tells the follower the numbers the owner reached and reads
// its report once it has them (or a minute passed).
func stopFollower(child *benchChild, lts []*loadTenant) (followerReport, error) {
	final := map[string]int64{}
	for _, lt := range lts {
		final[lt.id] = lt.t.LogSeq()
	}
	b, _ := json.Marshal(final)
	var rep followerReport
	if _, err := fmt.Fprintf(child.in, "stop %s\n", b); err != nil {
		return rep, err
	}
	line, ok := child.out()
	if !ok {
		return rep, errors.New("the follower ended without a report")
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		return rep, fmt.Errorf("the follower's report: %w", err)
	}
	return rep, nil
}

// followLags pairs every acknowledged number with the follower's apply
// time (negative: the follower applied it before the owner's Do returned;
// counted as 0) and returns them sorted, and how many were not seen.
func followLags(lts []*loadTenant, rep followerReport) ([]time.Duration, int) {
	var lags []time.Duration
	unseen := 0
	for _, lt := range lts {
		a := rep.Applied[lt.id]
		for i, c := range lt.at {
			j := lt.base + int64(i) + 1 - a.Base - 1
			if j < 0 || j >= int64(len(a.At)) {
				unseen++
				continue
			}
			lags = append(lags, max(time.Unix(0, a.At[j]).Sub(c), 0))
		}
	}
	sortDurations(lags)
	return lags, unseen
}

// fwdTimes are the latencies forwardSamples measures.
type fwdTimes struct {
	// direct: a write sent to the owner; forwarded: the same sent to the
	// follower; then read: the tenant read on the follower right after
	// the forwarded write's answer (no header: read-your-writes where the
	// write was sent, as a form's redirect reads).
	direct, forwarded, read []time.Duration
}

// forwardSamples times the same write sent to the owner and to the
// follower, alternately, and a read on the follower after each forwarded
// one: n of each, or until stop is closed. Each answer through the
// follower must name the owner in ForwardedToHeader.
func forwardSamples(ctx context.Context, ownerURL, followerURL, token, id string, n int, stop <-chan struct{}) (fwdTimes, error) {
	var f fwdTimes
	for i := 0; n == 0 || i < n; i++ {
		if stop != nil {
			select {
			case <-stop:
				return f, nil
			default:
			}
		}
		t0 := time.Now()
		if _, err := subscribe(ctx, ownerURL, token, id); err != nil {
			return f, err
		}
		f.direct = append(f.direct, time.Since(t0))
		t0 = time.Now()
		h, err := subscribe(ctx, followerURL, token, id)
		if err != nil {
			return f, err
		}
		f.forwarded = append(f.forwarded, time.Since(t0))
		if h.Get(server.ForwardedToHeader) == "" {
			return f, fmt.Errorf("a write sent to the follower was not forwarded (no %s)", server.ForwardedToHeader)
		}
		t0 = time.Now()
		code, b, _, err := call(ctx, "GET", followerURL+"/partner/v1/customers/"+id, token, nil)
		if err != nil || code != 200 {
			return f, fmt.Errorf("reading the tenant on the follower: %d %s %v", code, b, err)
		}
		f.read = append(f.read, time.Since(t0))
	}
	return f, nil
}

func printForwards(out io.Writer, when string, f fwdTimes) {
	sortDurations(f.direct)
	sortDurations(f.forwarded)
	sortDurations(f.read)
	fmt.Fprintf(out, "partner API write %s (%d each, alternating): to the owner p50 %s p99 %s; through the follower (forwarded) p50 %s p99 %s; the tenant read on the follower right after p50 %s p99 %s\n",
		when, len(f.direct), ms(pct(f.direct, 0.5)), ms(pct(f.direct, 0.99)), ms(pct(f.forwarded, 0.5)), ms(pct(f.forwarded, 0.99)), ms(pct(f.read, 0.5)), ms(pct(f.read, 0.99)))
}

// runFollower is the child: a follower node that reports, between the
// parent's "start" and "stop" lines, its CPU and when each tenant's copy
// reached each log number.
func runFollower(ctx context.Context, o followBench) error {
	node, err := startBenchNode(ctx, o.db, "", 10*time.Second)
	if err != nil {
		return err
	}
	defer node.close()
	for deadline := time.Now().Add(time.Minute); len(node.rt.List()) < o.tenants; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the follower knows %d of %d tenants after a minute", len(node.rt.List()), o.tenants)
		}
	}
	if err := node.rt.WaitLoaded(ctx); err != nil {
		return err
	}
	fmt.Printf("ready %s\n", node.URL)
	in := lineReader(os.Stdin)
	if !in.Scan() || in.Text() != "start" {
		return errors.New("follower: no start line")
	}
	stop := make(chan struct{})
	watches := map[string]*appliedTimes{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, info := range node.rt.List() {
		t, _ := node.rt.Get(info.ID)
		a := &appliedTimes{Base: t.LogSeq()}
		watches[info.ID] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			watchApplied(t, a, &mu, stop)
		}()
	}
	stopProfile, err := startCPUProfile(o.fProf)
	if err != nil {
		return err
	}
	u0, s0 := cpuSelf()
	fmt.Println("started")
	if !in.Scan() {
		return errors.New("follower: no stop line")
	}
	u1, s1 := cpuSelf()
	stopProfile()
	var final map[string]int64
	if err := json.Unmarshal([]byte(strings.TrimPrefix(in.Text(), "stop ")), &final); err != nil {
		return err
	}
	rep := followerReport{CPUUser: u1 - u0, CPUSys: s1 - s0, Applied: map[string]appliedTimes{}}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for id, seq := range final {
		if t, ok := node.rt.Get(id); !ok || t.WaitSeq(wctx, seq) != nil {
			rep.Missing++
		}
	}
	time.Sleep(10 * time.Millisecond) // the watches note the last numbers
	close(stop)
	wg.Wait()
	for id, a := range watches {
		rep.Applied[id] = *a
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// watchApplied notes when t's readers' copy reaches each log number after
// a.Base, until stop is closed.
func watchApplied(t *tenant.Tenant, a *appliedTimes, mu *sync.Mutex, stop <-chan struct{}) {
	last := a.Base
	for {
		ch := t.Advanced()
		if cur := t.LogSeq(); cur > last {
			now := time.Now().UnixNano()
			mu.Lock()
			for s := last + 1; s <= cur; s++ {
				a.At = append(a.At, now)
			}
			mu.Unlock()
			last = cur
		}
		select {
		case <-ch:
		case <-stop:
			return
		}
	}
}
