package scim

import (
	"slices"
	"strings"
	"time"

	"allot/licensing"
	"allot/scimmeta"
	"allot/tenant"
)

// groupView renders a group lazily (see userView). Members are users and
// groups; the member's display is its displayName (a user without one
// shows its userName).
type groupView struct {
	s    *tenant.State
	g    *licensing.Group
	base string
	meta *scimmeta.Store
}

var groupKeys = []string{"id", "externalId", "displayName", "members"}

func (v *groupView) get(key string) any {
	switch key {
	case "id":
		return v.g.ID
	case "externalId":
		return v.meta.Get(scimmeta.GroupKind, v.g.ID).ExternalID
	case "displayName":
		return v.g.DisplayName
	case "members":
		return v.members()
	case "meta":
		return v.metaValue("")
	}
	return nil
}

func (v *groupView) members() any {
	e := v.s.Engine
	users, groups := e.Members(v.g.ID)
	if len(users)+len(groups) == 0 {
		return nil
	}
	out := make([]any, 0, len(users)+len(groups))
	for _, id := range users {
		u, _ := e.User(id)
		name := u.DisplayName
		if name == "" {
			name = userName(&u)
		}
		out = append(out, map[string]any{"value": id, "$ref": v.base + "/Users/" + id, "display": name, "type": "User"})
	}
	for _, id := range groups {
		g, _ := e.Group(id)
		out = append(out, map[string]any{"value": id, "$ref": v.base + "/Groups/" + id, "display": g.DisplayName, "type": "Group"})
	}
	return out
}

func (v *groupView) metaValue(version string) map[string]any {
	m := map[string]any{"resourceType": "Group", "created": v.g.CreatedAt.UTC().Format(time.RFC3339Nano),
		"lastModified": v.meta.LastModified(scimmeta.GroupKind, v.g.ID, v.g.CreatedAt).UTC().Format(time.RFC3339Nano),
		"location":     v.base + "/Groups/" + v.g.ID}
	if version != "" {
		m["version"] = version
	}
	return m
}

// doc renders the group without meta; withMembers false leaves members
// out (excludedAttributes=members: large groups are not rendered for
// nothing).
func (v *groupView) doc(withMembers bool) doc {
	d := doc{"schemas": []any{schemaGroup}}
	for _, k := range groupKeys {
		if k == "members" && !withMembers {
			continue
		}
		if x := v.get(k); present(x) {
			d[k] = x
		}
	}
	return d
}

// groupSpec is what a SCIM group representation asks for.
type groupSpec struct {
	group      licensing.Group
	externalID string
	members    []string // member ids, sorted, unique
}

// groupFromDoc reads a group representation over base (the existing
// group, or a new one): displayName, externalId and members. Everything
// else of base is kept; a new group is a security group (so that it can
// carry licenses).
func groupFromDoc(d doc, base licensing.Group) (groupSpec, error) {
	g := base
	g.DisplayName = docString(d, "", "displayName", "")
	if g.DisplayName == "" {
		return groupSpec{}, badRequest(typeInvalidValue, "displayName is required.")
	}
	spec := groupSpec{group: g, externalID: docString(d, "", "externalId", "")}
	arr, _ := d["members"].([]any)
	for _, x := range arr {
		m, _ := x.(map[string]any)
		if id, _ := m["value"].(string); strings.TrimSpace(id) != "" {
			spec.members = append(spec.members, strings.TrimSpace(id))
		}
	}
	slices.Sort(spec.members)
	spec.members = slices.Compact(spec.members)
	return spec, nil
}

// memberDiff returns the members to add and to remove so that a group's
// direct members become want (sorted, unique).
func memberDiff(e *licensing.Engine, groupID string, want []string) (add, rm []string) {
	users, groups := e.Members(groupID)
	have := append(users, groups...)
	slices.Sort(have)
	for _, id := range want {
		if _, found := slices.BinarySearch(have, id); !found {
			add = append(add, id)
		}
	}
	for _, id := range have {
		if _, found := slices.BinarySearch(want, id); !found {
			rm = append(rm, id)
		}
	}
	return add, rm
}

// checkMembers validates a membership change before anything changes, so
// that a refused request changes nothing: members to add must be users or
// groups of the tenant (400 invalidValue), a group may not contain itself
// (400 invalidValue), and the members of a dynamic group follow its rule
// (400 mutability).
func checkMembers(e *licensing.Engine, g *licensing.Group, exists bool, add, rm []string) error {
	if len(add)+len(rm) == 0 {
		return nil
	}
	if g.IsDynamic() {
		return badRequest(typeMutability, "The members of %s follow its membership rule and cannot be changed.", g.DisplayName)
	}
	var ancestors []string
	for _, id := range add {
		if _, ok := e.User(id); ok {
			continue
		}
		if !e.IsGroup(id) {
			return badRequest(typeInvalidValue, "Member %s is neither a user nor a group of this tenant.", id)
		}
		if ancestors == nil && exists {
			ancestors = append(e.TransitiveGroupsOf(g.ID), g.ID)
		}
		if id == g.ID || slices.Contains(ancestors, id) {
			return badRequest(typeInvalidValue, "Group %s cannot be a member of %s: groups may not contain themselves, directly or through other groups.", id, g.DisplayName)
		}
	}
	return nil
}

// applyMembers changes a group's members (validated by checkMembers).
func applyMembers(tx *tenant.Tx, groupID string, add, rm []string) error {
	if len(rm) > 0 {
		if err := tx.Engine.RemoveMembers(tx.Op, groupID, rm); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		return tx.Engine.AddMembers(tx.Op, groupID, add)
	}
	return nil
}

// memberChange is a PATCH operation that only adds or removes members by
// id; such operations are applied without rendering the group (see
// memberChanges).
type memberChange struct {
	add bool
	ids []string
}

// memberChanges recognises PATCH operations that only add members
// ("add" to members with a value list), remove listed members ("remove"
// members with a value list, Entra) or remove one member by filter
// ("remove" members[value eq "id"], Okta and Entra). ok false: some
// operation needs the general path.
func memberChanges(ops []patchOp) ([]memberChange, bool) {
	out := make([]memberChange, 0, len(ops))
	for _, o := range ops {
		if o.path == nil || o.path.sub != "" || o.path.attr.Sub != "" || !strings.EqualFold(o.path.attr.Name, "members") ||
			(o.path.attr.URN != "" && !strings.EqualFold(o.path.attr.URN, schemaGroup)) {
			return nil, false
		}
		members := find(groupSchema.Attributes, "members")
		switch {
		case o.op == opAdd && o.path.filter == nil, o.op == opRemove && o.path.filter == nil && o.value != nil:
			v, err := coerce(members, o.value)
			if err != nil {
				return nil, false
			}
			arr, _ := v.([]any)
			c := memberChange{add: o.op == opAdd}
			for _, x := range arr {
				m, _ := x.(map[string]any)
				id, _ := m["value"].(string)
				if id = strings.TrimSpace(id); id == "" {
					return nil, false
				}
				c.ids = append(c.ids, id)
			}
			out = append(out, c)
		case o.op == opRemove && o.path.filter != nil:
			seed := seedOf(members, o.path.filter)
			id, _ := seed["value"].(string)
			if len(seed) != 1 || id == "" {
				return nil, false
			}
			out = append(out, memberChange{ids: []string{id}})
		default:
			return nil, false
		}
	}
	return out, true
}

// netMembers folds member changes into the members to add and remove.
func netMembers(e *licensing.Engine, groupID string, cs []memberChange) (add, rm []string) {
	initial := map[string]bool{}
	final := map[string]bool{}
	var order []string
	for _, c := range cs {
		for _, id := range c.ids {
			if _, seen := initial[id]; !seen {
				initial[id] = slices.Contains(e.GroupsOf(id), groupID)
				order = append(order, id)
			}
			final[id] = c.add
		}
	}
	for _, id := range order {
		switch {
		case final[id] && !initial[id]:
			add = append(add, id)
		case !final[id] && initial[id]:
			rm = append(rm, id)
		}
	}
	return add, rm
}
