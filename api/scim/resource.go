package scim

import (
	"net/http"

	"allot/tenant"
)

// resource is what the request handling shared by users and groups needs
// of each: its resource type, how to list a query's page, and how to render
// one object (projected, with its version).
type resource struct {
	typ    *ResourceType
	list   func(c *call, q *query)
	render func(s *tenant.State, id, base string, proj projection) (d doc, version string, found bool)
}

var (
	userResource = &resource{typ: userType, list: listUsers,
		render: func(s *tenant.State, id, base string, proj projection) (doc, string, bool) {
			u, ok := s.Engine.User(id)
			if !ok {
				return nil, "", false
			}
			d, ver := renderUser(s, &u, base, proj)
			return d, ver, true
		}}
	groupResource = &resource{typ: groupType, list: listGroups,
		render: func(s *tenant.State, id, base string, proj projection) (doc, string, bool) {
			g, ok := s.Engine.Group(id)
			if !ok {
				return nil, "", false
			}
			d, ver := renderGroup(s, &g, base, proj)
			return d, ver, true
		}}
)

// listOf answers GET /Users or /Groups: the query in the URL.
func listOf(rs *resource) func(*handler, *call) {
	return func(_ *handler, c *call) {
		q, err := parseQuery(rs.typ, paramsFromURL(c.r.URL.Query()))
		if err != nil {
			c.fail(err)
			return
		}
		rs.list(c, q)
	}
}

// searchOf answers POST /Users/.search or /Groups/.search: the query in
// the body (RFC 7644 §3.4.3).
func searchOf(rs *resource) func(*handler, *call) {
	return func(_ *handler, c *call) {
		q, err := searchQuery(c, rs.typ)
		if err != nil {
			c.fail(err)
			return
		}
		rs.list(c, q)
	}
}

// getOf answers GET /Users/{id} or /Groups/{id}: the object with its ETag,
// or 304 when If-None-Match names its version.
func getOf(rs *resource) func(*handler, *call) {
	return func(_ *handler, c *call) {
		proj, err := parseProjection(rs.typ, c.r.URL.Query())
		if err != nil {
			c.fail(err)
			return
		}
		id := c.r.PathValue("id")
		var d doc
		var ver string
		found := false
		c.t.Read(func(s *tenant.State) { d, ver, found = rs.render(s, id, c.base, proj) })
		if !found {
			c.fail(notFound(rs.typ.Name, id))
			return
		}
		c.w.Header().Set("ETag", etag(ver))
		if inm := c.r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, ver) {
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
		writeJSON(c.w, http.StatusOK, d)
	}
}
