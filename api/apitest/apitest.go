// Package apitest runs a real allot HTTP server in tests: SQLite in a temp
// directory (or PostgreSQL with ALLOT_TEST_POSTGRES), every surface
// mounted, a bootstrapped partner administrator, and helpers to call it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/server"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

// PartnerToken is the bootstrap partner administrator's secret.
const PartnerToken = "allot_test_partner_secret"

// Env is a running server.
type Env struct {
	T      testing.TB
	URL    string
	Store  store.Store
	RT     *tenant.Runtime
	Server *server.Server
	HTTP   *httptest.Server

	stop func() // Serve's
}

// Mounts registers the surfaces on a server; set by packages' tests
// through New's argument.
type Mount func(*server.Server)

// New starts a server with the given surfaces mounted.
func New(t testing.TB, mounts ...Mount) *Env {
	t.Helper()
	return NewWithClock(t, nil, mounts...)
}

// NewWithClock is New with the runtime's clock (tenant.Options.Now; nil:
// time.Now).
func NewWithClock(t testing.TB, now func() time.Time, mounts ...Mount) *Env {
	t.Helper()
	return NewWith(t, Options{Now: now}, mounts...)
}

// Options are a test server's runtime options: Runtime's, with Now and
// AfterCommit when set (and a discarding logger and a registry of its own
// when Runtime has none).
type Options struct {
	Now         func() time.Time
	AfterCommit func(tenantID string, d *licensing.Delta, objects []store.Mutation)
	Runtime     tenant.Options
}

// NewWith is New with runtime options.
func NewWith(t testing.TB, o Options, mounts ...Mount) *Env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return Serve(t, st, o, mounts...)
}

// Serve starts a server over st, which the caller closes: a runtime with
// o's options (and every extension, internal/tenantopts), the partner
// administrator bootstrapped at the runtime's clock, the surfaces mounted.
// Env.Stop closes the HTTP server and the runtime, so that a test can
// serve the same store again (a restart); the test's cleanup stops it too.
func Serve(t testing.TB, st store.Store, o Options, mounts ...Mount) *Env {
	t.Helper()
	ctx := context.Background()
	opts := o.Runtime
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if o.Now != nil {
		opts.Now = o.Now
	}
	if o.AfterCommit != nil {
		opts.AfterCommit = o.AfterCommit
	}
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(opts))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Bootstrap(ctx, st, PartnerToken, rt.Now()); err != nil {
		_ = rt.Close(ctx)
		t.Fatal(err)
	}
	reg, _ := opts.Registerer.(*prometheus.Registry)
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := server.New(rt, st, opts.Logger, reg)
	for _, m := range mounts {
		m(s)
	}
	hs := httptest.NewServer(s.Handler())
	e := &Env{T: t, URL: hs.URL, Store: st, RT: rt, Server: s, HTTP: hs}
	e.stop = sync.OnceFunc(func() {
		hs.Close()
		_ = rt.Close(ctx)
	})
	t.Cleanup(e.stop)
	return e
}

// Contoso is a running server (New) with one customer tenant, Contoso in
// the US, and a Global Administrator's token for it: the set-up most
// surfaces' tests start from. The mounts must include the partner API and
// the admin API (which create the tenant and the token).
type Contoso struct {
	*Env
	ID    string // the tenant's id
	Admin string // a GlobalAdministrator token of the tenant
}

// NewContoso starts a server with the given surfaces mounted and creates
// the Contoso tenant and its administrator's token.
func NewContoso(t testing.TB, mounts ...Mount) *Contoso {
	t.Helper()
	e := New(t, mounts...)
	id := e.Customer("Contoso", "US")
	return &Contoso{Env: e, ID: id, Admin: e.Token(id, "GlobalAdministrator")}
}

// Stop closes the HTTP server and the runtime (not the store).
func (e *Env) Stop() {
	if e.stop != nil {
		e.stop()
	}
}

// Response is a decoded response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a generic map.
func (r Response) JSON() map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	return m
}

// Decode decodes the body into v.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// ErrorCode returns the Graph error code of the body.
func (r Response) ErrorCode() string {
	m := r.JSON()
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// ErrorMessage returns the Graph error message of the body.
func (r Response) ErrorMessage() string {
	m := r.JSON()
	e, _ := m["error"].(map[string]any)
	c, _ := e["message"].(string)
	return c
}

// Call sends a request. body may be nil, a string (sent as is), or a value
// encoded as JSON. headers are "Name: value" strings.
func (e *Env) Call(method, path, token string, body any, headers ...string) Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Must sends a request and fails the test unless the status is want.
func (e *Env) Must(want int, method, path, token string, body any, headers ...string) Response {
	e.T.Helper()
	r := e.Call(method, path, token, body, headers...)
	if r.Status != want {
		e.T.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Customer creates a tenant through the partner API and returns its id.
func (e *Env) Customer(name, location string) string {
	e.T.Helper()
	r := e.Must(201, "POST", "/partner/v1/customers", PartnerToken, map[string]any{
		"companyProfile": map[string]any{"companyName": name, "domain": strings.ToLower(name) + ".example"}, "defaultUsageLocation": location})
	return r.JSON()["id"].(string)
}

// Subscribe buys units of a product for a tenant and returns the
// subscription id.
func (e *Env) Subscribe(tenantID, offer string, quantity int) string {
	e.T.Helper()
	r := e.Must(201, "POST", "/partner/v1/customers/"+tenantID+"/subscriptions", PartnerToken, map[string]any{"offerId": offer, "quantity": quantity})
	return r.JSON()["id"].(string)
}

// Token creates a tenant token with roles and returns its secret.
func (e *Env) Token(tenantID string, roles ...string) string {
	e.T.Helper()
	r := e.Must(201, "POST", "/allot/v1/tenants/"+tenantID+"/tokens", PartnerToken, map[string]any{"displayName": "test " + strings.Join(roles, ","), "roles": roles})
	return r.JSON()["token"].(string)
}
