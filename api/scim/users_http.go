package scim

import (
	"net/http"
	"reflect"
	"slices"

	"allot/deleteditems"
	"allot/identity"
	"allot/licensing"
	"allot/scimmeta"
	"allot/tenant"
)

// renderUser returns a user's representation (projected) and its
// version.
func renderUser(s *tenant.State, u *licensing.User, base string, proj projection) (doc, string) {
	v := &userView{s: s, u: u, base: base, meta: scimmeta.Of(s)}
	d := v.doc()
	ver := userVersion(d)
	d["meta"] = v.metaValue(etag(ver))
	return proj.apply(d), ver
}

// listUsers answers a page of the users a query matches. Users come in
// the engine's order (creation order, until deletions move the last user
// into the gap), or by id when the filter is answered from an index.
func listUsers(c *call, q *query) {
	writeList(c, q, func(s *tenant.State, resp *listResponse) {
		e := s.Engine
		pg := &page{q: q}
		view := &userView{s: s, base: c.base, meta: scimmeta.Of(s)}
		if ids, ok := candidates(s, userType, q.filter); ok {
			slices.Sort(ids)
			for _, id := range ids {
				u, ok := e.User(id)
				if view.u = &u; ok && q.pred(view.get) {
					pg.offer(id)
				}
			}
		} else {
			e.ForEachUser(func(u *licensing.User) bool {
				if view.u = u; q.pred == nil || q.pred(view.get) {
					pg.offer(u.ID)
				}
				// Without a filter the total is known: stop once the page is full.
				return q.pred != nil || len(pg.items) < q.count
			})
			if q.pred == nil {
				pg.seen = e.UserCount()
			}
		}
		resp.TotalResults = pg.seen
		for _, id := range pg.items {
			u, _ := e.User(id)
			d, _ := renderUser(s, &u, c.base, q.proj)
			resp.Resources = append(resp.Resources, d)
		}
	})
}

// respondUser answers a write with the user as now committed.
func respondUser(c *call, id string, status int) {
	proj, err := parseProjection(userType, c.r.URL.Query())
	if err != nil {
		c.fail(err)
		return
	}
	var d doc
	var ver string
	c.t.Read(func(s *tenant.State) {
		if u, ok := s.Engine.User(id); ok {
			d, ver = renderUser(s, &u, c.base, proj)
		}
	})
	if d == nil { // deleted by a request that came right after
		c.w.WriteHeader(status)
		return
	}
	c.w.Header().Set("ETag", etag(ver))
	if status == http.StatusNoContent {
		c.w.WriteHeader(status)
		return
	}
	if status == http.StatusCreated {
		c.w.Header().Set("Location", c.base+"/Users/"+id)
	}
	writeJSON(c.w, status, d)
}

func (h *handler) createUser(c *call) {
	createResource(c, userType, func(d doc, id string) (func(tx *tenant.Tx) error, error) {
		u, err := userFromDoc(d, licensing.User{ID: id, AccountEnabled: true})
		if err != nil {
			return nil, err
		}
		return func(tx *tenant.Tx) error {
			if err := identity.PutUser(tx, qualify(tx.State, u)); err != nil {
				return err
			}
			return scimmeta.Of(tx.State).Put(tx, scimmeta.UserKind, id, scimmeta.Meta{LastModified: tx.Op.Now})
		}, nil
	}, func(id string) { respondUser(c, id, http.StatusCreated) })
}

// updateUser runs a change of an existing user as one command: it checks
// If-Match against the user as the writer sees it, lets change derive the
// new doc from the current one, and writes the user when it differs.
func updateUser(c *call, patch bool, change func(cur doc) (doc, error)) {
	id := c.r.PathValue("id")
	ifMatch := c.r.Header.Get("If-Match")
	err := c.t.Do(c.r.Context(), c.op(), func(tx *tenant.Tx) error {
		cur, ok := tx.Engine.User(id)
		if !ok {
			return notFound("User", id)
		}
		v := &userView{s: tx.State, u: &cur, base: c.base, meta: scimmeta.Of(tx.State)}
		d := v.doc()
		if ifMatch != "" && !etagMatches(ifMatch, userVersion(d)) {
			return errPrecondition()
		}
		next, err := change(d)
		if err != nil {
			return err
		}
		u, err := userFromDoc(next, cur)
		if err != nil {
			return err
		}
		u = qualify(tx.State, u)
		if reflect.DeepEqual(u, cur) {
			return nil
		}
		if err := identity.PutUser(tx, qualify(tx.State, u)); err != nil {
			return err
		}
		m := scimmeta.Of(tx.State)
		return m.Put(tx, scimmeta.UserKind, id, scimmeta.Meta{LastModified: tx.Op.Now})
	})
	if err != nil {
		c.fail(err)
		return
	}
	if patch && !patchWantsBody(c.r, true) {
		respondUser(c, id, http.StatusNoContent)
		return
	}
	respondUser(c, id, http.StatusOK)
}

func errPrecondition() error {
	return errf(http.StatusPreconditionFailed, "", "The resource has changed since the version in If-Match.")
}

func (h *handler) replaceUser(c *call) {
	body, ok := readBody(c)
	if !ok {
		return
	}
	updateUser(c, false, func(doc) (doc, error) {
		d := doc{}
		return d, applyObject(userType, d, opReplace, body)
	})
}

func (h *handler) patchUser(c *call) {
	ops, ok := readPatch(c)
	if !ok {
		return
	}
	updateUser(c, true, func(d doc) (doc, error) { return d, applyPatch(userType, d, ops) })
}

func (h *handler) deleteUser(c *call) {
	deleteResource(c, deletion{rt: userType, kind: scimmeta.UserKind,
		exists: func(tx *tenant.Tx, id string) bool { _, ok := tx.Engine.User(id); return ok },
		version: func(tx *tenant.Tx, id string) string {
			cur, _ := tx.Engine.User(id)
			v := &userView{s: tx.State, u: &cur, base: c.base, meta: scimmeta.Of(tx.State)}
			return userVersion(v.doc())
		},
		remove: deleteditems.DeleteUser})
}
