package graph

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"allot"
	"allot/api/odata"
	"allot/api/respond"
	"allot/auth"
	"allot/deleteditems"
	"allot/directory"
	"allot/licensing"
	"allot/tenant"
)

// Deleted items (Graph: directory resource type, "List deleted items",
// "Get deleted item", "Restore deleted item", "Permanently delete an
// item"). Package deleteditems keeps them; these handlers give them
// Graph's shapes: a deleted user or group is the user or group with its
// deletedDateTime.

// deleted is a deleted user or group with its deletedDateTime.
type deleted[T any] struct {
	x  T
	at time.Time
}

// adapt makes a resource over a wrapper type from the props of r, with
// extra props appended.
func adapt[T, W any](r *resource[T], get func(w *W) *T, extra ...prop[W]) *resource[W] {
	props := make([]prop[W], 0, len(r.props)+len(extra))
	for _, p := range r.props {
		app := p.app
		props = append(props, prop[W]{name: p.name, def: p.def, app: func(b []byte, s view, x *W) []byte { return app(b, s, get(x)) }})
	}
	return newResource(r.typeName, append(props, extra...))
}

// deletedResource is r with deletedDateTime.
func deletedResource[T any](r *resource[T]) *resource[deleted[T]] {
	return adapt(r, func(x *deleted[T]) *T { return &x.x },
		prop[deleted[T]]{name: "deletedDateTime", def: true, app: func(b []byte, _ view, x *deleted[T]) []byte { return appendTime(b, x.at) }})
}

var (
	deletedUserResource  = deletedResource(userResource)
	deletedGroupResource = deletedResource(groupResource)
)

// filterOf compiles $filter with the rules and messages of /users or
// /groups (nil: no filter).
func filterOf[T any](sc *schema[T], q *odata.Query) (pred[T], error) {
	if q.Filter == nil {
		return nil, nil
	}
	c := &compiler[T]{sc: sc, advanced: q.Eventual && q.Count}
	return c.compile(q.Filter)
}

func (h *handler) listDeletedUsers(w http.ResponseWriter, r *http.Request, c *call) {
	listDeleted(w, r, c, userSchema, deletedUserResource, "directory/deletedItems/microsoft.graph.user",
		func(s *tenant.State) ([]deleted[licensing.User], error) {
			us, err := deleteditems.Users(s)
			out := make([]deleted[licensing.User], len(us))
			for i := range us {
				out[i] = deleted[licensing.User]{us[i].User, us[i].DeletedAt}
			}
			return out, err
		}, func(u *licensing.User) string { return u.ID })
}

func (h *handler) listDeletedGroups(w http.ResponseWriter, r *http.Request, c *call) {
	listDeleted(w, r, c, groupSchema, deletedGroupResource, "directory/deletedItems/microsoft.graph.group",
		func(s *tenant.State) ([]deleted[licensing.Group], error) {
			gs, err := deleteditems.Groups(s)
			out := make([]deleted[licensing.Group], len(gs))
			for i := range gs {
				out[i] = deleted[licensing.Group]{gs[i].Group, gs[i].DeletedAt}
			}
			return out, err
		}, func(g *licensing.Group) string { return g.ID })
}

// listDeleted lists the deleted users or groups load finds that $filter
// (compiled with the rules and messages of /users or /groups) matches.
func listDeleted[T any](w http.ResponseWriter, r *http.Request, c *call, sc *schema[T], res *resource[deleted[T]], context string,
	load func(s *tenant.State) ([]deleted[T], error), id func(x *T) string) {
	match, err := filterOf(sc, c.q)
	if err != nil {
		fail(w, r, err)
		return
	}
	writeDeletedList(w, r, c, res, context, func(s *tenant.State) ([]deleted[T], error) {
		items, err := load(s)
		if match != nil {
			items = slices.DeleteFunc(items, func(x deleted[T]) bool { return !match(s, &x.x) })
		}
		return items, err
	}, func(x *deleted[T]) string { return id(&x.x) })
}

// writeDeletedList writes a page of deleted items, by id: $select, $top,
// $count (with ConsistencyLevel: eventual) and $skiptoken paging; load
// applies $filter. The
// deleted items of a tenant are few (30 days of deletions), so a page is
// cut from the whole sorted list.
func writeDeletedList[W any](w http.ResponseWriter, r *http.Request, c *call, res *resource[W], context string, load func(s *tenant.State) ([]W, error), id func(x *W) string) {
	sel, err := res.selection(c.q.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	after := ""
	if c.q.SkipToken != "" {
		cur, err := directory.ParseCursor(c.q.SkipToken)
		if err != nil {
			fail(w, r, skipTokenError)
			return
		}
		after = cur.ID
	}
	top := c.q.Top
	if top == 0 {
		top = defaultPage
	}
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	c.t.Read(func(s *tenant.State) {
		var items []W
		if items, err = load(s); err != nil {
			return
		}
		b = appendContext(b, r, context+selectSuffix(c.q.Select))
		if c.q.Count && c.q.Eventual {
			b = append(b, `,"@odata.count":`...)
			b = appendInt(b, len(items))
		}
		start := 0
		for start < len(items) && after != "" && id(&items[start]) <= after {
			start++
		}
		end := min(start+top, len(items))
		if end < len(items) {
			b = append(b, `,"@odata.nextLink":`...)
			b = appendStr(b, nextLink(r, directory.Cursor{ID: id(&items[end-1])}))
		}
		b = append(b, `,"value":[`...)
		for i := start; i < end; i++ {
			if i > start {
				b = append(b, ',')
			}
			b = res.appendObject(b, view{s, nil}, &items[i], sel, false) // not open to allotment owners: no scope
		}
		b = append(b, "]}"...)
	})
	*bp = b
	if err != nil {
		fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// appendTyped writes one entity with its @odata.context and @odata.type
// (a directoryObject, which may be a user or a group).
func appendTyped[T any](b []byte, r *http.Request, res *resource[T], s *tenant.State, x *T, sel []int) []byte {
	b = appendContext(b, r, "directoryObjects/$entity")
	b = append(b, `,"@odata.type":"#`...)
	b = append(b, res.typeName...)
	b = append(b, '"')
	if len(sel) > 0 {
		b = append(b, ',')
	}
	b = res.appendProps(b, view{s, nil}, x, sel) // not open to allotment owners: no scope
	return append(b, '}')
}

// appendDeleted writes one deleted item with $select.
func appendDeleted[T any](b []byte, r *http.Request, c *call, res *resource[deleted[T]], s *tenant.State, x deleted[T]) ([]byte, error) {
	sel, err := res.selection(c.q.Select)
	if err != nil {
		return b, err
	}
	return appendTyped(b, r, res, s, &x, sel), nil
}

func (h *handler) getDeletedItem(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	var err error
	found := false
	c.t.Read(func(s *tenant.State) {
		var it deleteditems.Item
		if it, found, err = deleteditems.Get(s, id); err != nil || !found {
			return
		}
		if it.User != nil {
			b, err = appendDeleted(b, r, c, deletedUserResource, s, deleted[licensing.User]{it.User.User, it.User.DeletedAt})
			return
		}
		b, err = appendDeleted(b, r, c, deletedGroupResource, s, deleted[licensing.Group]{it.Group.Group, it.Group.DeletedAt})
	})
	*bp = b
	switch {
	case err != nil:
		fail(w, r, err)
	case !found:
		fail(w, r, notFound(id))
	default:
		writeJSON(w, http.StatusOK, b)
	}
}

// restoreBody is the optional body of restore: newUserPrincipalName gives
// a restored user a new name when its own has been taken meanwhile;
// autoReconcileProxyConflict is accepted (allot keeps proxy addresses
// without a uniqueness rule, so there is never a proxy conflict to
// reconcile).
type restoreBody struct {
	NewUserPrincipalName       string `json:"newUserPrincipalName"`
	AutoReconcileProxyConflict bool   `json:"autoReconcileProxyConflict"`
}

// mayChange reports whether the principal may restore or purge the item:
// users need the user-writing roles, groups the group-writing ones.
func mayChange(c *call, it deleteditems.Item) bool {
	if it.User != nil {
		return c.allowed(auth.WriteUsers)
	}
	return c.allowed(auth.WriteGroups)
}

func (h *handler) restoreDeletedItem(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	// Graph's v1.0 reference once said "Do not supply a request body";
	// the current one accepts the optional properties of restoreBody.
	var body restoreBody
	if err := respond.Declared(r, respond.MaxBody); err != nil {
		fail(w, r, err)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, respond.MaxBody))
	if err != nil {
		fail(w, r, respond.ReadError(err, respond.MaxBody))
		return
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if err := respond.Decode(r, &body, 0, true); err != nil {
			fail(w, r, err)
			return
		}
	}
	denied := false
	var it deleteditems.Item
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		cur, ok, err := deleteditems.Get(tx.State, id)
		if err != nil || !ok {
			return err2(err, notFound(id))
		}
		if !mayChange(c, cur) {
			denied = true
			return errDenied
		}
		it, err = deleteditems.Restore(tx, id, strings.TrimSpace(body.NewUserPrincipalName))
		return err
	})
	if denied {
		respond.Denied(w, r)
		return
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	// Not found: changed again between the restore and this read.
	writeFound(w, r, c, id, http.StatusOK, func(s *tenant.State, b []byte) ([]byte, bool) {
		if it.User != nil {
			u, ok := s.Engine.User(id)
			if !ok {
				return b, false
			}
			return appendTyped(b, r, userResource, s, &u, userResource.defaults), true
		}
		g, ok := s.Engine.Group(id)
		if !ok {
			return b, false
		}
		return appendTyped(b, r, groupResource, s, &g, groupResource.defaults), true
	})
}

func (h *handler) purgeDeletedItem(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	denied := false
	err := c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		cur, ok, err := deleteditems.Get(tx.State, id)
		if err != nil || !ok {
			return err2(err, notFound(id))
		}
		if !mayChange(c, cur) {
			denied = true
			return errDenied
		}
		return deleteditems.Purge(tx, id)
	})
	if denied {
		respond.Denied(w, r)
		return
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// errDenied aborts a command whose caller lacks the role for the object
// it turned out to be; the handler answers Graph's 403.
var errDenied = allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")

// err2 returns err if set, else alt.
func err2(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}
