package graph

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"allot/api/odata"
	"allot/api/respond"
	"allot/api/scope"
	"allot/directory"
	"allot/licensing"
	"allot/tenant"
)

// relSelection resolves $select over users and groups together (a
// directory object list holds both): each type writes the properties it
// has; a property neither has is Graph's 400.
func relSelection(sel []string) (users, groups []int, err error) {
	if sel == nil {
		return userResource.defaults, groupResource.defaults, nil
	}
	for _, s := range sel {
		ui, uok := userResource.byName[strings.ToLower(s)]
		gi, gok := groupResource.byName[strings.ToLower(s)]
		if !uok && !gok {
			return nil, nil, &odata.Error{Code: "BadRequest", Msg: fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.directoryObject'.", s)}
		}
		if uok {
			users = append(users, ui)
		}
		if gok {
			groups = append(groups, gi)
		}
	}
	return users, groups, nil
}

// writeRelation writes a page of a relationship (members, memberOf, …):
// load returns the related user and group ids, or false when the source
// object does not exist. Pages are ordered by id, resumed after the last
// id served.
func writeRelation(w http.ResponseWriter, r *http.Request, c *call, context string, load func(s *tenant.State) (users, groups []string, ok bool)) {
	usel, gsel, err := relSelection(c.q.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	serveRelPage(w, r, c, context, usel, gsel, func(s *tenant.State, sc *scope.Scope, p relPaging) ([]string, bool, func() int, bool) {
		users, groups, ok := load(s)
		if !ok {
			return nil, false, nil, false
		}
		items := make([]string, 0, len(users)+len(groups))
		for _, id := range users {
			if sc.User(id) {
				items = append(items, id)
			}
		}
		for _, id := range groups {
			if sc.Group(id) {
				items = append(items, id)
			}
		}
		sort.Strings(items)
		start := sort.Search(len(items), func(i int) bool { return items[i] > p.after })
		if p.after == "" {
			start = 0
		}
		page := items[start:]
		more := false
		if len(page) > p.top {
			page, more = page[:p.top], true
		}
		return page, more, func() int { return len(items) }, true
	})
}

// relPaging is a relationship request's paging: the page size, the id the
// page resumes after (from the skip token, a "rel" cursor), and whether
// @odata.count is asked for.
type relPaging struct {
	top   int
	after string
	count bool
}

// serveRelPage answers a page of a relationship: page, run on the readers'
// copy with the caller's scope, returns the page's ids, whether more
// follow, the total (called only for @odata.count), or false when the
// source object is not there (404). The page is written as Graph writes
// it: context, count, nextLink after the page's last id, the objects.
func serveRelPage(w http.ResponseWriter, r *http.Request, c *call, context string, usel, gsel []int,
	page func(s *tenant.State, sc *scope.Scope, p relPaging) (ids []string, more bool, total func() int, ok bool)) {
	p := relPaging{top: c.q.Top, count: c.q.Count && c.q.Eventual}
	if p.top == 0 {
		p.top = defaultPage
	}
	if c.q.SkipToken != "" {
		cur, err := directory.ParseCursor(c.q.SkipToken)
		if err != nil || cur.Order != "rel" {
			fail(w, r, skipTokenError)
			return
		}
		p.after = cur.K
	}
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	found := false
	c.t.Read(func(s *tenant.State) {
		sc := c.scope(s)
		ids, more, total, ok := page(s, sc, p)
		if !ok {
			return
		}
		found = true
		b = appendContext(b, r, context)
		if p.count {
			b = append(b, `,"@odata.count":`...)
			b = appendInt(b, total())
		}
		if more {
			b = append(b, `,"@odata.nextLink":`...)
			b = appendStr(b, nextLink(r, directory.Cursor{Order: "rel", K: ids[len(ids)-1]}))
		}
		b = append(b, `,"value":[`...)
		n := 0
		for _, id := range ids {
			var ok bool
			if b, ok = appendDirectoryObject(b, view{s, sc}, id, n > 0, usel, gsel); ok {
				n++
			}
		}
		b = append(b, "]}"...)
	})
	*bp = b
	if !found {
		fail(w, r, notFound(r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// objectKind narrows a directory object list to one type: Graph's type
// cast segments (members/microsoft.graph.user, …/microsoft.graph.group).
type objectKind int

const (
	anyObject objectKind = iota
	userObject
	groupObject
)

// members names the group in the path, or false when it does not exist or
// is outside the principal's scope (its members are in the directory
// index).
func (c *call) members(r *http.Request) func(s *tenant.State) (string, bool) {
	id := r.PathValue("id")
	return func(s *tenant.State) (string, bool) {
		return id, s.Engine.IsGroup(id) && c.scope(s).Group(id)
	}
}

func (h *handler) listMembers(w http.ResponseWriter, r *http.Request, c *call) {
	writeRelationSet(w, r, c, "directoryObjects", anyObject, c.members(r))
}

// listUserMembers answers GET /groups/{id}/members/microsoft.graph.user:
// the members that are users (Graph's type cast), with /members' options.
func (h *handler) listUserMembers(w http.ResponseWriter, r *http.Request, c *call) {
	writeRelationSet(w, r, c, "users", userObject, c.members(r))
}

// listGroupMembers answers GET /groups/{id}/members/microsoft.graph.group.
func (h *handler) listGroupMembers(w http.ResponseWriter, r *http.Request, c *call) {
	writeRelationSet(w, r, c, "groups", groupObject, c.members(r))
}

func (h *handler) countMembers(w http.ResponseWriter, r *http.Request, c *call) {
	countRelationSet(w, r, c, anyObject, c.members(r))
}

func (h *handler) countUserMembers(w http.ResponseWriter, r *http.Request, c *call) {
	countRelationSet(w, r, c, userObject, c.members(r))
}

func (h *handler) countGroupMembers(w http.ResponseWriter, r *http.Request, c *call) {
	countRelationSet(w, r, c, groupObject, c.members(r))
}

// relVisible returns whether an id of a relationship is listed: of the
// kind asked for, and visible to the scope.
func relVisible(s *tenant.State, sc *scope.Scope, kind objectKind) func(id string) bool {
	return func(id string) bool {
		if s.Engine.IsGroup(id) {
			return kind != userObject && sc.Group(id)
		}
		return kind != groupObject && sc.User(id)
	}
}

// countRelationSet answers a $count segment of a group's members kept in
// the directory index (GET /groups/{id}/members/$count,
// …/microsoft.graph.user/$count): text/plain, with ConsistencyLevel:
// eventual only, as Graph.
func countRelationSet(w http.ResponseWriter, r *http.Request, c *call, kind objectKind, load func(s *tenant.State) (string, bool)) {
	if !c.q.Eventual {
		fail(w, r, errCountUnsupported)
		return
	}
	n, found := 0, false
	c.t.Read(func(s *tenant.State) {
		group, ok := load(s)
		if !ok {
			return
		}
		found = true
		x := directory.Of(s)
		sc := c.scope(s)
		if sc == nil && kind == anyObject {
			n = x.MemberCount(group)
			return
		}
		visible := relVisible(s, sc, kind)
		x.ScanMembers(group, "", func(id string) bool {
			if visible(id) {
				n++
			}
			return true
		})
	})
	if !found {
		fail(w, r, notFound(r.PathValue("id")))
		return
	}
	writeCount(w, n)
}

// writeRelationSet writes a page of a relationship kept in the directory
// index (a group's members; load names the group, or false when it is not
// there), of one kind of object or all: a seek after the last id served
// and a walk of one page, whatever the size of the group.
func writeRelationSet(w http.ResponseWriter, r *http.Request, c *call, context string, kind objectKind, load func(s *tenant.State) (string, bool)) {
	usel, gsel, err := relSelection(c.q.Select)
	switch kind {
	case userObject:
		usel, err = userResource.selection(c.q.Select)
	case groupObject:
		gsel, err = groupResource.selection(c.q.Select)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	serveRelPage(w, r, c, context, usel, gsel, func(s *tenant.State, sc *scope.Scope, p relPaging) ([]string, bool, func() int, bool) {
		group, ok := load(s)
		if !ok {
			return nil, false, nil, false
		}
		x := directory.Of(s)
		visible := relVisible(s, sc, kind)
		var page []string
		more := false
		x.ScanMembers(group, p.after, func(id string) bool {
			if !visible(id) {
				return true
			}
			if len(page) == p.top {
				more = true
				return false
			}
			page = append(page, id)
			return true
		})
		total := func() int {
			if sc == nil && kind == anyObject {
				return x.MemberCount(group)
			}
			n := 0
			x.ScanMembers(group, "", func(id string) bool {
				if visible(id) {
					n++
				}
				return true
			})
			return n
		}
		return page, more, total, true
	})
}

func (h *handler) listMembersWithLicenseErrors(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	writeRelation(w, r, c, "directoryObjects", func(s *tenant.State) ([]string, []string, bool) {
		sc := c.scope(s)
		if !s.Engine.IsGroup(id) || !sc.Group(id) {
			return nil, nil, false
		}
		users := s.Engine.MembersWithLicenseErrors(id)
		if sc != nil {
			// An allotment owner sees the errors of its allotments'
			// licenses only.
			users = slices.DeleteFunc(slices.Clone(users), func(u string) bool { return !errorIn(s, sc, u, id) })
		}
		return users, nil, true
	})
}

// errorIn reports whether a license of the user that the scope sees has a
// source from the group in error.
func errorIn(s *tenant.State, sc *scope.Scope, userID, groupID string) bool {
	for _, l := range s.Engine.Licenses(userID) {
		if !sc.Licenses(l.AllotmentID) {
			continue
		}
		for _, src := range l.Sources {
			if src.AssignedByGroup == groupID && src.State == licensing.StateError {
				return true
			}
		}
	}
	return false
}

func (h *handler) listMemberOf(w http.ResponseWriter, r *http.Request, c *call) {
	ref := r.PathValue("id")
	writeRelation(w, r, c, "directoryObjects", func(s *tenant.State) ([]string, []string, bool) {
		u, ok := findUser(s, ref)
		if !ok || !c.scope(s).User(u.ID) {
			return nil, nil, false
		}
		return nil, s.Engine.GroupsOf(u.ID), true
	})
}

func (h *handler) listTransitiveMemberOf(w http.ResponseWriter, r *http.Request, c *call) {
	ref := r.PathValue("id")
	writeRelation(w, r, c, "directoryObjects", func(s *tenant.State) ([]string, []string, bool) {
		u, ok := findUser(s, ref)
		if !ok || !c.scope(s).User(u.ID) {
			return nil, nil, false
		}
		return nil, s.Engine.TransitiveGroupsOf(u.ID), true
	})
}

func (h *handler) addMember(w http.ResponseWriter, r *http.Request, c *call) {
	var in map[string]any
	if err := respond.Decode(r, &in, 0, false); err != nil {
		fail(w, r, err)
		return
	}
	memberID, err := referenceBody(in)
	if err != nil {
		fail(w, r, err)
		return
	}
	groupID := r.PathValue("id")
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		g, err := memberChange(tx, c, groupID)
		if err != nil {
			return err
		}
		if g.IsDynamic() {
			return errDynamic
		}
		if sc := c.scope(tx.State); sc != nil {
			// An allotment owner brings people into its allotment: users
			// by object id, or by userPrincipalName among the users it
			// already sees (api/scope FindUser); no groups.
			u, ok := sc.FindUser(tx.Engine, memberID)
			if !ok {
				return notFound(memberID)
			}
			memberID = u.ID
		}
		return tx.Engine.AddMembers(tx.Op, groupID, []string{memberID})
	})
	if err == errDynamic {
		dynamicRefused(w, r)
		return
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) removeMember(w http.ResponseWriter, r *http.Request, c *call) {
	groupID, memberID := r.PathValue("id"), r.PathValue("memberId")
	err := c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		g, err := memberChange(tx, c, groupID)
		if err != nil {
			return err
		}
		if g.IsDynamic() {
			return errDynamic
		}
		return tx.Engine.RemoveMembers(tx.Op, groupID, []string{memberID})
	})
	if err == errDynamic {
		dynamicRefused(w, r)
		return
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// memberChange returns the group whose members the principal is about to
// change, or the answer: 404 when it does not exist or is outside an
// allotment owner's scope, 403 when it is in scope but also carries
// licenses from outside the owner's allotments (api/scope
// MayChangeMembers).
func memberChange(tx *tenant.Tx, c *call, groupID string) (licensing.Group, error) {
	g, ok := tx.Engine.Group(groupID)
	if !ok {
		return g, notFound(groupID)
	}
	visible, allowed := c.scope(tx.State).MayChangeMembers(tx.Engine, groupID)
	if !visible {
		return g, notFound(groupID)
	}
	if !allowed {
		return g, scope.ErrForeignLicenses
	}
	return g, nil
}

// appendDirectoryObject appends the group or user with the id (after a
// comma when comma is set), as a member of a relation list; false when
// neither exists.
func appendDirectoryObject(b []byte, s view, id string, comma bool, usel, gsel []int) ([]byte, bool) {
	if g, ok := s.Engine.Group(id); ok {
		if comma {
			b = append(b, ',')
		}
		return groupResource.appendObject(b, s, &g, gsel, true), true
	}
	if u, ok := s.Engine.User(id); ok {
		if comma {
			b = append(b, ',')
		}
		return userResource.appendObject(b, s, &u, usel, true), true
	}
	return b, false
}

// referenceBody reads the body of POST …/members/$ref: the member's
// @odata.id.
func referenceBody(in map[string]any) (string, error) {
	ref, _ := in["@odata.id"].(string)
	if ref == "" {
		return "", required("@odata.id")
	}
	memberID, ok := referencedID(ref)
	if !ok {
		return "", badRequest("Invalid object identifier '%s'.", ref)
	}
	return memberID, nil
}
