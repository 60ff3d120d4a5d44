// Package scim is allot's SCIM 2.0 service provider (RFC 7643, RFC 7644)
// at /scim/v2, through which Microsoft Entra ID, Okta or any identity
// provider pushes users and groups into a tenant. SCIM users and groups
// are the engine's users and groups: membership changes go through
// licensing.Engine.AddMembers/RemoveMembers, so licenses follow a group
// pushed by the identity provider as soon as it carries licenses.
//
// The tenant is the bearer token's (a partner administrator names it in
// X-Allot-Tenant, as on every surface). Users need Global or User
// Administrator; groups Global, Groups or User Administrator (as Graph's
// group writes). Discovery (/ServiceProviderConfig, /Schemas,
// /ResourceTypes) needs no token. A missing or invalid token is a SCIM
// 401 body, not Graph's: the routes authenticate themselves.
//
// Decisions beyond the RFCs, taken for what identity providers send:
//   - PATCH accepts Entra's quirks: capitalised op values, "True"/"False"
//     strings for booleans, value objects keyed by paths
//     ("name.givenName", "emails[type eq \"work\"].value"), a bare string
//     for manager, and "remove members" with a value list; and Okta's
//     replace of {"id","displayName"} (id is ignored).
//   - add/replace through a filter that matches nothing creates the element
//     the filter's eq terms describe; remove of what is absent succeeds.
//   - Unknown and read-only attributes in bodies are ignored; an unknown or
//     read-only attribute named by a PATCH path is 400 invalidPath /
//     mutability.
//   - Deleting a group that still has licenses is 400 mutability (RFC 7644
//     §3.12: "not compatible with the target attribute's mutability or
//     current state"), saying how many licenses to remove first, as Graph's
//     DELETE refuses it (Entra: a group with licenses assigned cannot be
//     deleted until they are removed). 409 is kept for uniqueness
//     (userName).
//   - The usage location licensing needs comes from the allot extension
//     (urn:ietf:params:scim:schemas:extension:allot:2.0:User:usageLocation),
//     or, for a user without one, from a two-letter addresses[work].country.
//     SCIM never clears it (a user with direct licenses needs it).
//   - ETags are weak and derived from content, so Graph changes change them;
//     meta.lastModified is the last change made through SCIM (or creation).
//   - Sorting is not supported (sortBy is ignored, as announced in
//     /ServiceProviderConfig); users list in the engine's order, groups by id.
//   - PATCH answers 204 with the ETag or 200 with the resource (RFC 7644
//     §3.5.2 allows either) as the client shows it wants (patchWantsBody):
//     Prefer: return=minimal / return=representation (RFC 7240) decide;
//     else attributes or excludedAttributes ask for the body; else a user
//     PATCH from a SCIM client — its body sent as application/scim+json,
//     as Entra and Okta send it, or an Accept naming a JSON media type —
//     gets 200 with the user (the answer Okta documents), and one sent as
//     plain application/json without a JSON Accept gets 204, as
//     Microsoft's SCIM reference service answers (its test collection
//     expects 204); a group PATCH gets 204, so that membership changes of
//     large groups do not render every member. Entra accepts either.
//   - GET /serviceConfiguration is /ServiceProviderConfig (the name of
//     Microsoft's SCIM reference service).
//   - Filter values may be unquoted where that is unambiguous ("userName
//     sw O", "meta.created gt 2015-10-10T14:38:21Z"); attributes and
//     excludedAttributes may select elements (emails[type eq "work"]).
package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"allot"
	"allot/api/respond"
	apiscope "allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
)

const (
	prefix      = "/scim/v2"
	contentType = "application/scim+json"
	maxBody     = 1 << 20
)

// access is who may call a route: the action it needs (auth.Can), or
// public.
type access struct {
	action auth.Action // 0: public (discovery, no token)
	name   string      // what the action manages, for messages
}

var (
	public = access{}
	users  = access{auth.WriteUsers, "users"}
	groups = access{auth.WriteGroups, "groups"}
)

type route struct {
	method string
	path   string // below prefix
	access access
	handle func(h *handler, c *call)
}

var routes = []route{
	{"GET", "/ServiceProviderConfig", public, (*handler).serviceProviderConfig},
	// The name Microsoft's SCIM reference service and its test collection
	// use for the same document.
	{"GET", "/serviceConfiguration", public, (*handler).serviceProviderConfig},
	{"GET", "/Schemas", public, (*handler).listSchemas},
	{"GET", "/Schemas/{id}", public, (*handler).getSchema},
	{"GET", "/ResourceTypes", public, (*handler).listResourceTypes},
	{"GET", "/ResourceTypes/{id}", public, (*handler).getResourceType},

	{"GET", "/Users", users, listOf(userResource)},
	{"POST", "/Users/.search", users, searchOf(userResource)},
	{"POST", "/Users", users, (*handler).createUser},
	{"GET", "/Users/{id}", users, getOf(userResource)},
	{"PUT", "/Users/{id}", users, (*handler).replaceUser},
	{"PATCH", "/Users/{id}", users, (*handler).patchUser},
	{"DELETE", "/Users/{id}", users, (*handler).deleteUser},

	{"GET", "/Groups", groups, listOf(groupResource)},
	{"POST", "/Groups/.search", groups, searchOf(groupResource)},
	{"POST", "/Groups", groups, (*handler).createGroup},
	{"GET", "/Groups/{id}", groups, getOf(groupResource)},
	{"PUT", "/Groups/{id}", groups, (*handler).replaceGroup},
	{"PATCH", "/Groups/{id}", groups, (*handler).patchGroup},
	{"DELETE", "/Groups/{id}", groups, (*handler).deleteGroup},
}

// Register mounts the SCIM service provider.
func Register(s *server.Server) {
	h := &handler{s: s}
	for _, rt := range routes {
		// SCIM authenticates in its handlers (errors in SCIM's body), so
		// the server does not: RoutePublic, with op.Public saying whether
		// a token is needed. A route without a description is registered
		// undescribed, and the OpenAPI tests fail on it.
		if op, ok := scimOp(rt); ok {
			s.RoutePublic(rt.method+" "+prefix+rt.path, op, h.serve(rt))
		} else {
			s.HandlePublic(rt.method+" "+prefix+rt.path, h.serve(rt))
		}
	}
	s.HandlePublic(prefix+"/{rest...}", h.fallback)
}

type handler struct{ s *server.Server }

// call is one authorised request.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	t    *tenant.Tenant
	p    *auth.Principal
	base string // absolute URL of /scim/v2, for locations and $ref
}

func (c *call) fail(err error) { writeError(c.w, c.r, err) }

// op is the engine command context of a write: the principal, marked as
// acting through SCIM, as actor (the engine writes its own "why", which
// names the group), and the runtime's clock (Tenant.Do fills Now).
func (c *call) op() licensing.Op {
	return licensing.Op{Actor: c.p.Actor() + " via SCIM"}
}

func (h *handler) serve(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r, base: baseURL(r)}
		if rt.access != public {
			p, err := h.s.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"))
			if errors.Is(err, auth.ErrUnauthenticated) {
				writeError(w, r, errf(http.StatusUnauthorized, "", "A valid bearer token is required."))
				return
			}
			if err != nil {
				writeError(w, r, err)
				return
			}
			c.r = r.WithContext(auth.WithPrincipal(r.Context(), p))
			if c.t, c.p, err = h.s.Tenant(c.r); err != nil {
				writeError(w, r, err)
				return
			}
			allowed := auth.Can(p, rt.access.action, c.t.ID)
			if !allowed && apiscope.Limited(p) {
				// An allotment owner: SCIM is outside its scope, and
				// nothing outside may be seen to exist (api/scope).
				writeError(w, r, errf(http.StatusNotFound, "", "Resource %s not found.", r.URL.Path))
				return
			}
			if !allowed {
				writeError(w, r, errf(http.StatusForbidden, "", "This token may not manage %s through SCIM: that needs one of the roles %s.",
					rt.access.name, strings.Join(auth.Roles(rt.access.action), ", ")))
				return
			}
		}
		rt.handle(h, c)
	}
}

// fallback answers paths the mux did not match: endpoint names in another
// case (/users, /groups, ...) are served as their canonical routes; a known
// endpoint with another method is 405; anything else 404.
func (h *handler) fallback(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(r.PathValue("rest"), "/"), "/")
	known := false
	for _, rt := range routes {
		want := strings.Split(strings.Trim(rt.path, "/"), "/")
		if len(want) != len(segs) || !strings.EqualFold(want[0], segs[0]) {
			continue
		}
		if len(want) == 2 && want[1] != "{id}" && !strings.EqualFold(want[1], segs[1]) {
			continue
		}
		if len(want) == 2 && want[1] == "{id}" && segs[1] == ".search" {
			continue
		}
		known = true
		if rt.method != r.Method {
			continue
		}
		if len(want) == 2 && want[1] == "{id}" {
			r.SetPathValue("id", segs[1])
		}
		h.serve(rt)(w, r)
		return
	}
	if known {
		writeError(w, r, errf(http.StatusMethodNotAllowed, "", "Method %s is not supported on %s.", r.Method, r.URL.Path))
		return
	}
	writeError(w, r, errf(http.StatusNotFound, "", "No SCIM endpoint at %s.", r.URL.Path))
}

// patchWantsBody decides whether a successful PATCH answers 200 with the
// resource (true) or 204 with its ETag: Prefer's return=representation or
// return=minimal (RFC 7240) first, then attributes or excludedAttributes
// (a body is wanted), then for users (users true) a body sent as
// application/scim+json or an Accept header that names
// application/scim+json or application/json.
func patchWantsBody(r *http.Request, users bool) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			switch strings.ToLower(strings.Join(strings.Fields(p), "")) {
			case "return=representation":
				return true
			case "return=minimal":
				return false
			}
		}
	}
	q := r.URL.Query()
	if q.Has("attributes") || q.Has("excludedAttributes") {
		return true
	}
	if !users {
		return false
	}
	if mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.EqualFold(strings.TrimSpace(mt), contentType) {
		return true
	}
	for _, v := range r.Header.Values("Accept") {
		for _, mt := range strings.Split(v, ",") {
			mt, _, _ = strings.Cut(mt, ";")
			switch strings.ToLower(strings.TrimSpace(mt)) {
			case contentType, "application/json":
				return true
			}
		}
	}
	return false
}

// baseURL is the absolute URL of /scim/v2 as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host + prefix
}

// writeList answers a list request: fill, run on the readers' copy, adds
// the page's resources and the total to a ListResponse that starts at
// q's startIndex; itemsPerPage is the resources it added.
func writeList(c *call, q *query, fill func(s *tenant.State, resp *listResponse)) {
	resp := listResponse{Schemas: []string{schemaListResponse}, StartIndex: q.start, Resources: []doc{}}
	c.t.Read(func(s *tenant.State) { fill(s, &resp) })
	resp.ItemsPerPage = len(resp.Resources)
	writeJSON(c.w, http.StatusOK, resp)
}

// writeJSON writes a SCIM response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeBody reads a JSON object body (application/scim+json or
// application/json). Malformed bodies are 400 invalidSyntax.
func decodeBody(r *http.Request) (map[string]any, error) {
	var m map[string]any
	if err := respond.Decode(r, &m, maxBody, false); err != nil {
		if _, ok := respond.TooLarge(err); ok {
			return nil, errf(http.StatusRequestEntityTooLarge, "", "%s", allot.ErrorMessage(err))
		}
		if te := (*respond.TimeoutError)(nil); errors.As(err, &te) {
			return nil, errf(http.StatusRequestTimeout, "", "%s", te.Error())
		}
		return nil, badRequest(typeInvalidSyntax, "%s", allot.ErrorMessage(err))
	}
	if m == nil {
		return nil, badRequest(typeInvalidSyntax, "The request body must be a JSON object.")
	}
	return m, nil
}
