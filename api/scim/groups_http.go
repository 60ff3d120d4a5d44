package scim

import (
	"net/http"

	"allot/deleteditems"
	"allot/directory"
	"allot/identity"
	"allot/licensing"
	"allot/scimmeta"
	"allot/tenant"
)

// renderGroup returns a group's representation (projected) and its
// version, from the readers' copy (versions come from the cache).
func renderGroup(s *tenant.State, g *licensing.Group, base string, proj projection) (doc, string) {
	v := &groupView{s: s, g: g, base: base, meta: scimmeta.Of(s)}
	d := v.doc(proj.wants("members"))
	ver := scimmeta.CachedGroupVersion(s, g)
	d["meta"] = v.metaValue(etag(ver))
	return proj.apply(d), ver
}

// listGroups answers a page of the groups a query matches, by id. The
// directory read model's planner takes the page (directory.Index.List):
// an "id", "externalId" filter term is a point lookup, anything else a
// walk of the groups in id order. A filter that does not read members is
// evaluated without rendering them.
func listGroups(c *call, q *query) {
	writeList(c, q, func(s *tenant.State, resp *listResponse) {
		e := s.Engine
		x := directory.Of(s)
		view := &groupView{s: s, base: c.base, meta: scimmeta.Of(s)}
		dq := directory.Query{
			Order: directory.Order{Name: "id", Set: x.GroupsByID(), KeyOf: func(id string) directory.Key { return directory.Key{K: id} }},
			Limit: max(1, offsetLimit(q)),
		}
		if ids, ok := candidates(s, groupType, q.filter); ok {
			dq.Ranges = []directory.Range{{IDs: append([]string{}, ids...)}}
		}
		if q.pred != nil {
			dq.Match = func(id string) bool {
				g, ok := e.Group(id)
				view.g = &g
				return ok && q.pred(view.get)
			}
		}
		pg := x.List(dq, true)
		resp.TotalResults = pg.Total
		for _, k := range offsetPage(q, pg.Keys) {
			g, _ := e.Group(directory.IDOf(k))
			d, _ := renderGroup(s, &g, c.base, q.proj)
			resp.Resources = append(resp.Resources, d)
		}
	})
}

// respondGroup answers a write with the group as now committed; with
// withBody false only its ETag (204).
func respondGroup(c *call, id string, status int, withBody bool) {
	proj, err := parseProjection(groupType, c.r.URL.Query())
	if err != nil {
		c.fail(err)
		return
	}
	var d doc
	var ver string
	c.t.Read(func(s *tenant.State) {
		g, ok := s.Engine.Group(id)
		switch {
		case !ok:
		case withBody:
			d, ver = renderGroup(s, &g, c.base, proj)
		default:
			ver = scimmeta.CachedGroupVersion(s, &g)
		}
	})
	if ver != "" {
		c.w.Header().Set("ETag", etag(ver))
	}
	if status == http.StatusCreated {
		c.w.Header().Set("Location", c.base+"/Groups/"+id)
	}
	if d == nil {
		c.w.WriteHeader(status)
		return
	}
	writeJSON(c.w, status, d)
}

func (h *handler) createGroup(c *call) {
	createResource(c, groupType, func(d doc, id string) (func(tx *tenant.Tx) error, error) {
		spec, err := groupFromDoc(d, licensing.Group{ID: id, SecurityEnabled: true})
		if err != nil {
			return nil, err
		}
		return func(tx *tenant.Tx) error {
			if err := checkMembers(tx.Engine, &spec.group, false, spec.members, nil); err != nil {
				return err
			}
			if err := identity.PutGroup(tx, spec.group); err != nil {
				return err
			}
			if err := applyMembers(tx, id, spec.members, nil); err != nil {
				return err
			}
			return scimmeta.Of(tx.State).Put(tx, scimmeta.GroupKind, id, scimmeta.Meta{ExternalID: spec.externalID, LastModified: tx.Op.Now})
		}, nil
	}, func(id string) { respondGroup(c, id, http.StatusCreated, true) })
}

// updateGroup runs a change of an existing group as one command. change
// returns the group's new spec from its current state (group and
// externalId) and the members to add and remove; it runs on both copies
// of the tenant, so it must be deterministic. If-Match is checked against
// the group as the writer sees it.
func updateGroup(c *call, change func(tx *tenant.Tx, cur *licensing.Group, m scimmeta.Meta) (groupSpec, []string, []string, error)) error {
	id := c.r.PathValue("id")
	ifMatch := c.r.Header.Get("If-Match")
	return c.t.Do(c.r.Context(), c.op(), func(tx *tenant.Tx) error {
		cur, ok := tx.Engine.Group(id)
		if !ok {
			return notFound("Group", id)
		}
		ms := scimmeta.Of(tx.State)
		m := ms.Get(scimmeta.GroupKind, id)
		if ifMatch != "" && !etagMatches(ifMatch, scimmeta.GroupVersion(tx.Engine, &cur, m.ExternalID)) {
			return errPrecondition()
		}
		spec, add, rm, err := change(tx, &cur, m)
		if err != nil {
			return err
		}
		if err := checkMembers(tx.Engine, &spec.group, true, add, rm); err != nil {
			return err
		}
		changed := len(add)+len(rm) > 0
		if spec.group.DisplayName != cur.DisplayName || spec.externalID != m.ExternalID {
			// PutGroup also when only externalId changed: the committed
			// delta then names the group, which resets its cached version.
			if err := identity.PutGroup(tx, spec.group); err != nil {
				return err
			}
			changed = true
		}
		if err := applyMembers(tx, id, add, rm); err != nil {
			return err
		}
		if !changed {
			return nil
		}
		return ms.Put(tx, scimmeta.GroupKind, id, scimmeta.Meta{ExternalID: spec.externalID, LastModified: tx.Op.Now})
	})
}

// specFromDoc is the group d now represents and the members to add and
// remove to reach its members; err is the error of making d (returned as
// it is).
func specFromDoc(tx *tenant.Tx, cur *licensing.Group, d doc, err error) (groupSpec, []string, []string, error) {
	if err != nil {
		return groupSpec{}, nil, nil, err
	}
	spec, err := groupFromDoc(d, *cur)
	if err != nil {
		return groupSpec{}, nil, nil, err
	}
	add, rm := memberDiff(tx.Engine, cur.ID, spec.members)
	return spec, add, rm, nil
}

func (h *handler) replaceGroup(c *call) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	err := updateGroup(c, func(tx *tenant.Tx, cur *licensing.Group, _ scimmeta.Meta) (groupSpec, []string, []string, error) {
		d := doc{}
		return specFromDoc(tx, cur, d, applyObject(groupType, d, opReplace, body))
	})
	if err != nil {
		c.fail(err)
		return
	}
	respondGroup(c, c.r.PathValue("id"), http.StatusOK, true)
}

// patchGroup applies a PatchOp. Operations that only add or remove
// members by id (what Entra and Okta send for membership) are applied
// without rendering the group; anything else goes through the group's
// representation. It answers 204 with the ETag, or 200 with the group
// when the request asks for it (patchWantsBody).
func (h *handler) patchGroup(c *call) {
	ops, ok := readPatch(c)
	if !ok {
		return
	}
	changes, fast := memberChanges(ops)
	err := updateGroup(c, func(tx *tenant.Tx, cur *licensing.Group, m scimmeta.Meta) (groupSpec, []string, []string, error) {
		if fast {
			add, rm := netMembers(tx.Engine, cur.ID, changes)
			return groupSpec{group: *cur, externalID: m.ExternalID}, add, rm, nil
		}
		v := &groupView{s: tx.State, g: cur, base: c.base, meta: scimmeta.Of(tx.State)}
		d := v.doc(true)
		return specFromDoc(tx, cur, d, applyPatch(groupType, d, ops))
	})
	if err != nil {
		c.fail(err)
		return
	}
	withBody := patchWantsBody(c.r, false)
	status := http.StatusNoContent
	if withBody {
		status = http.StatusOK
	}
	respondGroup(c, c.r.PathValue("id"), status, withBody)
}

// deleteGroup deletes a group. One that still has licenses is refused
// (400 mutability, the engine's message): remove its licenses first.
func (h *handler) deleteGroup(c *call) {
	deleteResource(c, deletion{rt: groupType, kind: scimmeta.GroupKind,
		exists: func(tx *tenant.Tx, id string) bool { _, ok := tx.Engine.Group(id); return ok },
		version: func(tx *tenant.Tx, id string) string {
			cur, _ := tx.Engine.Group(id)
			return scimmeta.GroupVersion(tx.Engine, &cur, scimmeta.Of(tx.State).Get(scimmeta.GroupKind, id).ExternalID)
		},
		remove: func(tx *tenant.Tx, id string) error {
			if n := len(tx.Engine.GroupLicenses(id)); n > 0 {
				g, _ := tx.Engine.Group(id)
				return badRequest(typeMutability, "The group %s has %d license(s) assigned; remove the group's licenses before deleting it.", g.DisplayName, n)
			}
			return deleteditems.DeleteGroup(tx, id)
		}})
}
