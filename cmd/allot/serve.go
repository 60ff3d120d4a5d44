package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"allot/api/admin"
	"allot/api/cloudlicensing"
	"allot/api/partner"
	positionapi "allot/api/position"
	"allot/api/server"
	"allot/catalog"
	"allot/identity"
	"allot/internal/memtune"
	"allot/tenant"
	"allot/web"
)

func init() {
	var addr, db string
	var demoMode bool
	var tlsOpts tlsOptions
	var proxies []string
	var load loadOptions
	var alerts alertOptions
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
load answers 503 and the others are served.`,
		Args:        cobra.NoArgs,
		Annotations: createsDatabase,
		RunE: func(cmd *cobra.Command, args []string) error {
			memtune.Enable(serverMemoryPolicy) // the process owns GC tuning (internal/memtune)
			trusted, err := server.ParseProxies(proxies)
			if err != nil {
				return usageError{err}
			}
			return serve(cmd.Context(), serveOptions{addr: addr, db: db, demo: demoMode, tls: tlsOpts, trusted: trusted, load: load, alerts: alerts})
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
	cmd.Flags().DurationVar(&load.wait, "tenant-wait", server.DefaultTenantWait, "how long a request for a tenant still loading waits before it is answered 503")
	rootCmd.AddCommand(cmd)
}

// serveOptions are allot serve's flags.
type serveOptions struct {
	addr, db string
	demo     bool
	tls      tlsOptions
	trusted  []netip.Prefix
	load     loadOptions
	alerts   alertOptions
}

// loadOptions: how allot serve loads its tenants.
type loadOptions struct {
	concurrency int
	wait        time.Duration
}

func serve(ctx context.Context, o serveOptions) error {
	addr, db := o.addr, o.db
	if o.load.concurrency < 1 {
		return usageError{fmt.Errorf("--load-concurrency must be at least 1")}
	}
	if o.load.wait <= 0 {
		return usageError{fmt.Errorf("--tenant-wait must be positive")}
	}
	var tlsCfg *tls.Config
	var fingerprint string
	if o.tls.enabled() {
		var err error
		if tlsCfg, fingerprint, err = o.tls.config(time.Now()); err != nil {
			return usageError{err}
		}
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	slog.SetDefault(log)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := createStore(ctx, db) // serve creates a new database on purpose
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
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
	// Tenants load in the background; each is served once loaded.
	alerts, err := o.alerts.service(st, log)
	if err != nil {
		return err
	}
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenant.Options{Logger: log, Registerer: reg,
		Background: true, LoadConcurrency: o.load.concurrency, AfterCommit: alerts.AfterCommit})
	if err != nil {
		return fmt.Errorf("loading tenants: %w", err)
	}
	alerts.Start(ctx, rt)
	log.Info("tenants loading in the background", "count", len(rt.Loading()))
	go rt.EachLoaded(ctx, func(t *tenant.Tenant) {
		if err := identity.AdoptPartnerDomain(ctx, rt, t); err != nil && ctx.Err() == nil {
			log.Error("giving the tenant its partner domain", "tenant", t.ID, "err", err)
		}
	})
	go rt.Maintain(ctx, time.Hour)

	s := server.New(rt, st, log, reg)
	s.TrustedProxies = o.trusted
	s.HSTS = !o.tls.selfSigned
	s.TenantWait = o.load.wait
	s.Alerts = alerts
	partner.Register(s)
	admin.Register(s)
	cloudlicensing.Register(s)
	positionapi.Register(s)
	registerSurfaces(s)
	web.Register(s)

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
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
	if err := firstRun(ctx, st, os.Stdout, base, db, time.Now()); err != nil {
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
	log.Info("stopped")
	return nil
}

// serverMemoryPolicy is the process memory policy of allot serve and allot
// bench: pause the GC during bulk work, collect before the findings'
// snapshot (internal/memtune has the figures).
var serverMemoryPolicy = memtune.Policy{PauseGC: true, CollectFirst: true}
