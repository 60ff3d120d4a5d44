package graph

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"allot/api/odata"
	"allot/api/respond"
	"allot/deleteditems"
	"allot/directory"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// Delta queries (GET /v1.0/users/delta, /v1.0/groups/delta), as Graph
// documents them ("Use delta query to track changes in Microsoft Graph
// data"; user: delta; group: delta):
//
//   - Without a state token, a round starts: every object that exists,
//     paged with @odata.nextLink ($skiptoken); the last page carries
//     @odata.deltaLink ($deltatoken). $deltatoken=latest answers at once
//     with an empty value and a deltaLink to the current state.
//   - Calling a deltaLink starts a round of the objects changed since it
//     was issued: their current state, or {"id","@removed":{"reason"}}
//     for an object that is gone — "changed" when it is in the deleted
//     items (it can be restored), "deleted" when it is gone for good.
//   - Groups carry "members@delta" (by default, and when $select names
//     members): in the first round every member; afterwards the members
//     added since, and those removed with "@removed":{"reason":"deleted"}.
//     A page carries at most deltaMembersPage entries: a group whose
//     members do not fit is sent with those that do, and again at the
//     start of the next page with the rest (by member id; the token names
//     the group and the last member sent) — "paging through members in a
//     large group" of Graph's groups delta guide; clients merge them.
//   - Query options are given once, in the first request; the links carry
//     them. $select may be given again with a link and then replaces them.
//   - An object may be sent more than once in a round and again in the
//     next one (a change while the round is paged); applying the pages in
//     order always leaves the client with the current state.
//   - A token holds a number of the tenant's change log, so it outlives
//     the process that issued it and is served by any process (followers
//     included): from the directory index when the token's hint names it
//     (its build and number: the fast path), else rebuilt from the change
//     log (deltalog.go). A token whose changes the log no longer has
//     (compacted into a snapshot, a bulk import, a tenant made again) gets
//     410 Gone, code syncStateNotFound, with a Location header to start a
//     new round — Graph's answer to an expired token; a token that is not
//     one of ours for this tenant gets 400. A token ahead of this
//     process's copy of the tenant (a follower behind its writer) waits for
//     the copy to catch up, or gets 503 with Retry-After.
//
// Page size: 100 objects, or the Prefer header's odata.maxpagesize (1–999).

// deltaPage is the default number of objects per page.
const deltaPage = 100

// qDelta: the options a delta function takes.
var qDelta = odata.Options{Select: true, SkipToken: true, DeltaToken: true}

// deltaKind is what differs between users/delta and groups/delta.
type deltaKind[T any] struct {
	code    byte // token kind
	path    string
	context string // @odata.context collection
	res     *resource[T]
	get     func(s *tenant.State, id string) (T, bool)
	ids     func(x *directory.Index) *directory.Set
	changes func(x *directory.Index) *directory.Set
	deleted store.Kind // the deleted items' kind (reason "changed")
	members bool       // members@delta
}

var userDelta = &deltaKind[licensing.User]{code: 'u', path: "/v1.0/users/delta", context: "users", res: userResource,
	get: func(s *tenant.State, id string) (licensing.User, bool) { return s.Engine.User(id) },
	ids: (*directory.Index).UsersByID, changes: (*directory.Index).UserChanges, deleted: deleteditems.KindUser}

var groupDelta = &deltaKind[licensing.Group]{code: 'g', path: "/v1.0/groups/delta", context: "groups", res: groupResource,
	get: func(s *tenant.State, id string) (licensing.Group, bool) { return s.Engine.Group(id) },
	ids: (*directory.Index).GroupsByID, changes: (*directory.Index).GroupChanges, deleted: deleteditems.KindGroup, members: true}

func (h *handler) usersDelta(w http.ResponseWriter, r *http.Request, c *call) {
	serveDelta(h, w, r, c, userDelta)
}

func (h *handler) groupsDelta(w http.ResponseWriter, r *http.Request, c *call) {
	serveDelta(h, w, r, c, groupDelta)
}

var (
	errDeltaToken = &odata.Error{Code: "Request_BadRequest", Msg: "The delta or skip token is not valid. Use the @odata.nextLink or @odata.deltaLink of a previous response as it is."}
	errDeltaBoth  = &odata.Error{Code: "Request_BadRequest", Msg: "$deltatoken and $skiptoken cannot be used together."}
)

// deltaSelection resolves a delta request's $select: the resource's
// properties (id always, as Graph always returns it) and, for groups,
// whether members@delta is wanted.
func deltaSelection[T any](k *deltaKind[T], sel []string) (props []int, members bool, err error) {
	if sel == nil {
		return k.res.defaults, k.members, nil
	}
	var rest []string
	for _, s := range sel {
		if k.members && strings.EqualFold(s, "members") {
			members = true
			continue
		}
		rest = append(rest, s)
	}
	if len(rest) == 0 {
		rest = []string{"id"}
	}
	props, err = k.res.selection(rest)
	if err != nil {
		return nil, false, err
	}
	// Sign-ins are not directory changes, so a delta round would not
	// carry them: refused when named, left out of "*".
	for _, s := range rest {
		if strings.EqualFold(s, "signInActivity") {
			return nil, false, &odata.Error{Code: "Request_UnsupportedQuery", Msg: "Property 'signInActivity' is not supported in a delta query."}
		}
	}
	props = slices.DeleteFunc(slices.Clone(props), func(i int) bool { return k.res.props[i].name == "signInActivity" })
	if id := k.res.byName["id"]; !slices.Contains(props, id) {
		props = append([]int{id}, props...)
	}
	return props, members, nil
}

// maxPageSize reads Prefer: odata.maxpagesize=n (1–999; otherwise the
// default), and says whether it applied.
func maxPageSize(r *http.Request) (int, bool) {
	for _, v := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(v, ",") {
			name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "odata.maxpagesize") {
				continue
			}
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err == nil && n >= 1 && n <= odata.MaxTop {
				return n, true
			}
		}
	}
	return deltaPage, false
}

// resync answers a token that cannot be served: 410 Gone, and where to
// start a new round.
func resync(w http.ResponseWriter, r *http.Request, path string, sel []string) {
	loc := baseURL(r) + path
	if sel != nil {
		loc += "?" + strings.ReplaceAll(url.Values{"$select": {strings.Join(sel, ",")}}.Encode(), "%24", "$")
	}
	w.Header().Set("Location", loc)
	respond.Status(w, r, http.StatusGone, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
}

// deltaLinkURL is the link carrying a token: path?$skiptoken= or
// ?$deltatoken=.
func deltaLinkURL(r *http.Request, path, param, token string) string {
	return baseURL(r) + path + "?" + param + "=" + token
}

// requestToken reads a delta request's token: none (tok nil) for a first
// round, "latest" for a deltaLink without the data, else a $skiptoken of a
// round being paged or a $deltatoken of a finished one, of this kind and
// tenant. ok is false when the request was answered: 400 for both tokens
// or a bad one, 410 (resync) for one of an earlier version.
func requestToken[T any](w http.ResponseWriter, r *http.Request, c *call, k *deltaKind[T]) (tok *deltaToken, latest, ok bool) {
	q := c.q
	if q.DeltaToken != "" && q.SkipToken != "" {
		fail(w, r, errDeltaBoth)
		return nil, false, false
	}
	latest = strings.EqualFold(q.DeltaToken, "latest")
	raw := q.DeltaToken + q.SkipToken
	if raw == "" || latest {
		return nil, latest, true
	}
	t, err := decodeDeltaToken(raw, c.t.ID)
	switch {
	case errors.Is(err, errTokenStale):
		sel := t.sel
		if _, _, err := deltaSelection(k, sel); err != nil || t.kind != k.code {
			sel = nil // unverified: only a valid selection is passed on
		}
		resync(w, r, k.path, sel)
		return nil, false, false
	case err != nil, t.kind != k.code,
		q.DeltaToken != "" && t.phase != 'l', q.SkipToken != "" && t.phase == 'l':
		fail(w, r, errDeltaToken)
		return nil, false, false
	}
	return t, false, true
}

// page is one delta page to write: the ids of its objects, their
// members@delta (groups with members), and the token of the link it ends
// with (a nextLink when more, else a deltaLink).
type page struct {
	ids     []string
	members [][]memberEntry
	initial bool // a first round: groups carry every member
	more    bool
	next    *deltaToken
}

func serveDelta[T any](h *handler, w http.ResponseWriter, r *http.Request, c *call, k *deltaKind[T]) {
	tok, latest, ok := requestToken(w, r, c, k)
	if !ok {
		return
	}
	sel := c.q.Select
	if sel == nil && tok != nil {
		sel = tok.sel
	}
	props, withMembers, err := deltaSelection(k, sel)
	if err != nil {
		fail(w, r, err)
		return
	}
	if tok != nil && !caughtUp(h, w, r, c, k.path, tok, sel) {
		return
	}
	size, applied := maxPageSize(r)
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	write := func(s *tenant.State, pg *page) {
		pg.next.kind, pg.next.sel = k.code, sel
		b = appendContext(b, r, k.context+selectSuffix(sel))
		b = appendDeltaLink(b, r, c, k.path, pg)
		b = appendDeltaValues(b, s, k, pg, props, withMembers)
	}
	served := false
	c.t.Read(func(s *tenant.State) {
		x := directory.Of(s)
		if tok != nil && tok.phase != 'i' && !fastPath(x, tok) {
			return // rebuilt from the change log, below
		}
		served = true
		if latest {
			write(s, &page{next: latestToken(s, x)})
			return
		}
		write(s, indexPage(s, x, k, tok, size, withMembers))
	})
	if !served {
		lc, err := logChangesFor(r.Context(), h, c.t, tok)
		switch {
		case errors.Is(err, store.ErrCompacted):
			resync(w, r, k.path, sel)
			return
		case err != nil:
			fail(w, r, err)
			return
		}
		c.t.Read(func(s *tenant.State) {
			write(s, logPage(s, directory.Of(s), k, tok, lc, size, withMembers))
		})
	}
	*bp = b
	if applied {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	writeJSON(w, http.StatusOK, b)
}

// logNumber is a state's log number for a token (0 when the store keeps
// no numbered log: such a token is served by the fast path only).
func logNumber(s *tenant.State) uint64 { return uint64(max(s.LogSeq(), 0)) }

// latestToken is the deltaLink of the current state, with the index's
// hint.
func latestToken(s *tenant.State, x *directory.Index) *deltaToken {
	return &deltaToken{phase: 'l', log: logNumber(s), epoch: x.Epoch(), idx: x.Seq()}
}

// fastPath says whether the directory index can serve a changes round of
// tok: the token's hint names this build of the index, and the index
// still has every change after the hint's number.
func fastPath(x *directory.Index, tok *deltaToken) bool {
	return deltaFastPath && tok.phase != 'r' && tok.epoch == x.Epoch() && tok.idx >= x.Floor() && tok.idx <= x.Seq()
}

// deltaFastPath: whether the directory index serves the tokens it can
// (tests turn it off to serve every changes round from the log).
var deltaFastPath = true

// deltaWait bounds how long a token ahead of this process's copy of the
// tenant waits for it.
var deltaWait = 5 * time.Second

// caughtUp makes sure this process's copy of the tenant includes the log
// number the token was issued at (a follower may be behind the process
// that issued it): it waits for it, and answers 410 (resync) when the
// tenant's log does not reach the number (the tenant was made again, or
// the token was made up), 503 with Retry-After when the copy does not
// catch up in time. It returns false when it answered.
func caughtUp(h *handler, w http.ResponseWriter, r *http.Request, c *call, path string, tok *deltaToken, sel []string) bool {
	need := tok.log
	if tok.phase == 'r' {
		need = max(need, tok.curSeq) // the page before read the log up to it
	}
	have := c.t.LogSeq()
	if have < 0 || need <= uint64(have) {
		return true
	}
	cl, ok := h.s.Store.(store.ChangeLog)
	if !ok {
		resync(w, r, path, sel)
		return false
	}
	last, err := cl.LogSeq(r.Context(), c.t.ID)
	if err != nil {
		fail(w, r, err)
		return false
	}
	if need > uint64(max(last, 0)) {
		resync(w, r, path, sel)
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), deltaWait)
	defer cancel()
	if err := c.t.WaitSeq(ctx, int64(need)); err != nil {
		w.Header().Set("Retry-After", "1")
		respond.Status(w, r, http.StatusServiceUnavailable, "serviceNotAvailable",
			"This server has not yet applied the changes the token was issued at; retry in a moment.")
		return false
	}
	return true
}

// indexPage is a page served from the directory index: a first round
// (tok nil or 'i', walked by id), or a changes round whose token the
// index can serve (fastPath).
func indexPage[T any](s *tenant.State, x *directory.Index, k *deltaKind[T], tok *deltaToken, size int, withMembers bool) *page {
	pg := &page{initial: tok == nil || tok.phase == 'i', next: &deltaToken{}}
	resume := tok != nil && tok.memAfter != ""
	keys, since := pageKeys(x, k, tok, size)
	pg.more = len(keys) > size
	if pg.more {
		keys = keys[:size]
	}
	memAfter := ""
	if withMembers {
		entries := func(id string) []memberEntry { return indexMembers(s, x, id, pg.initial, since) }
		var (
			kept int
			cut  bool
		)
		kept, pg.members, memAfter, cut = pageMembers(s, k, keyIDs(keys), tok, resume, entries)
		keys, pg.more = keys[:kept], pg.more || cut
	}
	pg.ids = keyIDs(keys)
	n := pg.next
	switch {
	case pg.initial:
		// The round's start: its number, and the index's hint with it.
		if tok == nil {
			*n = *latestToken(s, x)
		} else {
			n.log, n.epoch, n.idx = tok.log, tok.epoch, tok.idx
		}
		if pg.more {
			n.phase, n.curID = 'i', pg.ids[len(pg.ids)-1]
		} else {
			n.phase = 'l'
		}
	case pg.more:
		last := keys[len(keys)-1]
		n.phase, n.log, n.epoch, n.idx, n.curID = 'c', tok.log, x.Epoch(), since, last.ID
		n.curSeq, _ = strconv.ParseUint(last.K, 16, 64)
	default:
		// Every change up to now was visited in this round: an object
		// changed while it was paged moved to a later key.
		*n = *latestToken(s, x)
	}
	n.memAfter = memAfter
	return pg
}

// keyIDs are the object ids of index keys.
func keyIDs(keys []directory.Key) []string {
	ids := make([]string, len(keys))
	for i, key := range keys {
		ids[i] = directory.IDOf(key)
	}
	return ids
}

// appendDeltaLink writes a page's link: ,"@odata.nextLink" or
// ,"@odata.deltaLink".
func appendDeltaLink(b []byte, r *http.Request, c *call, path string, pg *page) []byte {
	if pg.more {
		b = append(b, `,"@odata.nextLink":`...)
		return appendStr(b, deltaLinkURL(r, path, "$skiptoken", pg.next.encode(c.t.ID)))
	}
	pg.next.curID, pg.next.curSeq, pg.next.memAfter = "", 0, ""
	b = append(b, `,"@odata.deltaLink":`...)
	return appendStr(b, deltaLinkURL(r, path, "$deltatoken", pg.next.encode(c.t.ID)))
}

// appendDeltaValues writes ,"value":[…]} of a page: each object in its
// current state (with its members@delta), or removed.
func appendDeltaValues[T any](b []byte, s *tenant.State, k *deltaKind[T], pg *page, props []int, withMembers bool) []byte {
	b = append(b, `,"value":[`...)
	v := view{State: s}
	for i, id := range pg.ids {
		if i > 0 {
			b = append(b, ',')
		}
		obj, ok := k.get(s, id)
		if !ok {
			reason := "deleted"
			if _, soft := s.Object(k.deleted, id); soft {
				reason = "changed"
			}
			b = append(b, `{"id":`...)
			b = appendStr(b, id)
			b = append(b, `,"@removed":{"reason":"`...)
			b = append(b, reason...)
			b = append(b, `"}}`...)
			continue
		}
		b = k.res.appendObject(b, v, &obj, props, false)
		if withMembers && (pg.initial || len(pg.members[i]) > 0) {
			b = appendMembersDelta(b[:len(b)-1], pg.members[i])
			b = append(b, '}')
		}
	}
	return append(b, "]}"...)
}

// deltaMembersPage is the most members@delta entries a page carries
// (Graph pages a large group's members: the group comes again on the next
// pages with the rest; clients merge them).
var deltaMembersPage = 1000

// memberEntry is an entry of members@delta.
type memberEntry struct {
	id      string
	group   bool
	removed bool
}

// indexMembers are a group's members@delta from the directory index, by
// id: every member in a first round, else the memberships changed after
// the index number since (removed ones with @removed).
func indexMembers(s *tenant.State, x *directory.Index, groupID string, initial bool, since uint64) []memberEntry {
	var es []memberEntry
	if initial {
		us, gs := s.Engine.Members(groupID)
		for _, id := range us {
			es = append(es, memberEntry{id: id})
		}
		for _, id := range gs {
			es = append(es, memberEntry{id: id, group: true})
		}
	} else {
		x.MemberChanges(groupID, since, func(m string, present bool) {
			es = append(es, deltaMemberEntry(s, m, present))
		})
	}
	slices.SortFunc(es, func(a, c memberEntry) int { return strings.Compare(a.id, c.id) })
	return es
}

// deltaMemberEntry is the entry of a changed membership: a group member when
// m is a group (or a group in the deleted items), removed unless present.
func deltaMemberEntry(s *tenant.State, m string, present bool) memberEntry {
	_, deletedGroup := s.Object(deleteditems.KindGroup, m)
	return memberEntry{id: m, group: s.Engine.IsGroup(m) || deletedGroup, removed: !present}
}

// appendMembersDelta writes ,"members@delta":[…] of the entries.
func appendMembersDelta(b []byte, es []memberEntry) []byte {
	b = append(b, `,"members@delta":[`...)
	for i, e := range es {
		if i > 0 {
			b = append(b, ',')
		}
		if e.group {
			b = append(b, `{"@odata.type":"#microsoft.graph.group","id":`...)
		} else {
			b = append(b, `{"@odata.type":"#microsoft.graph.user","id":`...)
		}
		b = appendStr(b, e.id)
		if e.removed {
			b = append(b, `,"@removed":{"reason":"deleted"}`...)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// pageMembers returns the members@delta (entries, by id) of a page's
// groups, within deltaMembersPage: a group whose members do not fit is
// sent with those that do and ends the page (the next one sends it again
// with the rest, after memAfter, its last member sent). A page that
// resumes a group (resume: its first id) starts after tok.memAfter. cut
// says the page was shortened (more follow); the page's first n ids
// remain, n returned with the entries.
func pageMembers[T any](s *tenant.State, k *deltaKind[T], ids []string, tok *deltaToken, resume bool,
	entries func(id string) []memberEntry) (n int, members [][]memberEntry, memAfter string, cut bool) {
	budget := deltaMembersPage
	for i, id := range ids {
		if _, ok := k.get(s, id); !ok {
			members = append(members, nil)
			continue
		}
		es := entries(id)
		if resume && i == 0 {
			n, _ := slices.BinarySearchFunc(es, tok.memAfter, func(e memberEntry, after string) int {
				if e.id <= after {
					return -1
				}
				return 1
			})
			es = es[n:]
		}
		if len(es) > 0 && budget == 0 && i > 0 {
			return i, members, "", true
		}
		if len(es) > budget {
			es = es[:budget]
			return i + 1, append(members, es), es[len(es)-1].id, true
		}
		budget -= len(es)
		members = append(members, es)
	}
	return len(ids), members, "", false
}

// pageKeys collects the index keys of a page, up to size+1 (one more says
// more follow), for a first request (tok nil), a first round resumed, or a
// changes round after the index number the client has (since, returned;
// 0 in a first round). A page that resumes a group's members starts with
// that group again.
func pageKeys[T any](x *directory.Index, k *deltaKind[T], tok *deltaToken, size int) (keys []directory.Key, since uint64) {
	initial := tok == nil || tok.phase == 'i'
	if tok != nil && tok.memAfter != "" {
		if initial {
			keys = append(keys, directory.Key{K: tok.curID})
		} else {
			keys = append(keys, directory.Key{K: directory.SeqKey(tok.curSeq), ID: tok.curID})
		}
	}
	collect := func(k directory.Key) bool {
		keys = append(keys, k)
		return len(keys) <= size
	}
	switch {
	case tok == nil:
		k.ids(x).Ascend(nil, collect)
	case initial:
		k.ids(x).Ascend(&directory.Key{K: tok.curID}, collect)
	case tok.phase == 'l':
		since = tok.idx
		after := directory.AfterSeq(since)
		k.changes(x).Ascend(&after, collect)
	default:
		since = tok.idx
		k.changes(x).Ascend(&directory.Key{K: directory.SeqKey(tok.curSeq), ID: tok.curID}, collect)
	}
	return keys, since
}
