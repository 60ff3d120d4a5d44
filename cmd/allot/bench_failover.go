package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"allot/api/server"
)

// allot bench failover: two allot serve --ha processes (this binary) on a
// schema of their own; a tenant written through the process that does not
// own it (so each write is forwarded); the owner SIGKILLed; the time until
// the next write sent to the other process is acknowledged (201). The
// killed process is started again and the next run kills the new owner.

type failoverBench struct {
	db   string
	runs int
	ttl  time.Duration
	keep bool
}

func benchFailoverCmd() *cobra.Command {
	var o failoverBench
	c := &cobra.Command{
		Use:         "failover",
		Annotations: createsDatabase, // a schema of its own
		Short:       "Measure failover on PostgreSQL: the owner SIGKILLed → the next write acknowledged through another allot serve --ha",
		Long: `Start two allot serve --ha processes on a schema of their own in the PostgreSQL
database --db, create a tenant, and --runs times: write it through the process
that does not own it, SIGKILL the owner, and time until a write sent to the
other process is acknowledged; then start the killed process again. The lease
expires between 2/3 and 1 of --lease-ttl after the kill (renewed every third).
See docs/BENCHMARKS.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !strings.HasPrefix(o.db, "postgres://") && !strings.HasPrefix(o.db, "postgresql://") {
				return fmt.Errorf("--db: want a PostgreSQL URL (postgres://…), not %q", o.db)
			}
			return runFailoverBench(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.db, "db", "", "PostgreSQL URL (a schema of its own is created and dropped)")
	f.IntVar(&o.runs, "runs", 5, "owners killed")
	f.DurationVar(&o.ttl, "lease-ttl", 10*time.Second, "the processes' --lease-ttl")
	f.BoolVar(&o.keep, "keep", false, "keep the schema")
	return c
}

// serveChild is an allot serve --ha child process.
type serveChild struct {
	cmd    *exec.Cmd
	URL    string
	mu     sync.Mutex
	stderr strings.Builder
	exited chan struct{}
}

func startServeChild(db, token string, ttl time.Duration) (*serveChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--ha", "--db", db, "--addr", "127.0.0.1:0", "--lease-ttl", ttl.String())
	cmd.Env = append(os.Environ(), "ALLOT_BOOTSTRAP_TOKEN="+token)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serveChild{cmd: cmd, exited: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "allot is serving on "); ok {
				ready <- u
			}
		}
		_, _ = io.Copy(io.Discard, pipe)
		_ = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.URL = <-ready:
		return s, nil
	case <-s.exited:
		return nil, fmt.Errorf("allot serve exited before serving:\n%s", s.output())
	case <-time.After(2 * time.Minute):
		s.kill()
		return nil, fmt.Errorf("allot serve did not start serving:\n%s", s.output())
	}
}

func (s *serveChild) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// kill SIGKILLs the process and waits until it is gone.
func (s *serveChild) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// listens reports whether the process is the one a lease owner identity
// names (its address follows " at ").
func (s *serveChild) names(owner string) bool {
	return strings.Contains(owner, " at "+strings.TrimPrefix(s.URL, "http://")+"/")
}

func runFailoverBench(ctx context.Context, out io.Writer, o failoverBench) error {
	db, drop, err := benchSchema(ctx, o.db)
	if err != nil {
		return err
	}
	if !o.keep {
		defer drop()
	}
	token := randomSecret()
	var procs [2]*serveChild
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.kill()
			}
		}
	}()
	for i := range procs {
		if procs[i], err = startServeChild(db, token, o.ttl); err != nil {
			return err
		}
	}
	id, err := createCustomer(ctx, procs[0].URL, token, "Failover")
	if err != nil {
		return err
	}
	pg, err := pgx.Connect(ctx, plainConn(db))
	if err != nil {
		return err
	}
	defer pg.Close(ctx)
	fmt.Fprintf(out, "two allot serve --ha, lease %s, tenant %s; load average %s\n", o.ttl, id, loadAverage())
	var times []time.Duration
	for run := 1; run <= o.runs; run++ {
		d, err := failoverRun(ctx, out, pg, &procs, db, token, id, o.ttl, run)
		if err != nil {
			return err
		}
		times = append(times, d)
	}
	sortDurations(times)
	fmt.Fprintf(out, "failover (SIGKILL of the owner → the next write acknowledged by the other process), %d runs, lease %s: p50 %s, max %s, min %s; load average %s\n",
		len(times), o.ttl, ms(pct(times, 0.5)), ms(pct(times, 1)), ms(times[0]), loadAverage())
	return nil
}

// failoverRun kills the tenant's owner among procs, times the next write
// acknowledged through the other, and starts the killed one again.
func failoverRun(ctx context.Context, out io.Writer, pg *pgx.Conn, procs *[2]*serveChild, db, token, id string, ttl time.Duration, run int) (time.Duration, error) {
	var owner string
	if err := pg.QueryRow(ctx, `SELECT owner FROM tenant_leases WHERE tenant_id = $1`, id).Scan(&owner); err != nil {
		return 0, fmt.Errorf("the tenant's lease: %w", err)
	}
	k := -1
	for i, p := range procs {
		if p.names(owner) {
			k = i
		}
	}
	if k < 0 {
		return 0, fmt.Errorf("the lease names %q, neither process", owner)
	}
	other := procs[1-k]
	// Writes through the other process are forwarded to the owner.
	for range 5 {
		h, err := subscribe(ctx, other.URL, token, id)
		if err != nil {
			return 0, err
		}
		if h.Get(server.ForwardedToHeader) == "" {
			return 0, errors.New("a write sent to the process without the lease was not forwarded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The kill falls at a random point of the owner's renewal period
	// (every third of the lease time), as a crash would.
	time.Sleep(rand.N(ttl / 3))
	t0 := time.Now()
	procs[k].kill()
	failed := 0
	var d time.Duration
	for {
		_, err := subscribe(ctx, other.URL, token, id)
		if err == nil {
			d = time.Since(t0)
			break
		}
		failed++
		if time.Since(t0) > 3*ttl+time.Minute {
			return 0, fmt.Errorf("no write acknowledged %s after the kill: %v", time.Since(t0), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Fprintf(out, "run %d: owner killed → write acknowledged by the other process after %s (%d writes failed meanwhile); load average %s\n", run, ms(d), failed, loadAverage())
	p, err := startServeChild(db, token, ttl)
	if err != nil {
		return 0, err
	}
	procs[k] = p
	// The new process loads the tenant before the next run kills the other.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		code, _, _, err := call(ctx, "GET", p.URL+"/partner/v1/customers/"+id, token, nil)
		if err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the restarted process does not serve the tenant: %d %v", code, err)
		}
	}
	return d, nil
}
