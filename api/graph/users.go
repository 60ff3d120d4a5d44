package graph

import (
	"net/http"
	"strings"

	"allot/api/odata"
	"allot/api/scope"
	"allot/directory"
	"allot/licensing"
	"allot/tenant"
	"allot/userprop"
)

var userCollection = &collection[licensing.User]{
	res: userResource, sc: userSchema, context: "users",
	get:     func(s *tenant.State, id string) (licensing.User, bool) { return s.Engine.User(id) },
	orders:  userOrders,
	access:  userAccess,
	visible: func(sc *scope.Scope, u *licensing.User) bool { return sc.User(u.ID) },
	search:  userSearch(),
}

// userSearch is what $search may match: the registry's Search properties.
func userSearch() map[string]func(u *licensing.User) string {
	m := map[string]func(u *licensing.User) string{}
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Search {
			m[p.Key()] = p.Get
		}
	}
	return m
}

// userOrders are the orders the directory read model keeps: one for each
// Sortable property of the registry (TestEverySortablePropertyHasAnOrder).
var userOrders = map[string]orderDef[licensing.User]{
	"": {name: "id", set: (*directory.Index).UsersByID},
	"displayname": {name: "displayName", set: (*directory.Index).UsersByName,
		key: func(u *licensing.User) string { return strings.ToLower(u.DisplayName) }},
	"userprincipalname": {name: "userPrincipalName", set: (*directory.Index).UsersByUPN,
		key: func(u *licensing.User) string { return strings.ToLower(u.UserPrincipalName) }},
}

// userAccess finds an index for a conjunct: id, userPrincipalName and mail
// lookups, displayName and userPrincipalName prefixes, and holders of a
// SKU (assignedLicenses/any(x:x/skuId eq G)).
func userAccess(s *tenant.State, x *directory.Index, n odata.Node) *directory.Range {
	lookup := func(prop string, vals []string) *directory.Range { return userLookup(s, x, prop, vals) }
	switch n := n.(type) {
	case *odata.Compare:
		p, ok := n.Left.(*odata.Path)
		lit, ok2 := n.Right.(*odata.Literal)
		if ok && ok2 && n.Op == "eq" && len(p.Segments) == 1 && (lit.Kind == odata.LitString || lit.Kind == odata.LitGUID) {
			return lookup(strings.ToLower(p.Segments[0]), []string{lit.Text})
		}
	case *odata.In:
		p, ok := n.Left.(*odata.Path)
		if ok && len(p.Segments) == 1 {
			vals := make([]string, len(n.List))
			for i, l := range n.List {
				vals[i] = l.Text
			}
			return lookup(strings.ToLower(p.Segments[0]), vals)
		}
	case *odata.Call:
		p, ok := n.Args[0].(*odata.Path)
		lit, ok2 := n.Args[1].(*odata.Literal)
		if n.Name == "startswith" && ok && ok2 && len(p.Segments) == 1 {
			switch prop := strings.ToLower(p.Segments[0]); prop {
			case "displayname", "userprincipalname":
				return prefixRange(userOrders[prop], x, lit.Text)
			}
		}
	case *odata.Lambda:
		if len(n.Path.Segments) == 1 && strings.EqualFold(n.Path.Segments[0], "assignedLicenses") && n.Kind == "any" && n.Body != nil {
			if sku, ok := lambdaGUID(n, "skuId"); ok {
				// The users with a record of the SKU: the filter keeps
				// those whose seat is usable.
				set := x.UsersWithSKU(sku)
				if set == nil {
					return &directory.Range{IDs: []string{}}
				}
				r := directory.RangeOf(set, "id")
				return &r
			}
		}
	}
	return nil
}

// userLookup is the range of the users whose property prop (lower case:
// id, userprincipalname or mail) is one of vals; nil for another property.
func userLookup(s *tenant.State, x *directory.Index, prop string, vals []string) *directory.Range {
	ids := []string{}
	for _, v := range vals {
		switch prop {
		case "id":
			ids = append(ids, v)
		case "userprincipalname":
			if u, ok := s.Engine.UserByUPN(v); ok {
				ids = append(ids, u.ID)
			}
		case "mail":
			ids = append(ids, x.UsersByMail(v)...)
		default:
			return nil
		}
	}
	return &directory.Range{IDs: ids}
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request, c *call) {
	writeList(w, r, c, userCollection)
}

// findUser resolves {id|userPrincipalName}.
func findUser(s *tenant.State, idOrUPN string) (licensing.User, bool) {
	if u, ok := s.Engine.User(idOrUPN); ok {
		return u, true
	}
	if strings.Contains(idOrUPN, "@") {
		return s.Engine.UserByUPN(idOrUPN)
	}
	return licensing.User{}, false
}

// writeUser writes one user (status, with the selection of the query).
func writeUser(w http.ResponseWriter, r *http.Request, c *call, ref string, status int) {
	var sel []string
	if c.q != nil {
		sel = c.q.Select
	}
	idx, err := userResource.selection(sel)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeFound(w, r, c, ref, status, func(s *tenant.State, b []byte) ([]byte, bool) {
		u, ok := findUser(s, ref)
		sc := c.scope(s)
		if !ok || !sc.User(u.ID) {
			return b, false
		}
		b = appendEntity(b, r, userResource, view{s, sc}, &u, idx, "users"+selectSuffix(sel)+"/$entity")
		return b, true
	})
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request, c *call) {
	writeUser(w, r, c, r.PathValue("id"), http.StatusOK)
}
