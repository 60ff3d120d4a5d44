// Package graph is allot's Microsoft Graph v1.0 surface for users, groups
// and licenses: the same paths, JSON properties, status codes, error bodies
// and OData query options as graph.microsoft.com, so that scripts and the
// official SDKs work against allot by changing only the base URL and token.
//
// Every route is declared once in the route table (routes.go); the table
// drives registration, authorisation (roles.go), throttling (throttle.go)
// and the OpenAPI document (openapi.go). Reads go to the tenant's
// last-committed state (tenant.Read) and use the read-side indexes of
// index.go; writes are tenant commands (tenant.Do) with ids and times
// chosen before the command runs.
package graph

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/api/odata"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/tenant"
)

// Options tune the Graph surface.
type Options struct {
	// Rate and Burst are the per-token throttling limits (requests per
	// second, bucket size). Rate 0 turns throttling off. The partner
	// administrator is never throttled.
	Rate  float64
	Burst int
	// Now is the throttling clock (default time.Now); tests fix it.
	Now func() time.Time
}

// DefaultOptions are used by Register: generous enough for benchmarks,
// low enough to stop a runaway script.
var DefaultOptions = Options{Rate: 2000, Burst: 4000}

// Register mounts the Graph surface and /openapi.json with DefaultOptions.
func Register(s *server.Server) { RegisterWith(s, DefaultOptions) }

// RegisterWith mounts the Graph surface with explicit options.
func RegisterWith(s *server.Server, opts Options) {
	h := &handler{s: s, lim: newLimiter(opts.Rate, opts.Burst, opts.Now)}
	h.root = s.Handler()
	for i := range routes {
		rt := &routes[i]
		s.Handle(rt.Method+" "+rt.Path, h.wrap(rt))
		// The delta functions' other spellings: the fully qualified name
		// the Graph SDKs call, with or without the parentheses.
		if base, ok := strings.CutSuffix(rt.Path, "/delta"); ok {
			for _, alias := range []string{"/delta()", "/microsoft.graph.delta", "/microsoft.graph.delta()"} {
				s.Handle(rt.Method+" "+base+alias, h.wrap(rt))
			}
		}
	}
	s.HandlePublic("GET /openapi.json", h.openAPI)
	// Anything else under /v1.0 answers in Graph's words rather than with
	// the mux's plain-text 404/405, which the SDKs cannot parse.
	s.Handle("/v1.0/", h.unmatched)
}

// unmatched answers requests no route takes: 405 when the path exists with
// other methods, else Graph's 400 for an unknown segment.
func (h *handler) unmatched(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i := range routes {
		if pathMatches(routes[i].Path, segs) {
			respond.Status(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
			return
		}
	}
	// The first segment no route knows at its place.
	bad := segs[len(segs)-1]
	for n := 1; n <= len(segs); n++ {
		known := false
		for i := range routes {
			if prefixMatches(routes[i].Path, segs[:n]) {
				known = true
				break
			}
		}
		if !known {
			bad = segs[n-1]
			break
		}
	}
	respond.Status(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+bad+"'.")
}

// pathMatches reports whether a route path ("/v1.0/users/{id}") matches
// the request's segments.
func pathMatches(pattern string, segs []string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	return len(ps) == len(segs) && prefixMatches(pattern, segs)
}

func prefixMatches(pattern string, segs []string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	if len(segs) > len(ps) {
		return false
	}
	for i, s := range segs {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != s {
			return false
		}
	}
	return true
}

type handler struct {
	s    *server.Server
	lim  *limiter
	root http.Handler // the whole server, for $batch
}

// call is what a handler gets besides the request.
type call struct {
	t *tenant.Tenant
	p *auth.Principal
	q *odata.Query
	r *http.Request
	// limited: an allotment owner, who sees only the users and groups its
	// allotments reach.
	limited bool
}

// scope is what the principal may see in s: nil (everything) unless it is
// an allotment owner.
func (c *call) scope(s *tenant.State) *scope.Scope {
	if !c.limited {
		return nil
	}
	return scope.Of(c.p, s.Engine)
}

// wrap applies throttling, tenant resolution, authorisation and query
// option parsing, in Graph's order: 429, then 403, then 400.
func (h *handler) wrap(rt *route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p != nil && !p.IsPartner() {
			if ok, wait := h.lim.take(p.TokenID); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(wait))
				respond.Status(w, r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
				return
			}
		}
		t, p, err := h.s.Tenant(r)
		if err != nil {
			fail(w, r, err)
			return
		}
		limited := scope.Limited(p)
		switch {
		case limited && !rt.Scoped:
			scope.Deny(w, r, p) // 404: nothing outside their scope may be seen to exist
			return
		case !limited && !auth.Can(p, rt.Perm, t.ID):
			respond.Denied(w, r)
			return
		}
		if !decompress(w, r) {
			return
		}
		q, err := odata.Parse(r.URL.Query(), rt.Query, strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual"))
		if err != nil {
			fail(w, r, err)
			return
		}
		rt.handle(h, w, r, &call{t: t, p: p, q: q, r: r, limited: limited})
	}
}

// decompress accepts gzip request bodies, as Graph does (the Graph SDKs
// compress request bodies by default). Other encodings get 415, to which
// the SDKs answer by resending uncompressed.
func decompress(w http.ResponseWriter, r *http.Request) bool {
	enc := r.Header.Get("Content-Encoding")
	if enc == "" || strings.EqualFold(enc, "identity") {
		return true
	}
	if !strings.EqualFold(enc, "gzip") {
		respond.Status(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding "+enc+" is not supported; send gzip or no encoding.")
		return false
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		respond.Status(w, r, http.StatusBadRequest, "BadRequest", "The request body is not valid gzip.")
		return false
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{zr, r.Body}
	r.Header.Del("Content-Encoding")
	r.ContentLength = -1
	return true
}

// fail writes err as Graph does: query option errors with their own code,
// conflicts of the request (duplicate userPrincipalName, …) as 400
// Request_BadRequest like Graph, everything else (a read-only tenant's
// 409 among them) through respond.Error.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *odata.Error
	if errors.As(err, &oe) {
		respond.Status(w, r, http.StatusBadRequest, oe.Code, oe.Msg)
		return
	}
	if allot.ErrorCode(err) == allot.ECONFLICT && !errors.Is(err, tenant.ErrReadOnly) {
		respond.Status(w, r, http.StatusBadRequest, "Request_BadRequest", allot.ErrorMessage(err))
		return
	}
	respond.Error(w, r, err)
}

// badRequest is a 400 Request_BadRequest.
func badRequest(format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, format, args...)
}

// notFound is Graph's 404 for a missing object.
func notFound(id string) error {
	return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// graphContentType is what Graph answers with.
const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// writeJSON writes a body built in b.
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	hd := w.Header()
	hd.Set("Content-Type", graphContentType)
	hd.Set("OData-Version", "4.0")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// baseURL is the scheme and host the client called, for @odata.context and
// @odata.nextLink (the SDKs follow nextLink as an absolute URL); behind a
// trusted proxy, the ones it forwarded (api/server forwarded.go).
func baseURL(r *http.Request) string {
	return server.Scheme(r) + "://" + r.Host
}

// contextURL appends "@odata.context":"<base>/v1.0/$metadata#<what>",.
func appendContext(b []byte, r *http.Request, what string) []byte {
	b = append(b, `{"@odata.context":`...)
	return appendStr(b, baseURL(r)+"/v1.0/$metadata#"+what)
}
