package server

import (
	"net/http"
	"strings"

	"allot/api/respond"
)

// Requests that no registered route takes are answered here, in the
// error shape of the APIs (respond's Graph error body) rather than with the
// mux's plain-text "404 page not found" / "405 method not allowed", which
// clients and SDKs cannot parse. A surface can still register a catch-all
// of its own to answer in its own words (Graph's /v1.0/ with its routes
// table and authentication, SCIM's /scim/v2/ with the SCIM error schema);
// those take precedence because the mux matches them.
//
//   - The path exists with other methods: 405 Request_BadRequest
//     "Specified HTTP method is not allowed for the request target." with
//     an Allow header (Graph's answer).
//   - Under a Graph version (/v1.0, /beta): 400 BadRequest "Resource not
//     found for the segment 'X'.", X the first segment that no route knows
//     at its place — what Microsoft Graph answers for an unknown segment.
//   - Anywhere else (/partner, /allot/v1, …): 404 Request_ResourceNotFound
//     with the same message.

// graphVersions are the path prefixes of Microsoft Graph's API versions.
var graphVersions = []string{"/v1.0/", "/beta/"}

// unmatched answers a request the mux has no route for; allow is the
// mux's Allow header (the path's other methods), empty when the path is
// unknown.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, allow string) {
	if allow != "" {
		w.Header().Set("Allow", allow)
		respond.Status(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
		return
	}
	msg := "Resource not found for the segment '" + s.unknownSegment(r.URL.Path) + "'."
	if strings.Trim(r.URL.Path, "/") == "" {
		msg = "Resource not found for the path '/'."
	}
	for _, v := range graphVersions {
		if strings.HasPrefix(r.URL.Path, v) {
			respond.Status(w, r, http.StatusBadRequest, "BadRequest", msg)
			return
		}
	}
	respond.Status(w, r, http.StatusNotFound, "Request_ResourceNotFound", msg)
}

// unknownSegment returns the first segment of path that no registered
// route has at its place (the last one when each is known somewhere but
// no route has them all).
func (s *Server) unknownSegment(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var patterns [][]string
	for _, p := range s.Routes() {
		if i := strings.IndexByte(p, ' '); i >= 0 {
			p = p[i+1:]
		}
		patterns = append(patterns, strings.Split(strings.Trim(p, "/"), "/"))
	}
	for n := range segs {
		known := false
		for _, ps := range patterns {
			if prefixMatches(ps, segs[:n+1]) {
				known = true
				break
			}
		}
		if !known {
			return segs[n]
		}
	}
	return segs[len(segs)-1]
}

// prefixMatches reports whether the route segments ps ("users", "{id}",
// "{rest...}") match segs as far as segs go.
func prefixMatches(ps, segs []string) bool {
	for i, s := range segs {
		if i >= len(ps) {
			return false
		}
		if strings.HasSuffix(ps[i], "...}") {
			return true
		}
		if !strings.HasPrefix(ps[i], "{") && ps[i] != s {
			return false
		}
	}
	return true
}

// allowRecorder captures what the mux's own not-found or method-not-allowed
// handler would write: its status and Allow header.
type allowRecorder struct {
	header http.Header
	code   int
}

func (a *allowRecorder) Header() http.Header         { return a.header }
func (a *allowRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (a *allowRecorder) WriteHeader(code int)        { a.code = code }

// route serves r through the mux, or through unmatched when no route
// takes it.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// No pattern: the mux would answer 404, 405, or redirect to the
	// cleaned path (which is kept).
	rec := &allowRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.code {
	case http.StatusNotFound:
		s.unmatched(w, r, "")
	case http.StatusMethodNotAllowed:
		s.unmatched(w, r, rec.header.Get("Allow"))
	default:
		s.mux.ServeHTTP(w, r)
	}
}
