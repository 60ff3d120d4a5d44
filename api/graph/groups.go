package graph

import (
	"allot/m365"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"allot/api/odata"
	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/deleteditems"
	"allot/directory"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

var groupCollection = &collection[licensing.Group]{
	res: groupResource, sc: groupSchema, context: "groups",
	get:    func(s *tenant.State, id string) (licensing.Group, bool) { return s.Engine.Group(id) },
	orders: groupOrders,
	access: func(s *tenant.State, x *directory.Index, n odata.Node) *directory.Range {
		switch n := n.(type) {
		case *odata.Compare:
			p, ok := n.Left.(*odata.Path)
			lit, ok2 := n.Right.(*odata.Literal)
			if ok && ok2 && n.Op == "eq" && len(p.Segments) == 1 && strings.EqualFold(p.Segments[0], "id") {
				return &directory.Range{IDs: []string{lit.Text}}
			}
		case *odata.In:
			p, ok := n.Left.(*odata.Path)
			if ok && len(p.Segments) == 1 && strings.EqualFold(p.Segments[0], "id") {
				ids := make([]string, len(n.List))
				for i, l := range n.List {
					ids[i] = l.Text
				}
				return &directory.Range{IDs: ids}
			}
		case *odata.Call:
			p, ok := n.Args[0].(*odata.Path)
			lit, ok2 := n.Args[1].(*odata.Literal)
			if n.Name == "startswith" && ok && ok2 && len(p.Segments) == 1 && strings.EqualFold(p.Segments[0], "displayName") {
				return prefixRange(groupOrders["displayname"], x, lit.Text)
			}
		}
		return nil
	},
	visible: func(sc *scope.Scope, g *licensing.Group) bool { return sc.Group(g.ID) },
	search: map[string]func(g *licensing.Group) string{
		"displayname":  func(g *licensing.Group) string { return g.DisplayName },
		"description":  func(g *licensing.Group) string { return g.Description },
		"mailnickname": func(g *licensing.Group) string { return g.MailNickname },
	},
}

var groupOrders = map[string]orderDef[licensing.Group]{
	"": {name: "id", set: (*directory.Index).GroupsByID},
	"displayname": {name: "displayName", set: (*directory.Index).GroupsByName,
		key: func(g *licensing.Group) string { return strings.ToLower(g.DisplayName) }},
}

// listGroups answers GET /groups, with $expand=members as on one group
// (each group's first maxExpanded members).
func (h *handler) listGroups(w http.ResponseWriter, r *http.Request, c *call) {
	ex, err := groupExpand(c.q.Expand)
	if err != nil {
		fail(w, r, err)
		return
	}
	if ex == nil {
		writeList(w, r, c, groupCollection)
		return
	}
	usel, gsel, err := relSelection(ex.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeListExpanded(w, r, c, groupCollection, func(b []byte, v view, id string) []byte {
		return appendExpandedMembers(b, v.State, v.sc, id, usel, gsel)
	})
}

func writeGroup(w http.ResponseWriter, r *http.Request, c *call, id string, status int) {
	var sel []string
	if c.q != nil {
		sel = c.q.Select
	}
	idx, err := groupResource.selection(sel)
	if err != nil {
		fail(w, r, err)
		return
	}
	var expand *odata.Expand
	var usel, gsel []int
	if c.q != nil {
		if expand, err = groupExpand(c.q.Expand); err != nil {
			fail(w, r, err)
			return
		}
		if expand != nil {
			if usel, gsel, err = relSelection(expand.Select); err != nil {
				fail(w, r, err)
				return
			}
		}
	}
	writeFound(w, r, c, id, status, func(s *tenant.State, b []byte) ([]byte, bool) {
		g, ok := s.Engine.Group(id)
		sc := c.scope(s)
		if !ok || !sc.Group(id) {
			return b, false
		}
		b = appendEntity(b, r, groupResource, view{s, sc}, &g, idx, "groups"+selectSuffix(sel)+"/$entity")
		if expand != nil {
			b = appendExpandedMembers(b[:len(b)-1], s, sc, id, usel, gsel)
			b = append(b, '}')
		}
		return b, true
	})
}

func (h *handler) getGroup(w http.ResponseWriter, r *http.Request, c *call) {
	writeGroup(w, r, c, r.PathValue("id"), http.StatusOK)
}

// maxExpanded is how many objects Graph returns for an expanded
// relationship of a directory object ("$expand=members" lists up to 20).
const maxExpanded = 20

// groupExpand checks a group's $expand: members (with an optional
// $select) is the one relationship allot expands; nil when absent.
func groupExpand(ex []odata.Expand) (*odata.Expand, error) {
	switch {
	case len(ex) == 0:
		return nil, nil
	case len(ex) > 1:
		return nil, &odata.Error{Code: "Request_BadRequest", Msg: "Only one relationship can be expanded in a request on directory objects."}
	case !strings.EqualFold(ex[0].Property, "members"):
		return nil, &odata.Error{Code: "BadRequest", Msg: "Could not find a navigation property named '" + ex[0].Property + "' on type 'microsoft.graph.group'; allot expands members only."}
	}
	return &ex[0], nil
}

// appendExpandedMembers appends ,"members":[…]: the first maxExpanded
// direct members (by id) the scope sees, as /members lists them.
func appendExpandedMembers(b []byte, s *tenant.State, sc *scope.Scope, groupID string, usel, gsel []int) []byte {
	b = append(b, `,"members":[`...)
	visible := relVisible(s, sc, anyObject)
	n := 0
	directory.Of(s).ScanMembers(groupID, "", func(id string) bool {
		if !visible(id) {
			return true
		}
		var ok bool
		if b, ok = appendDirectoryObject(b, view{s, sc}, id, n > 0, usel, gsel); ok {
			n++
		}
		return n < maxExpanded
	})
	return append(b, ']')
}

// maxLinkChanges is Graph's limit on members@odata.bind (and owners) per
// request.
const maxLinkChanges = 20

var groupReadOnly = map[string]bool{"id": true, "createddatetime": true, "assignedlicenses": true,
	"licenseprocessingstate": true, "mail": true, "haslicenseerrors": true}

// applyGroup applies a create or update body to g and returns the member
// ids of members@odata.bind.
func applyGroup(g *licensing.Group, body map[string]json.RawMessage, names map[string]string) ([]string, error) {
	var binds []string
	links := 0
	for k, v := range body {
		name := names[k]
		var err error
		switch k {
		case "displayname", "description", "mailnickname", "membershiprule", "membershipruleprocessingstate", "assignmentmode":
			err = setGroupString(g, k, v)
		case "mailenabled", "securityenabled":
			err = setGroupBool(g, k, v)
		case "grouptypes":
			err = setGroupTypes(g, v)
		case "members@odata.bind", "owners@odata.bind":
			var n int
			n, binds, err = groupBinds(k, v, binds)
			links += n
		case "visibility", "classification", "isassignabletorole", "resourcebehavioroptions", "resourceprovisioningoptions":
			// Accepted for compatibility with scripts that create Microsoft
			// 365 groups; allot does not keep them.
		default:
			if groupReadOnly[k] {
				return nil, readOnly(name)
			}
			return nil, noSuchProperty(name)
		}
		if err == errInvalidValue {
			return nil, invalidValue(name, "Group")
		}
		if err != nil {
			return nil, err
		}
	}
	if links > maxLinkChanges {
		return nil, badRequest("A resource cannot contain more than %d link changes", maxLinkChanges)
	}
	if g.IsDynamic() && g.MembershipRuleProcessingState == "" {
		g.MembershipRuleProcessingState = "On"
	}
	return binds, nil
}

// errInvalidValue is a property value of the wrong type or outside its
// values; applyGroup answers it with Graph's message naming the property.
var errInvalidValue = errors.New("invalid value")

// setGroupString sets one of a group's string properties (k lower case).
func setGroupString(g *licensing.Group, k string, v json.RawMessage) error {
	s, ok := decodeStr(v)
	if !ok {
		return errInvalidValue
	}
	switch k {
	case "displayname":
		g.DisplayName = s
	case "description":
		g.Description = s
	case "mailnickname":
		g.MailNickname = s
	case "membershiprule":
		g.MembershipRule = s
	case "membershipruleprocessingstate":
		if s != "" && s != "On" && s != "Paused" {
			return errInvalidValue
		}
		g.MembershipRuleProcessingState = s
	case "assignmentmode":
		g.AssignmentMode = s
	}
	return nil
}

// setGroupBool sets mailEnabled or securityEnabled (null is refused).
func setGroupBool(g *licensing.Group, k string, v json.RawMessage) error {
	var b bool
	if err := json.Unmarshal(v, &b); err != nil || string(v) == "null" {
		return errInvalidValue
	}
	if k == "mailenabled" {
		g.MailEnabled = b
	} else {
		g.SecurityEnabled = b
	}
	return nil
}

// setGroupTypes sets groupTypes: DynamicMembership and Unified only.
func setGroupTypes(g *licensing.Group, v json.RawMessage) error {
	ss, ok := decodeStrs(v)
	if !ok {
		return errInvalidValue
	}
	for _, t := range ss {
		if !strings.EqualFold(t, "DynamicMembership") && !strings.EqualFold(t, "Unified") {
			return errInvalidValue
		}
	}
	g.GroupTypes = ss
	return nil
}

// groupBinds reads members@odata.bind (appending the member ids to binds,
// each once) or owners@odata.bind (accepted for compatibility; allot does
// not keep group owners), and returns how many links the property changes.
func groupBinds(k string, v json.RawMessage, binds []string) (int, []string, error) {
	ss, ok := decodeStrs(v)
	if !ok {
		return 0, binds, errInvalidValue
	}
	if k != "members@odata.bind" {
		return len(ss), binds, nil
	}
	for _, ref := range ss {
		id, ok := referencedID(ref)
		if !ok {
			return 0, binds, badRequest("Invalid object identifier '%s'.", ref)
		}
		if contains(binds, id) {
			return 0, binds, badRequest("One or more added object references already exist for the following modified properties: 'members'.")
		}
		binds = append(binds, id)
	}
	return len(ss), binds, nil
}

// dynamicRefused is what Graph answers when members are added to or removed
// from a group whose membership follows a rule: 403 Authorization_RequestDenied
// "Insufficient privileges to complete the operation." (Microsoft's support
// article "Authorization_RequestDenied (403) error when adding a user to a
// group": "You cannot use Microsoft Graph to manage Dynamic group
// membership"). The engine refuses the same change with a 400 of its own
// for surfaces that are not Graph.
func dynamicRefused(w http.ResponseWriter, r *http.Request) { respond.Denied(w, r) }

var errDynamic = &dynamicError{}

type dynamicError struct{}

func (*dynamicError) Error() string { return "members of a dynamic group are managed by its rule" }

func (h *handler) createGroup(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	for _, p := range []string{"displayName", "mailEnabled", "mailNickname", "securityEnabled"} {
		v, ok := body[strings.ToLower(p)]
		if !ok || string(v) == "null" || string(v) == `""` {
			fail(w, r, required(p))
			return
		}
	}
	now := h.s.RT.Now()
	g := licensing.Group{ID: auth.NewID(), CreatedAt: now}
	binds, err := applyGroup(&g, body, names)
	if err != nil {
		fail(w, r, err)
		return
	}
	if g.IsDynamic() && g.MembershipRule == "" {
		fail(w, r, required("membershipRule"))
		return
	}
	if g.IsDynamic() && len(binds) > 0 {
		dynamicRefused(w, r)
		return
	}
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor(), Now: now}, func(tx *tenant.Tx) error {
		if err := checkMembers(tx.State, binds); err != nil {
			return err
		}
		if err := identity.PutGroup(tx, g); err != nil {
			return err
		}
		if len(binds) > 0 {
			return tx.Engine.AddMembers(tx.Op, g.ID, binds)
		}
		return nil
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Location", baseURL(r)+"/v1.0/groups/"+g.ID)
	c.q = nil
	writeGroup(w, r, c, g.ID, http.StatusCreated)
}

// checkMembers makes an all-or-nothing command refuse before it changes
// anything when a member to add does not exist.
func checkMembers(s *tenant.State, ids []string) error {
	for _, id := range ids {
		if _, ok := s.Engine.User(id); !ok && !s.Engine.IsGroup(id) {
			return notFound(id)
		}
	}
	return nil
}

func (h *handler) updateGroup(w http.ResponseWriter, r *http.Request, c *call) {
	body, names, err := decodeObject(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		g, ok := tx.Engine.Group(id)
		if !ok {
			return notFound(id)
		}
		if err := m365.CheckPatch(tx.State, "group", id, names); err != nil {
			return err
		}
		g.GroupTypes = append([]string(nil), g.GroupTypes...)
		binds, err := applyGroup(&g, body, names)
		if err != nil {
			return err
		}
		if g.IsDynamic() && g.MembershipRule == "" {
			return required("membershipRule")
		}
		if len(binds) > 0 && g.IsDynamic() {
			return errDynamic
		}
		// All or nothing: refuse before anything changes. Members are added
		// first (the engine validates them all before changing), and the
		// group's properties are checked beforehand so that PutGroup cannot
		// fail after members were added.
		if err := validGroup(tx.State, g); err != nil {
			return err
		}
		if len(binds) > 0 {
			if err := checkMembers(tx.State, binds); err != nil {
				return err
			}
			if err := checkNewMembers(tx.State, id, binds); err != nil {
				return err
			}
			if err := tx.Engine.AddMembers(tx.Op, id, binds); err != nil {
				return err
			}
		}
		return identity.PutGroup(tx, g)
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

// validGroup checks what PutGroup would refuse (the engine's own check,
// so the two cannot differ), so that a command can refuse before its first
// change.
func validGroup(s *tenant.State, g licensing.Group) error {
	if strings.TrimSpace(g.DisplayName) == "" {
		return invalidValue("displayName", "Group")
	}
	return s.Engine.ValidateGroup(g)
}

// checkNewMembers refuses (before any change) members that are already in
// the group, with Graph's message.
func checkNewMembers(s *tenant.State, groupID string, ids []string) error {
	users, groups := s.Engine.Members(groupID)
	for _, id := range ids {
		if containsSorted(users, id) || containsSorted(groups, id) {
			return badRequest("One or more added object references already exist for the following modified properties: 'members'.")
		}
	}
	return nil
}

func containsSorted(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (h *handler) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	err := c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		return deleteditems.DeleteGroup(tx, id)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// referencedID extracts the object id from an @odata.id or @odata.bind
// value: any base URL followed by /directoryObjects/{id}, /users/{id} or
// /groups/{id} (also the ('{id}') form), or a bare id.
func referencedID(ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", false
	}
	if i := strings.IndexByte(ref, '?'); i >= 0 {
		ref = ref[:i]
	}
	ref = strings.TrimRight(ref, "/")
	segs := strings.Split(ref, "/")
	last := segs[len(segs)-1]
	for _, coll := range []string{"directoryObjects", "users", "groups"} {
		if strings.HasPrefix(last, coll+"(") && strings.HasSuffix(last, ")") {
			id := strings.Trim(last[len(coll)+1:len(last)-1], "'")
			return id, id != ""
		}
	}
	if len(segs) == 1 {
		return last, !strings.ContainsAny(last, " :")
	}
	prev := segs[len(segs)-2]
	switch prev {
	case "directoryObjects", "users", "groups":
		return last, last != ""
	}
	return "", false
}
