package web

import (
	"net/http"
	"slices"
	"strings"

	"allot"
	"allot/api/scope"
	"allot/auth"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

// The group forms (Groups and User Administrators, as Graph's POST and
// PATCH /v1.0/groups and its members): create a static or dynamic group,
// change a group's name, description and mail nickname, and add or remove
// members of a static group (delegated allotment owners too, in the groups
// their allotments license: api/scope). Groups are written through identity.PutGroup
// (the engine checks the rule) and members through Engine.AddMembers and
// RemoveMembers, which refuse members of a dynamic group.

var groupFormFields = []string{"displayName", "mailNickname", "description", "membership", "membershipRule"}

type groupFormData struct {
	F     *formState
	Group *licensing.Group // nil: a new group
}

func (h *handler) renderGroupForm(w http.ResponseWriter, r *http.Request, v *viewer, status int, d groupFormData) {
	name := ""
	if d.Group != nil {
		name = d.Group.DisplayName
	}
	h.render(w, r, v, status, "groupform", pageData{Title: formTitle("group", name, d.Group != nil), Nav: "groups", Data: d})
}

func (h *handler) newGroupPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.renderGroupForm(w, r, v, http.StatusOK, groupFormData{F: &formState{Values: map[string]string{"membership": "static"}}})
}

// createGroup creates a security group: static, or dynamic with its rule
// (processing On). displayName and mailNickname are required, as Graph
// requires them.
func (h *handler) createGroup(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := formOf(r, groupFormFields...)
	now := h.now()
	g := licensing.Group{ID: auth.NewID(), CreatedAt: now, DisplayName: f.V("displayName"), MailNickname: f.V("mailNickname"),
		Description: f.V("description"), SecurityEnabled: true}
	dynamic := f.V("membership") == "dynamic"
	if dynamic {
		g.GroupTypes = []string{"DynamicMembership"}
		g.MembershipRule = f.V("membershipRule")
		g.MembershipRuleProcessingState = "On"
	}
	err := func() error {
		if err := f.requireFilled("displayName", "mailNickname"); err != nil {
			return err
		}
		if dynamic && strings.TrimSpace(g.MembershipRule) == "" {
			return required("membershipRule")
		}
		return v.T.Do(r.Context(), v.op(now, "admin center"), func(tx *tenant.Tx) error { return identity.PutGroup(tx, g) })
	}()
	if err != nil {
		h.renderGroupForm(w, r, v, f.refuse(err, groupFormFields...), groupFormData{F: f})
		return
	}
	h.done(w, r, "/admin/groups/"+g.ID, nil, "Group "+g.DisplayName+" created.")
}

func (h *handler) editGroupPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	var g licensing.Group
	found := false
	v.T.Read(func(s *tenant.State) { g, found = s.Engine.Group(r.PathValue("id")) })
	if !found {
		h.notFound(w, r, v)
		return
	}
	f := &formState{Values: map[string]string{"displayName": g.DisplayName, "mailNickname": g.MailNickname, "description": g.Description}}
	h.renderGroupForm(w, r, v, http.StatusOK, groupFormData{F: f, Group: &g})
}

// updateGroup saves a group's name, mail nickname and description (the
// rule has its own form on the group's page).
func (h *handler) updateGroup(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := formOf(r, groupFormFields...)
	id := r.PathValue("id")
	var shown licensing.Group
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		g, ok := tx.Engine.Group(id)
		if !ok {
			return notFoundErr("Group %s does not exist.", id)
		}
		shown = g
		if err := f.requireFilled("displayName"); err != nil {
			return err
		}
		g.GroupTypes = slices.Clone(g.GroupTypes)
		g.DisplayName, g.MailNickname, g.Description = f.V("displayName"), f.V("mailNickname"), f.V("description")
		return identity.PutGroup(tx, g)
	})
	if shown.ID == "" {
		h.notFound(w, r, v)
		return
	}
	if err != nil {
		h.renderGroupForm(w, r, v, f.refuse(err, groupFormFields...), groupFormData{F: f, Group: &shown})
		return
	}
	h.done(w, r, "/admin/groups/"+id, nil, "Group saved.")
}

// memberChange checks, inside a command, that the viewer may change the
// members of the group: 404 when it does not exist or is outside a
// delegated owner's scope, 403 when it is in scope but also carries
// licenses from outside the owner's allotments (api/scope
// MayChangeMembers, as Graph's members/$ref).
func memberChange(tx *tenant.Tx, v *viewer, id string) error {
	visible, allowed := scope.Of(v.P, tx.Engine).MayChangeMembers(tx.Engine, id)
	if !tx.Engine.IsGroup(id) || !visible {
		return notFoundErr("Group %s does not exist or is not visible to you.", id)
	}
	if !allowed {
		return scope.ErrForeignLicenses
	}
	return nil
}

// addGroupMember adds a user (by userPrincipalName or object id) or a
// group (by object id) to a static group. A delegated owner adds users
// only: by object id, or by userPrincipalName among the users it sees
// (api/scope FindUser, as Graph's members/$ref).
func (h *handler) addGroupMember(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.CanManageMembers() {
		h.deny(w, r, v)
		return
	}
	id := r.PathValue("id")
	ref := strings.TrimSpace(r.PostFormValue("member"))
	var name string
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		if err := memberChange(tx, v, id); err != nil {
			return err
		}
		e := tx.Engine
		mid := ""
		if sc := scope.Of(v.P, e); sc != nil {
			if u, ok := sc.FindUser(e, ref); ok {
				mid, name = u.ID, u.UserPrincipalName
			}
		} else if u, ok := findUser(e, ref); ok {
			mid, name = u.ID, u.UserPrincipalName
		} else if g, ok := e.Group(ref); ok {
			mid, name = g.ID, g.DisplayName
		}
		if mid == "" {
			return notFoundErr("No user or group %q: give a user name or an object id.", ref)
		}
		return e.AddMembers(tx.Op, id, []string{mid})
	})
	h.done(w, r, "/admin/groups/"+id, err, name+" added to the group.")
}

// removeGroupMember removes a member of a static group (the writers of
// groups; a delegated owner, of a group it may change).
func (h *handler) removeGroupMember(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.CanManageMembers() {
		h.deny(w, r, v)
		return
	}
	id := r.PathValue("id")
	member := r.PostFormValue("member")
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		if err := memberChange(tx, v, id); err != nil {
			return err
		}
		if member == "" {
			return allot.Errorf(allot.EINVALID, "Choose the member to remove.")
		}
		return tx.Engine.RemoveMembers(tx.Op, id, []string{member})
	})
	h.done(w, r, "/admin/groups/"+id, err, "Member removed from the group.")
}
