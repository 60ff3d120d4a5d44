// Package server is the HTTP infrastructure of allot serve: middleware
// (request ids, panics, logs, metrics, authentication, body limits), health
// endpoints and metrics, and the API's description (/openapi.json and
// /docs/api, built from the routes registered with Route: docs.go). The API surfaces (partner, Graph, admin, SCIM, web)
// register their routes on a Server; the server knows none of them.
package server

import (
	"allot/alert"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/auth"
	"allot/store"
	"allot/tenant"
)

// Server holds what every surface needs.
type Server struct {
	RT    *tenant.Runtime
	Store store.Store
	Auth  *auth.Authenticator
	Log   *slog.Logger

	// Timeouts of the connections (see HTTPServer); set before serving.
	Timeouts Timeouts
	// TrustedProxies are the reverse proxies whose X-Forwarded-For,
	// -Proto and -Host headers are honoured (forwarded.go); the headers of
	// any other client are removed. Set before serving.
	TrustedProxies []netip.Prefix
	// HSTS adds Strict-Transport-Security to every response to a request
	// that came over HTTPS (Scheme). Set before serving.
	HSTS bool
	// TenantWait bounds how long a request for a tenant that is still
	// loading waits for it (TenantByID) before it is answered 503 with
	// Retry-After (default DefaultTenantWait); set before serving.
	TenantWait time.Duration
	// Browser, when set (the admin center sets it), signs a browser in from
	// its session cookie on the routes registered with HandleBrowsable: it
	// returns the session's principal and the tenant the session works on
	// (for a partner administrator, the customer chosen in the admin
	// center), or nil when the request has no live session.
	Browser func(r *http.Request) (*auth.Principal, string)
	// Alerts evaluates alert rules and delivers alerts (nil: alerts are
	// off, as in tests that do not need them); surfaces report import
	// outcomes to it. Set before serving.
	Alerts *alert.Service
	// Cluster is set when the database is shared with other processes
	// (--ha): writes go to each tenant's owner (cluster.go).
	Cluster *Cluster

	mux      *http.ServeMux
	routes   []string        // every registered pattern, for Routes
	ops      []openapi.Route // the described ones (Route, RoutePublic)
	docs     apiDocs
	registry *prometheus.Registry
	ready    atomic.Bool
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New returns a server over a runtime. reg receives the HTTP metrics and is
// served at /metrics.
func New(rt *tenant.Runtime, st store.Store, log *slog.Logger, reg *prometheus.Registry) *Server {
	s := &Server{RT: rt, Store: st, Auth: auth.NewAuthenticator(st), Log: log, mux: http.NewServeMux(), registry: reg, Timeouts: DefaultTimeouts,
		TenantWait: DefaultTenantWait}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "allot_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "method", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "allot_http_request_seconds", Help: "HTTP request latency by route.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"route"})
	reg.MustRegister(s.requests, s.latency)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		respond.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s.ops = append(s.ops, ownOps...)
	s.mux.HandleFunc("GET /openapi.json", s.openAPIJSON)
	s.mux.HandleFunc("GET /docs/api", s.openAPIPage)
	s.ready.Store(true)
	return s
}

// SetReady marks the server ready or not (readiness during shutdown).
func (s *Server) SetReady(v bool) { s.ready.Store(v) }

// Handle registers an authenticated route: the handler runs only with a
// valid bearer token (401 otherwise), and finds the principal with
// auth.FromContext.
func (s *Server) Handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.authenticated(h))
}

// HandleBrowsable registers a read-only GET route that, besides a bearer
// token, accepts the admin center's signed-in browser (Server.Browser),
// so that a report can be opened from a page's link. It is for GET routes
// only: a write never accepts the session cookie (the admin center's forms
// carry a CSRF token; the APIs take bearer tokens). A request with an
// Authorization header is authenticated by its token alone.
func (s *Server) HandleBrowsable(pattern string, h http.HandlerFunc) {
	if !strings.HasPrefix(pattern, "GET ") {
		panic("server: HandleBrowsable is for GET routes: " + pattern)
	}
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, s.browsable(s.authenticated(h)))
}

// browsable signs a request without an Authorization header in from the
// browser session, when there is one: the handler sees the session's
// principal (and, for a partner administrator, the chosen customer in
// TenantHeader) as if it had sent a token.
func (s *Server) browsable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || s.Browser == nil {
			next.ServeHTTP(w, r)
			return
		}
		p, tenantID := s.Browser(r)
		if p == nil {
			next.ServeHTTP(w, r)
			return
		}
		r = r.Clone(context.WithValue(r.Context(), browserKey{}, p))
		if p.IsPartner() && r.Header.Get(TenantHeader) == "" {
			r.Header.Set(TenantHeader, tenantID)
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// HandlePublic registers a route that needs no token.
func (s *Server) HandlePublic(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.Handle(pattern, h)
}

// Routes returns every pattern registered so far ("GET /healthz", …), in
// registration order: what the OpenAPI document must cover.
func (s *Server) Routes() []string {
	return append([]string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "GET /docs/api"}, s.routes...)
}

func (s *Server) authenticated(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(browserKey{}).(*auth.Principal); ok {
			s.clustered(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), h) // cluster.go
			return
		}
		p, err := s.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			if !errors.Is(err, auth.ErrUnauthenticated) {
				respond.Error(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="allot"`)
			respond.Status(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
			return
		}
		s.clustered(w, r.WithContext(auth.WithPrincipal(r.Context(), p)), h) // cluster.go
	})
}

// browserKey carries the principal of a request browsable signed in.
type browserKey struct{}

// Handler returns the whole HTTP handler with middleware: forwarded headers
// are applied from trusted proxies and removed from other clients
// (forwarded.go); every response gets a request id,
// X-Content-Type-Options: nosniff and, over HTTPS when HSTS is set,
// Strict-Transport-Security; every request body
// is limited to MaxRequestBody (a larger declared Content-Length is
// answered 413 before anything is read; routes set lower limits of their
// own) and must keep arriving (Timeouts.BodyIdle); panics are 500s; every
// request is logged and counted; a request no route takes is answered in
// the APIs' error shape (unmatched.go).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r = s.forwarded(r)
		rid := r.Header.Get("client-request-id")
		if rid == "" || len(rid) > 64 {
			rid = auth.NewID()
		}
		ctx := respond.WithRequestID(r.Context(), rid)
		if s.RT != nil {
			ctx = respond.WithClock(ctx, s.RT.Now)
		}
		r = r.WithContext(ctx)
		w.Header().Set("request-id", rid)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if s.HSTS && Scheme(r) == "https" {
			w.Header().Set("Strict-Transport-Security", hsts)
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("handler panicked", "request-id", rid, "panic", v, "stack", string(debug.Stack()))
				if !sw.wrote {
					respond.Status(sw, r, http.StatusInternalServerError, "InternalServerError", "An internal error occurred.")
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.status())).Inc()
			s.latency.WithLabelValues(route).Observe(d.Seconds())
			s.Log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("remote", r.RemoteAddr),
				slog.Int("status", sw.status()), slog.Duration("duration", d), slog.String("request-id", rid))
		}()
		if r.ContentLength > MaxRequestBody {
			respond.Error(sw, r, &respond.TooLargeError{Limit: MaxRequestBody})
			return
		}
		r.Body = s.limitBody(w, r)
		s.route(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TenantHeader lets a partner administrator act on one customer's tenant.
const TenantHeader = "X-Allot-Tenant"

// Tenant resolves the tenant a request acts on: a tenant token's own tenant,
// or for the partner administrator the tenant named in the X-Allot-Tenant
// header. ENOTFOUND / EFORBIDDEN otherwise.
func (s *Server) Tenant(r *http.Request) (*tenant.Tenant, *auth.Principal, error) {
	p := auth.FromContext(r.Context())
	if p == nil {
		return nil, nil, allot.NewError(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
	}
	id := p.TenantID
	if p.IsPartner() {
		id = r.Header.Get(TenantHeader)
		if id == "" {
			return nil, p, allot.Errorf(allot.EFORBIDDEN, "A partner token must name the customer tenant in the %s header.", TenantHeader)
		}
	}
	t, err := s.TenantByID(r, id)
	return t, p, err
}

// DefaultTenantWait is Server.TenantWait's default.
const DefaultTenantWait = 10 * time.Second

// TenantByID returns the tenant id names for a request, after the caller
// has checked the request may act on it. Every surface finds its tenant
// here (through Tenant, or directly for a tenant named in the path): a
// tenant still loading at start-up is waited for, at most TenantWait and
// while the request lasts, then answered EUNAVAILABLE (503, Retry-After:
// "still loading"); a tenant whose load failed is EUNAVAILABLE at once
// (not 404: it exists); ENOTFOUND if there is no such tenant
// (tenant.Runtime.Wait).
func (s *Server) TenantByID(r *http.Request, id string) (*tenant.Tenant, error) {
	if t, ok := s.RT.Get(id); ok {
		return t, nil
	}
	wait := s.TenantWait
	if wait <= 0 {
		wait = DefaultTenantWait
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	return s.RT.Wait(ctx, id)
}

// Bootstrap creates the first partner administrator with the given secret
// when none exists (ALLOT_BOOTSTRAP_TOKEN). It reports whether it did.
func Bootstrap(ctx context.Context, st store.Store, secret string, now time.Time) (bool, error) {
	if secret == "" {
		return false, nil
	}
	ts, err := st.ListTokens(ctx, store.PartnerTenant)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if t.RevokedAt == nil {
			for _, r := range t.Roles {
				if r == auth.RolePartnerAdministrator {
					return false, nil
				}
			}
		}
	}
	// The secret's token exists but is not an active partner administrator:
	// it was revoked (it is never created again), or the secret belongs to
	// another token.
	switch t, err := st.TokenByHash(ctx, auth.Hash(secret)); {
	case err == nil && t.RevokedAt != nil:
		return false, ErrBootstrapRevoked
	case err == nil:
		return false, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	_, _, err = auth.Create(ctx, st, store.PartnerTenant, "bootstrap partner administrator", []string{auth.RolePartnerAdministrator}, nil, secret, now)
	return err == nil, err
}

// readyz answers whether the server should get traffic, for a load
// balancer: 503 while it is starting or shutting down (SetReady) and while
// writes fail (with the reason; it recovers once a commit or probe
// succeeds). Otherwise 200, even while tenants are still loading or some
// failed to load: the process serves every other tenant (and answers a
// loading one 503 with Retry-After), and no other process could serve
// them (one writer per database), so taking it out of rotation would only
// make every tenant unreachable. The body says which tenants are not fully
// served: status "loading" (loadingTenants: ids, sorted) while any loads,
// else "degraded" when a load failed (failedTenants: id → reason) or
// tenants are read-only (readOnlyTenants: id → problems), else "ready".
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		respond.Status(w, r, http.StatusServiceUnavailable, "ServiceUnavailable", "allot is starting or shutting down.")
		return
	}
	if s.RT == nil {
		respond.JSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return
	}
	if err := s.RT.Writable(r.Context()); err != nil {
		respond.Status(w, r, http.StatusServiceUnavailable, "ServiceUnavailable", "Writes are failing. "+allot.ErrorMessage(err))
		return
	}
	body := map[string]any{"status": "ready"}
	ro, failed, loading := s.RT.ReadOnly(), s.RT.Failed(), s.RT.Loading()
	if len(ro) > 0 {
		body["readOnlyTenants"] = ro
		body["status"] = "degraded"
	}
	if len(failed) > 0 {
		body["failedTenants"] = failed
		body["status"] = "degraded"
	}
	if len(loading) > 0 {
		body["loadingTenants"] = loading
		body["status"] = "loading"
	}
	respond.JSON(w, http.StatusOK, body)
}

// ErrBootstrapRevoked: the bootstrap secret's token was revoked. Bootstrap
// does not create it again; the caller goes on without it (and says so).
var ErrBootstrapRevoked = errors.New("the token of ALLOT_BOOTSTRAP_TOKEN was revoked; it is not created again (unset the variable, or set a new secret while no partner administrator exists)")
