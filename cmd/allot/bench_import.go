package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"allot/bundle"
	"allot/catalog"
	"allot/internal/memtune"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/synth"
	"allot/tenant"
)

// benchImportCmd is `allot bench import`: the 1,000,000-user import of
// issue 10, on SQLite or PostgreSQL, with wall time, CPU time and peak RSS.
func benchImportCmd() *cobra.Command {
	var (
		users, groups, gls int
		perUser            float64
		seed               int64
		db, bundleDir      string
		keepBundle         string
		verify, keep       bool
		boundedCommit      bool
		cpuProfile         string
		memProfile         string
	)
	c := &cobra.Command{
		Use:   "import",
		Short: "Time importing a synthetic tenant bundle into a new tenant (wall, CPU, peak RSS)",
		Long: `Write a synthetic bundle (or use --bundle DIR from allot bench generate), then
time what allot import tenant does: read the bundle, validate it, compute every
license and commit everything durably, into a new tenant of a fresh database.

--db is a SQLite file path that must not exist yet (default: a temporary file),
or a postgres:// URL: the benchmark then works in a schema of its own,
allot_bench_<random>, dropped at the end unless --keep.

Reported: wall time from reading the bundle to the durable acknowledgement,
CPU time of this process (user+system; PostgreSQL's server processes are not
included), and the peak resident memory of this process during the import
(VmHWM, reset after generating the bundle). With --verify, the runtime is then
closed, reopened from the database, and every user's license records are
compared with those of the import (a SHA-256 over all of them).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			policy := serverMemoryPolicy
			policy.BoundBulkCommit = boundedCommit
			memtune.Enable(policy) // the process owns GC tuning (internal/memtune)
			out := cmd.OutOrStdout()
			ctx := cmd.Context()
			dir := bundleDir
			if dir == "" {
				dir = keepBundle
				if dir == "" {
					tmp, err := os.MkdirTemp("", "allot-bench-bundle-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(tmp)
					dir = tmp
				}
				cfg := synth.Config{Users: users, Groups: groups, GroupLicenses: gls, MembershipsPerUser: perUser, Seed: seed}
				if cfg.Groups <= 0 {
					cfg.Groups = max(10, users/100)
				}
				start := time.Now()
				if err := writeSynthBundle(dir, cfg); err != nil {
					return err
				}
				fmt.Fprintf(out, "bundle: generated in %s (not timed below)\n", time.Since(start).Round(time.Millisecond))
			}
			fmt.Fprintf(out, "bundle: %s\n", bundleSummary(dir))

			// The database.
			dbURL, cleanup, err := benchDatabase(ctx, db, keep, out)
			if err != nil {
				return err
			}
			defer cleanup()
			st, err := createStore(ctx, dbURL)
			if err != nil {
				return err
			}
			rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
			if err != nil {
				st.Close()
				return err
			}
			id := newUUID()
			tn, err := rt.Create(ctx, store.Tenant{ID: id, CompanyName: "Bench", Domain: "bench.example", DefaultUsageLocation: "US"},
				licensing.Settings{DefaultUsageLocation: "US"})
			if err != nil {
				return err
			}

			// The import, measured.
			runtime.GC()
			debug.FreeOSMemory()
			resetPeakRSS()
			rssBefore := rss()
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			cpu0 := cpuTime()
			start := time.Now()
			b, err := bundle.Open(dir, catalog.Default())
			if err != nil {
				return err
			}
			read := time.Since(start)
			readCPU := cpuTime() - cpu0
			readPeak := peakRSS()
			resetPeakRSS()
			stats, err := bundle.Apply(ctx, tn, b.Consume(), "allot bench import", tn.Now())
			if err != nil {
				return err
			}
			wall := time.Since(start)
			cpu := cpuTime() - cpu0
			pprof.StopCPUProfile()
			applyPeak := peakRSS()
			peak := max(readPeak, applyPeak)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if memProfile != "" {
				// In use now: the tenant's state and what the import
				// left referenced.
				f, err := os.Create(memProfile)
				if err != nil {
					return err
				}
				runtime.GC()
				if err := pprof.WriteHeapProfile(f); err != nil {
					return err
				}
				f.Close()
			}
			b = nil
			fmt.Fprintf(out, "imported %d users, %d groups, %d memberships, %d license sources into tenant %s\n",
				stats.Users, stats.Groups, stats.Members, stats.Licenses, id)
			fmt.Fprintf(out, "import: wall %s, CPU %s, peak RSS %.0f MiB (RSS before %.0f MiB)\n",
				wall.Round(time.Millisecond), cpu.Round(time.Millisecond), peak/(1<<20), rssBefore/(1<<20))
			fmt.Fprintf(out, "  reading the bundle: wall %s, CPU %s, peak RSS %.0f MiB; validating, computing and committing: wall %s, CPU %s, peak RSS %.0f MiB\n",
				read.Round(time.Millisecond), readCPU.Round(time.Millisecond), readPeak/(1<<20),
				(wall - read).Round(time.Millisecond), (cpu - readCPU).Round(time.Millisecond), applyPeak/(1<<20))
			if pg := pgBackendCPU(ctx, dbURL); pg != "" {
				fmt.Fprintf(out, "PostgreSQL: %s\n", pg)
			}
			fmt.Fprintf(out, "Go GC: %d cycles, %.1f%% of CPU (GOGC=%s GOMEMLIMIT=%s)\n", ms.NumGC, ms.GCCPUFraction*100, os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"))
			fmt.Fprintf(out, "load average at the end: %s\n", loadAverage())
			fmt.Fprintln(out, heapReserveLine())

			if !verify {
				rt.Close(ctx)
				return st.Close()
			}
			var before string
			tn.Read(func(s *tenant.State) { before = licenseDigest(s.Engine) })
			if err := rt.Close(ctx); err != nil {
				return err
			}
			if err := st.Close(); err != nil {
				return err
			}
			runtime.GC()
			start = time.Now()
			st, err = createStore(ctx, dbURL)
			if err != nil {
				return err
			}
			defer st.Close()
			rt, err = tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quietLogger()}))
			if err != nil {
				return err
			}
			defer rt.Close(ctx)
			reopen := time.Since(start)
			tn, ok := rt.Get(id)
			if !ok {
				return fmt.Errorf("verify: tenant %s is missing after the reopen", id)
			}
			var after string
			tn.Read(func(s *tenant.State) { after = licenseDigest(s.Engine) })
			if after != before {
				return fmt.Errorf("verify: the license records loaded from the database differ from the import's (%s before, %s after)", before, after)
			}
			fmt.Fprintf(out, "verify: reopened from the database in %s; users, groups, memberships and license records identical (%s)\n",
				reopen.Round(time.Millisecond), before)
			return nil
		},
	}
	c.Annotations = createsDatabase
	c.Flags().IntVar(&users, "users", 100_000, "users")
	c.Flags().IntVar(&groups, "groups", 0, "groups (default users/100)")
	c.Flags().IntVar(&gls, "group-licenses", 0, "group licenses (default groups/2)")
	c.Flags().Float64Var(&perUser, "memberships-per-user", 2, "average group memberships per user")
	c.Flags().Int64Var(&seed, "seed", 1, "random seed")
	c.Flags().StringVar(&db, "db", "", "SQLite file path that does not exist yet (default: a temporary file), or a postgres:// URL")
	c.Flags().StringVar(&bundleDir, "bundle", "", "import this bundle instead of generating one (--users etc. are then ignored)")
	c.Flags().StringVar(&keepBundle, "keep-bundle", "", "write the generated bundle to this folder and keep it")
	c.Flags().BoolVar(&verify, "verify", false, "reopen the runtime from the database afterwards and compare every license record")
	c.Flags().BoolVar(&keep, "keep", false, "keep the database (SQLite file or PostgreSQL schema)")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the import to this file")
	c.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (in use after the import) to this file")
	c.Flags().BoolVar(&boundedCommit, "bounded-commit", serverMemoryPolicy.BoundBulkCommit, "memtune's bounded bulk commit (Policy.BoundBulkCommit), as allot serve has it; --bounded-commit=false measures the import without it")
	return c
}

// writeSynthBundle generates a tenant, computes its licenses and writes it
// as a bundle (as allot bench generate does).
func writeSynthBundle(dir string, cfg synth.Config) error {
	t := synth.Generate(catalog.Default(), cfg)
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if err := t.LoadInto(e); err != nil {
		return err
	}
	e.Recompute(licensing.Op{Now: time.Now()})
	return bundle.Write(dir, e)
}

// bundleSummary counts the rows of a bundle's files.
func bundleSummary(dir string) string {
	var parts []string
	for _, f := range []string{"users.csv", "groups.csv", "members.csv", "group_licenses.csv", "direct_licenses.csv", "seats.csv"} {
		n, err := countLines(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d rows", f, max(0, n-1)))
	}
	return strings.Join(parts, ", ")
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n := 0
	for {
		k, err := f.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// benchDatabase returns the database to import into: a new SQLite file, or
// a new schema of the PostgreSQL database, and what to do at the end.
func benchDatabase(ctx context.Context, db string, keep bool, out io.Writer) (string, func(), error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		schema := "allot_bench_" + strings.ReplaceAll(newUUID()[:8], "-", "")
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return "", nil, err
		}
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			conn.Close(ctx)
			return "", nil, err
		}
		conn.Close(ctx)
		u, err := url.Parse(db)
		if err != nil {
			return "", nil, err
		}
		q := u.Query()
		q.Set("search_path", schema)
		q.Set("application_name", schema) // to find the benchmark's server processes
		u.RawQuery = q.Encode()
		fmt.Fprintf(out, "database: PostgreSQL, schema %s\n", schema)
		return u.String(), func() {
			if keep {
				fmt.Fprintf(out, "kept schema %s\n", schema)
				return
			}
			conn, err := pgx.Connect(context.Background(), db)
			if err != nil {
				return
			}
			defer conn.Close(context.Background())
			conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		}, nil
	}
	path := db
	if path == "" {
		tmp, err := os.MkdirTemp("", "allot-bench-db-")
		if err != nil {
			return "", nil, err
		}
		path = filepath.Join(tmp, "allot.db")
	} else if _, err := os.Stat(path); err == nil {
		return "", nil, usageError{fmt.Errorf("--db %s exists; the benchmark needs a new database", path)}
	}
	fmt.Fprintf(out, "database: SQLite %s\n", path)
	return path, func() {
		if keep {
			fmt.Fprintf(out, "kept %s\n", path)
			return
		}
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		if db == "" {
			os.Remove(filepath.Dir(path))
		}
	}, nil
}

// licenseDigest summarises what an import produced: every user with its
// license records and groups, every group with its members and licenses. Each
// user's and group's hash is added into a sum that does not depend on order
// (the engine's user order is its load order).
func licenseDigest(e *licensing.Engine) string {
	var sum [sha256.Size]byte
	users, records := 0, 0
	var buf []byte
	e.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
		users++
		buf = buf[:0]
		ub, _ := json.Marshal(u)
		buf = append(buf, ub...)
		for i := 0; i < ls.Len(); i++ {
			lb, _ := json.Marshal(ls.At(i))
			buf = append(buf, lb...)
			records++
		}
		gs := e.GroupsOf(u.ID)
		gb, _ := json.Marshal(gs)
		buf = append(buf, gb...)
		h := sha256.Sum256(buf)
		for i := range sum {
			sum[i] += h[i] // order-independent
		}
		return true
	})
	gids := e.GroupIDs()
	for _, id := range gids {
		g, _ := e.Group(id)
		us, gs := e.Members(id)
		b, _ := json.Marshal([]any{g, us, gs, e.GroupLicenses(id)})
		h := sha256.Sum256(b)
		for i := range sum {
			sum[i] += h[i]
		}
	}
	return fmt.Sprintf("%d users, %d license records, %d groups, digest %s", users, records, len(gids), hex.EncodeToString(sum[:8]))
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// pgBackendCPU reports the CPU time of the PostgreSQL server processes that
// serve the benchmark's connections (found by application_name; the server
// must run on this machine), or "" when that cannot be read.
func pgBackendCPU(ctx context.Context, dbURL string) string {
	if !strings.HasPrefix(dbURL, "postgres") {
		return ""
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	app := u.Query().Get("application_name")
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, app)
	if err != nil {
		return ""
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		return ""
	}
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return ""
		}
		// Fields after the command name (which ends with ")"): utime is the 12th, stime the 13th.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			return ""
		}
		var ut, st int64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		ticks += ut + st
	}
	return fmt.Sprintf("CPU of its %d server processes for this benchmark %s (at 100 ticks/s; WAL writer and checkpointer not included)",
		len(pids), (time.Duration(ticks) * 10 * time.Millisecond).Round(time.Millisecond))
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	user, sys := cpuTimes()
	return user + sys
}

// cpuTimes is this process's user and system CPU time so far. The system
// part is where a VM's cost of memory touched for the first time shows
// (the kernel zeroing pages the host must back first).
func cpuTimes() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
