package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
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
	"allot/tenant"
	"allot/web"
)

func init() {
	var addr, db string
	var demoMode bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the allot server (Graph, partner and admin APIs)",
		Long: `Run the allot server.

--db is a SQLite file path (default allot.db, created if missing) or a
postgres:// URL. If ALLOT_BOOTSTRAP_TOKEN is set and no partner
administrator exists yet, one is created with that token.

--demo creates a demo tenant (once) and prints the admin center's address
with sign-in tokens for an administrator, a reader and a delegated
allotment owner.`,
		Args:        cobra.NoArgs,
		Annotations: createsDatabase,
		RunE: func(cmd *cobra.Command, args []string) error {
			return serve(cmd.Context(), addr, db, demoMode)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (HOST:PORT)")
	cmd.Flags().StringVar(&db, "db", defaultDB, "SQLite file path or postgres:// URL")
	cmd.Flags().BoolVar(&demoMode, "demo", false, "create a demo tenant (once) and print sign-in tokens for the admin center")
	rootCmd.AddCommand(cmd)
}

func serve(ctx context.Context, addr, db string, demoMode bool) error {
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
	start := time.Now()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenant.Options{Logger: log, Registerer: reg})
	if err != nil {
		return fmt.Errorf("loading tenants: %w", err)
	}
	log.Info("tenants loaded", "count", len(rt.List()), "seconds", time.Since(start).Seconds())
	if err := identity.AdoptPartnerDomains(ctx, rt); err != nil {
		return fmt.Errorf("giving tenants their partner domain: %w", err)
	}
	go rt.Maintain(ctx, time.Hour)

	s := server.New(rt, st, log, reg)
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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("allot is serving", "addr", ln.Addr().String(), "db", db)
	fmt.Fprintf(os.Stderr, "allot is serving on http://%s\n", ln.Addr())
	if demoMode {
		if err := startDemo(ctx, rt, st, ln.Addr().String(), os.Stdout); err != nil {
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
