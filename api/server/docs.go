package server

import (
	"encoding/json"
	"net/http"
	"sync"

	"allot/api/openapi"
	"allot/api/respond"
)

// Route registers an authenticated API operation (as Handle) with its
// description: every API route is registered this way, so that
// /openapi.json and /docs/api describe all of them (a route registered
// with Handle alone is missing from the document, which the tests refuse).
func (s *Server) Route(pattern string, op openapi.Op, h http.HandlerFunc) {
	op.Public = false
	s.ops = append(s.ops, openapi.Route{Pattern: pattern, Op: op})
	s.Handle(pattern, h)
}

// RouteBrowsable registers a read-only GET operation as HandleBrowsable
// does (a bearer token or the admin center's signed-in browser), with its
// description.
func (s *Server) RouteBrowsable(pattern string, op openapi.Op, h http.HandlerFunc) {
	op.Public = false
	s.ops = append(s.ops, openapi.Route{Pattern: pattern, Op: op})
	s.HandleBrowsable(pattern, h)
}

// RoutePublic registers an operation the server does not authenticate (as
// HandlePublic) with its description. op.Public says whether it needs no
// token at all; a handler that authenticates itself (SCIM, to answer in
// its own error body) leaves it false.
func (s *Server) RoutePublic(pattern string, op openapi.Op, h http.HandlerFunc) {
	s.ops = append(s.ops, openapi.Route{Pattern: pattern, Op: op})
	s.HandlePublic(pattern, h)
}

// Operations returns every described route, in registration order.
func (s *Server) Operations() []openapi.Route {
	return append([]openapi.Route(nil), s.ops...)
}

// statusBody is the body of /healthz and /readyz.
type statusBody struct {
	Status string `json:"status" enum:"ok,ready,loading,degraded"`
	// Only /readyz: which tenants are not fully served.
	LoadingTenants  []string            `json:"loadingTenants,omitempty" doc:"Ids of the tenants still loading (sorted)"`
	FailedTenants   map[string]string   `json:"failedTenants,omitempty" doc:"Tenants that failed to load: id → reason"`
	ReadOnlyTenants map[string][]string `json:"readOnlyTenants,omitempty" doc:"Tenants served read-only: id → problems"`
}

// ownOps describe the routes New registers.
var ownOps = []openapi.Route{
	{Pattern: "GET /healthz", Op: openapi.Op{ID: "health", Tag: "operations", Summary: "Liveness", Public: true, Response: statusBody{}}},
	{Pattern: "GET /readyz", Op: openapi.Op{ID: "ready", Tag: "operations", Public: true, Response: statusBody{}, Errors: []int{503},
		Summary: "Readiness (503 while starting, stopping or failing to write; 200 names the tenants still loading or that failed to load)"}},
	{Pattern: "GET /metrics", Op: openapi.Op{ID: "metrics", Tag: "operations", Summary: "Prometheus metrics (text format)", Public: true,
		Response: openapi.Schema{Schema: map[string]any{"type": "string"}}, ResponseType: "text/plain"}},
	{Pattern: "GET /openapi.json", Op: openapi.Op{ID: "openapi", Tag: "operations", Summary: "This document (OpenAPI 3.1)", Public: true,
		Response: openapi.Schema{Schema: map[string]any{"type": "object"}}}},
	{Pattern: "GET /docs/api", Op: openapi.Op{ID: "apiDocs", Tag: "operations", Summary: "This document as a web page (no script, no network)", Public: true,
		Response: openapi.Schema{Schema: map[string]any{"type": "string"}}, ResponseType: "text/html"}},
}

// apiDocs serves /openapi.json and /docs/api, built once from the routes
// registered before the first request.
type apiDocs struct {
	once       sync.Once
	json, html []byte
}

func (s *Server) buildDocs() {
	s.docs.once.Do(func() {
		doc := openapi.Document(openapi.Info{Title: "allot", Version: "1.0",
			Description: "License provisioning with a Microsoft Graph v1.0 compatible API (users, groups, licenses), " +
				"Graph beta allotments, a Partner-Center-shaped partner API, SCIM 2.0 and allot's own administration API " +
				"(position, prices, usage, audit). Authenticate with a bearer token: `Authorization: Bearer <token>`."},
			s.Operations(), respond.GraphError{})
		s.docs.json, _ = json.MarshalIndent(doc, "", " ")
		s.docs.html = openapi.HTML(doc)
	})
}

func (s *Server) openAPIJSON(w http.ResponseWriter, r *http.Request) {
	s.buildDocs()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.docs.json)
}

func (s *Server) openAPIPage(w http.ResponseWriter, r *http.Request) {
	s.buildDocs()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	_, _ = w.Write(s.docs.html)
}

// TenantParam documents the header a partner token names its customer
// tenant with (Tenant); routes that find their tenant with Tenant list it.
var TenantParam = openapi.Param{Name: TenantHeader, In: "header",
	Description: "Partner administrator tokens: the customer tenant to act on (a tenant's own tokens act on their tenant and omit it)"}
