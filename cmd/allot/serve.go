package main

import (
	"allot/api/connections"
	"allot/m365"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"allot/api/admin"
	"allot/api/cloudlicensing"
	"allot/api/partner"
	positionapi "allot/api/position"
	reclamationapi "allot/api/reclamation"
	"allot/api/server"
	"allot/catalog"
	"allot/graphsub"
	"allot/identity"
	"allot/internal/memtune"
	"allot/internal/tenantopts"
	"allot/lease"
	"allot/licensing"
	"allot/reportsched"
	"allot/store"
	"allot/store/postgres"
	"allot/tenant"
	"allot/web"
)

func init() {
	var addr, db, keyFile string
	var demoMode bool
	var tlsOpts tlsOptions
	var proxies []string
	var load loadOptions
	var ha haOptions
	var alerts alertOptions
	var reclaim reclaimOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the allot server (Graph, partner and admin APIs)",
		Long: `Run the allot server.

--db is a SQLite file path (default allot.db, created if missing) or a
postgres:// URL. If ALLOT_BOOTSTRAP_TOKEN is set and no partner
administrator exists yet, one is created with that token. Otherwise, on a
database without any partner administrator token (the first run), one is
created and its token printed once, with the admin center's address and
what to do next.

HTTPS: --tls-cert and --tls-key (PEM files), or --tls-self-signed for a
first local run (a new ECDSA certificate for localhost, 127.0.0.1 and ::1 at
every start; its SHA-256 fingerprint is printed). Responses over HTTPS carry
Strict-Transport-Security (not with --tls-self-signed: HSTS for localhost
would hold every local port to HTTPS for a year) and the admin center's
cookies are Secure.

Behind a reverse proxy: --trusted-proxy CIDR (repeatable) names the proxies
whose X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Host are honoured;
those headers are removed from every other client's requests.

--demo creates a demo tenant (once) and prints the admin center's address
with sign-in tokens for an administrator, a reader and a delegated
allotment owner.

The server answers at once: tenants load in the background,
--load-concurrency at a time, in id order. /healthz answers as soon as the
server listens; /readyz names the tenants still loading or that failed to
load. A request for a tenant still loading waits for it up to
--tenant-wait, then gets 503 with Retry-After; a tenant that failed to
load answers 503 and the others are served.

--ha (or ALLOT_HA=1; PostgreSQL only) lets several allot serve processes
share one database: each tenant is written by the process holding its
lease, acquired at its first write when no other process holds it and
renewed in the background; a process that stops renewing for --lease-ttl
(or ALLOT_LEASE_TTL, default 10s) loses its tenants to the next process
written to. A write for a tenant another process holds is forwarded to
that process (at its --advertise-url, default its listen address) with
the client's own credentials; if that process is gone, the write waits
for its lease to end and is served here. Every process serves reads of
every tenant from a copy that follows the tenant's log (PostgreSQL
LISTEN/NOTIFY, and a poll); a write's answer carries X-Allot-Seq, and a
read sent with X-Allot-Min-Seq waits until this process has that change
(docs/SCALING.md). Without --ha, one process owns the whole database.`,
		Args:        cobra.NoArgs,
		Annotations: createsDatabase,
		RunE: func(cmd *cobra.Command, args []string) error {
			memtune.Enable(serverMemoryPolicy) // the process owns GC tuning (internal/memtune)
			trusted, err := server.ParseProxies(proxies)
			if err != nil {
				return usageError{err}
			}
			if err := ha.check(db); err != nil {
				return usageError{err}
			}
			key, err := m365.KeyFromEnv(keyFile)
			if err != nil {
				return usageError{err}
			}
			sealer, err := m365.NewSealer(key)
			if err != nil {
				return usageError{err}
			}
			reclaim.key = key
			return serve(cmd.Context(), serveOptions{addr: addr, db: db, demo: demoMode, tls: tlsOpts, trusted: trusted, load: load, ha: ha, sealer: sealer, alerts: alerts, reclaim: reclaim})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT)")
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().BoolVar(&demoMode, "demo", false, "create a demo tenant (once) and print sign-in tokens for the admin center")
	cmd.Flags().StringVar(&tlsOpts.cert, "tls-cert", "", "serve HTTPS with this certificate (PEM; the chain, leaf first)")
	cmd.Flags().StringVar(&tlsOpts.key, "tls-key", "", "the private key of --tls-cert (PEM)")
	cmd.Flags().BoolVar(&tlsOpts.selfSigned, "tls-self-signed", false, "serve HTTPS with a new self-signed certificate for localhost (a local trial; prints its fingerprint)")
	cmd.Flags().StringSliceVar(&proxies, "trusted-proxy", nil, "reverse proxy address or CIDR whose X-Forwarded-For/-Proto/-Host are honoured (repeatable)")
	cmd.Flags().IntVar(&load.concurrency, "load-concurrency", 2, "tenants loaded at once at start-up (each holds its records twice at its peak)")
	alerts.flags(cmd)
	reclaim.flags(cmd)
	cmd.Flags().DurationVar(&load.wait, "tenant-wait", server.DefaultTenantWait, "how long a request for a tenant still loading waits before it is answered 503")
	cmd.Flags().BoolVar(&ha.on, "ha", os.Getenv("ALLOT_HA") == "1", "share the PostgreSQL database with other allot serve processes: tenant leases with fencing (env ALLOT_HA=1)")
	cmd.Flags().StringVar(&ha.advertise, "advertise-url", os.Getenv("ALLOT_ADVERTISE_URL"), "with --ha: the URL the other processes forward writes of this process's tenants to (default: the listen address; env ALLOT_ADVERTISE_URL)")
	cmd.Flags().StringVar(&ha.maxTenants, "max-tenants", envOr("ALLOT_MAX_TENANTS", "0"), "with --ha: the most tenants this process writes at once (0: no limit); the processes spread the tenants evenly within their limits (env ALLOT_MAX_TENANTS)")
	cmd.Flags().StringVar(&ha.ttl, "lease-ttl", envOr("ALLOT_LEASE_TTL", postgres.DefaultLeaseTTL.String()), "with --ha: how long a tenant stays with a process that stopped renewing its lease (env ALLOT_LEASE_TTL)")
	cmd.Flags().StringVar(&keyFile, "secret-key-file", "", "file with the key Microsoft 365 connection secrets are encrypted with (default: $"+m365.KeyEnv+"; without one, connections cannot be created)")
	rootCmd.AddCommand(cmd)
}

// serveOptions are allot serve's flags.
type serveOptions struct {
	addr, db string
	demo     bool
	tls      tlsOptions
	trusted  []netip.Prefix
	load     loadOptions
	ha       haOptions
	sealer   *m365.Sealer // Microsoft 365 connection secrets
	alerts   alertOptions
	reclaim  reclaimOptions
}

// haOptions: several processes sharing one PostgreSQL database (--ha).
type haOptions struct {
	on  bool
	ttl string // a time.Duration
	// maxTenants limits the tenant leases this process holds (0: none;
	// a non-negative integer: check).
	maxTenants string
	// advertise is the URL other processes forward this one's tenants'
	// writes to (default: http(s)://<listen address>).
	advertise string
}

// max is --max-tenants.
func (o haOptions) max() (int, error) {
	if strings.TrimSpace(o.maxTenants) == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(o.maxTenants))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("--max-tenants %q: want the most tenants this process writes at once, a whole number (0: no limit)", o.maxTenants)
	}
	return n, nil
}

// check validates the options for --db.
func (o haOptions) check(db string) error {
	if !o.on {
		return nil
	}
	if !isPostgres(db) {
		return fmt.Errorf("--ha needs a PostgreSQL --db (postgres://…): a SQLite database has one writer process")
	}
	d, err := time.ParseDuration(o.ttl)
	if err != nil || d < time.Second || d > time.Hour {
		return fmt.Errorf("--lease-ttl %q: want a duration from 1s to 1h, such as 10s", o.ttl)
	}
	if _, err := o.max(); err != nil {
		return err
	}
	if o.advertise != "" {
		u, err := url.Parse(o.advertise)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || strings.Contains(o.advertise, " ") {
			return fmt.Errorf("--advertise-url %q: want the URL other allot processes reach this one at, such as http://10.0.0.5:8080", o.advertise)
		}
	}
	return nil
}

// envOr is the environment variable name, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// loadOptions: how allot serve loads its tenants.
type loadOptions struct {
	concurrency int
	wait        time.Duration
}

// checkStart checks the options serve needs before it opens anything
// (a usage error otherwise) and builds the TLS configuration, nil without
// TLS, with the certificate's fingerprint.
func (o serveOptions) checkStart() (*tls.Config, string, error) {
	if o.load.concurrency < 1 {
		return nil, "", usageError{fmt.Errorf("--load-concurrency must be at least 1")}
	}
	if o.load.wait <= 0 {
		return nil, "", usageError{fmt.Errorf("--tenant-wait must be positive")}
	}
	if !o.tls.enabled() {
		return nil, "", nil
	}
	tlsCfg, fingerprint, err := o.tls.config(time.Now())
	if err != nil {
		return nil, "", usageError{err}
	}
	return tlsCfg, fingerprint, nil
}

// openStore opens the database serve runs on: with --ha a shared
// PostgreSQL store whose owner identity names this process and the
// address others reach it at (ln's, or --advertise), else the database,
// created when missing.
func (o serveOptions) openStore(ctx context.Context, ln net.Listener) (store.Store, error) {
	if !o.ha.on {
		st, err := createStore(ctx, o.db) // serve creates a new database on purpose
		if err != nil {
			return nil, fmt.Errorf("opening database: %w", err)
		}
		return st, nil
	}
	// Other processes name this one by its identity and address.
	ttl, _ := time.ParseDuration(o.ha.ttl) // checked
	at := ln.Addr().String()
	if o.ha.advertise != "" {
		at = strings.TrimRight(o.ha.advertise, "/")
	}
	ps, err := postgres.OpenShared(ctx, o.db, postgres.SharedOptions{TTL: ttl, Owner: postgres.ProcessIdentity() + " at " + at})
	if err != nil {
		return nil, fmt.Errorf("opening database: %w", err)
	}
	return ps, nil
}

func serve(ctx context.Context, o serveOptions) error {
	addr, db := o.addr, o.db
	tlsCfg, fingerprint, err := o.checkStart()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	logHeapReserve(log)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	var leases *lease.Keeper
	st, err := o.openStore(ctx, ln)
	if err != nil {
		return err
	}
	defer st.Close()
	if created, err := server.Bootstrap(ctx, st, os.Getenv("ALLOT_BOOTSTRAP_TOKEN"), time.Now()); errors.Is(err, server.ErrBootstrapRevoked) {
		log.Warn("ALLOT_BOOTSTRAP_TOKEN is set but its token was revoked; it is not created again", "err", err)
	} else if err != nil {
		return fmt.Errorf("bootstrap token: %w", err)
	} else if created {
		log.Info("created the partner administrator from ALLOT_BOOTSTRAP_TOKEN")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// With --ha, tenant leases: a tenant's commands, campaign steps, alert
	// deliveries and start-up evaluation, scheduled reports and scheduled
	// Microsoft 365 syncs run on the process that holds its lease.
	var acts func(ctx context.Context, tenantID string) bool
	if o.ha.on {
		maxTenants, _ := o.ha.max() // checked
		leases = lease.New(st.(store.Leaser), lease.Options{Logger: log, Registerer: reg, MaxTenants: maxTenants})
		defer leases.Close(context.Background()) // on an error return; after the drain below otherwise
		acts = leases.Acts
		log.Info("sharing the database with other allot processes (tenant leases)", "owner", leases.Owner(), "lease-ttl", o.ha.ttl)
	}
	// Tenants load in the background; each is served once loaded.
	alerts, err := o.alerts.service(st, log, acts)
	if err != nil {
		return err
	}
	// Graph change notifications go through the alerts' job queue.
	notifier := graphsub.New(graphsub.Config{Alerts: alerts, Logger: log})
	reports := &reportsched.Runner{Alerts: alerts, Log: log, Acts: acts} // scheduled reports, mailed through the same queue
	reports.Register()
	afterCommit := func(id string, d *licensing.Delta, objects []store.Mutation) {
		alerts.AfterCommit(id, d, objects)
		notifier.AfterCommit(id, d, objects)
	}
	// The tenant extensions, read models and maintenance tasks are
	// internal/tenantopts's list.
	topts := tenantopts.With(tenant.Options{Logger: log, Registerer: reg, Background: true, LoadConcurrency: o.load.concurrency, AfterCommit: afterCommit})
	if leases != nil {
		topts.Leases = leases
	}
	rt, err := tenant.Open(ctx, st, catalog.Default(), topts)
	if err != nil {
		return fmt.Errorf("loading tenants: %w", err)
	}
	if leases != nil {
		defer runCluster(ctx, rt, leases, st.(store.Placement))() // stops before the store closes
	}
	alerts.Start(ctx, rt)
	reclaimSvc := o.reclaim.service(alerts, publicURL(o, ln), log, acts)
	reclaimSvc.Start(ctx, rt)
	notifier.Start(ctx, rt)
	go reports.Run(ctx, rt, time.Minute)
	log.Info("tenants loading in the background", "count", len(rt.Loading()))
	go rt.EachLoaded(ctx, func(t *tenant.Tenant) {
		if err := identity.AdoptPartnerDomain(ctx, rt, t); err != nil && ctx.Err() == nil {
			log.Error("giving the tenant its partner domain", "tenant", t.ID, "err", err)
		}
	})
	go rt.Maintain(ctx, time.Hour)
	go memtune.Trim(ctx, func(before, live uint64) { // a quiet server returns a burst's memory (internal/memtune)
		log.Info("heap trimmed after a burst", "heapMiB", before>>20, "liveMiB", live>>20)
	})

	s := server.New(rt, st, log, reg)
	s.TrustedProxies = o.trusted
	s.HSTS = !o.tls.selfSigned
	s.TenantWait = o.load.wait
	s.Alerts = alerts
	if leases != nil {
		s.Cluster = &server.Cluster{Leases: st.(store.Leaser), Holds: leases.Holds, Enter: leases.Enter}
		if tlsCfg != nil {
			s.Cluster.Scheme = "https"
		}
	}
	partner.Register(s)
	admin.Register(s)
	cloudlicensing.Register(s)
	positionapi.Register(s)
	registerSurfaces(s)
	// Microsoft 365 connections: syncs run in the background, each a
	// tenant command; the schedule checks every minute. The admin
	// center's connections page starts them through the same manager.
	m365.RegisterMetrics(reg)
	mgr := &m365.Manager{RT: rt, Env: &m365.Env{Sealer: o.sealer, RT: rt}, Log: log, Base: ctx, Acts: acts}
	if alerts != nil { // a failed sync opens the rules on failed syncs; the next success resolves them
		mgr.SyncEnded = func(ctx context.Context, t *tenant.Tenant, err error) {
			if aerr := alerts.ReportOperation(ctx, t, "sync", err); aerr != nil {
				log.Error("alert evaluation of a Microsoft 365 sync failed", "tenant", t.ID, "err", aerr)
			}
		}
	}
	web.Mount(web.Options{M365: mgr, Reclamation: reclaimSvc})(s)
	connections.Register(s, mgr)
	reclamationapi.Register(s, reclaimSvc)
	go mgr.Schedule(ctx, time.Minute)

	// Timeouts and a connection cap: stalled or idle clients cannot hold
	// the server's file descriptors (see server.Timeouts).
	ln = server.LimitListener(ln, server.MaxConns())
	srv := s.HTTPServer()
	scheme := "http"
	errc := make(chan error, 1)
	if tlsCfg != nil {
		scheme = "https"
		srv.TLSConfig = tlsCfg
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	base := scheme + "://" + ln.Addr().String()
	log.Info("allot is serving", "addr", ln.Addr().String(), "db", db, "scheme", scheme)
	fmt.Fprintf(os.Stderr, "allot is serving on %s\n", base)
	if o.tls.selfSigned {
		fmt.Fprintf(os.Stderr, "TLS: self-signed certificate for localhost, 127.0.0.1 and ::1 (new at every start), SHA-256 fingerprint\n  %s\n", fingerprint)
	}
	if err := firstRun(ctx, st, os.Stdout, base, db, rt.Now()); err != nil {
		_ = srv.Close()
		return err
	}
	if o.demo {
		if err := startDemo(ctx, rt, st, base, os.Stdout); err != nil {
			_ = srv.Close()
			return err
		}
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop taking requests, let in-flight requests (and
	// so their commits) finish, then drain the tenant writers.
	log.Info("shutting down")
	s.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http shutdown", "err", err)
	}
	if err := rt.Close(sctx); err != nil {
		return fmt.Errorf("draining tenants: %w", err)
	}
	if leases != nil {
		leases.Close(sctx) // the tenants go to the other processes at once
	}
	log.Info("stopped")
	return nil
}

// runCluster runs what a process sharing the database (--ha) runs beside
// serving until the returned stop is called (before the store closes):
// followers, whose copies of the tenants others write follow their logs
// (tenant/follow.go), and placement, which spreads the tenants over the
// processes (lease/place.go).
func runCluster(ctx context.Context, rt *tenant.Runtime, leases *lease.Keeper, st store.Placement) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	fdone, pdone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fdone)
		rt.Follow(ctx, tenant.FollowOptions{})
	}()
	go func() {
		defer close(pdone)
		// Joining once its tenants are loaded: a tenant handed over is
		// written at once, not after its load.
		rt.EachLoaded(ctx, func(*tenant.Tenant) {})
		leases.Place(ctx, st, lease.PlaceOptions{Between: func(ctx context.Context, id string, fn func() error) error {
			t, ok := rt.Get(id)
			if !ok {
				return fn() // not serving yet: no command runs
			}
			return t.Between(ctx, fn)
		}})
	}()
	return func() {
		cancel()
		<-fdone
		<-pdone
	}
}

// logHeapReserve logs the heap's reserve memtune made and how it is used.
func logHeapReserve(log *slog.Logger) {
	if n, why := memtune.HeapReserve(); memtune.Current().HeapReserve {
		log.Info("heap reserve", "bytes", n, "use", why)
	}
}

// serverMemoryPolicy is the process memory policy of allot serve and allot
// bench: pause the GC during bulk work, collect before the findings'
// snapshot (internal/memtune has the figures).
//
// BoundBulkCommit is on: at the 1M-user import it lowers the peak RSS from
// 3.2-3.5 GiB to 2.4 GiB (a collection before the commit, a bounded heap
// during it, and the read models built after the commit instead of beside
// it). With huge pages it costs ~1-2 s of the 12-13 s import (session 14;
// 5-7 s before): a server that holds other tenants should not need a
// gigabyte more for one import. allot bench import --bounded-commit=false
// measures the import without it.
//
// HeapReserve is on: the heap's first part is reserved at start-up and,
// as a probe at start-up finds (internal/memtune, hugeheap.go), either
// populated ahead of a large load or import, in huge or 4 KiB pages as a
// second probe finds cheaper, where the host backs a page when the kernel
// populates it (the 1M restart after 13 s idle took 4.3-4.7 s instead of
// 6.3-6.8 s with the whole reserve in huge pages, session 17), or advised
// for huge pages as a whole where the host backs a page only when it is
// written (back to back 4.0-4.5 s instead of 5.8-7.2 s prefaulted, the
// import 14.9-16.1 s instead of 16.1-22.3 s, session 18); 10.4-10.5 s
// without a reserve (session 14). ALLOT_HUGE_PAGES=on or prefault chooses
// instead of the probe, off turns the reserve off.
var serverMemoryPolicy = memtune.Policy{PauseGC: true, CollectFirst: true, ReturnAfterLoad: true, BoundBulkCommit: true, HeapReserve: true}
