package graph

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

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
//   - A token this server cannot serve — issued before a restart, before a
//     bulk import replaced the directory, or older than the deletions it
//     remembers (directory.MaxTombstones) — gets 410 Gone, code
//     syncStateNotFound, with a Location header to start a new round; a
//     token that is not one of ours for this tenant gets 400.
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
	serveDelta(w, r, c, userDelta)
}

func (h *handler) groupsDelta(w http.ResponseWriter, r *http.Request, c *call) {
	serveDelta(w, r, c, groupDelta)
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
// or a bad one, 410 (resync) for a stale one.
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

func serveDelta[T any](w http.ResponseWriter, r *http.Request, c *call, k *deltaKind[T]) {
	q := c.q
	tok, latest, ok := requestToken(w, r, c, k)
	if !ok {
		return
	}
	sel := q.Select
	if sel == nil && tok != nil {
		sel = tok.sel
	}
	props, withMembers, err := deltaSelection(k, sel)
	if err != nil {
		fail(w, r, err)
		return
	}
	size, applied := maxPageSize(r)
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	gone := false
	c.t.Read(func(s *tenant.State) {
		x := directory.Of(s)
		if tok != nil && (tok.epoch != x.Epoch() || tok.seq < x.Floor() || tok.seq > x.Seq()) {
			gone = true
			return
		}
		b = appendContext(b, r, k.context+selectSuffix(sel))
		next := &deltaToken{kind: k.code, proc: deltaProc, epoch: x.Epoch(), sel: sel}
		if latest {
			next.phase, next.seq = 'l', x.Seq()
			b = append(b, `,"@odata.deltaLink":`...)
			b = appendStr(b, deltaLinkURL(r, k.path, "$deltatoken", next.encode(c.t.ID)))
			b = append(b, `,"value":[]}`...)
			return
		}
		// The keys of this page, and whether more follow.
		initial := tok == nil || tok.phase == 'i'
		resume := tok != nil && tok.memAfter != ""
		keys, since := pageKeys(x, k, tok, next, size)
		more := len(keys) > size
		if more {
			keys = keys[:size]
		}
		var members [][]memberEntry
		memAfter := ""
		if withMembers {
			var cut bool
			keys, members, memAfter, cut = pageMembers(s, x, k, keys, tok, initial, resume, since)
			more = more || cut
		}
		if more {
			last := keys[len(keys)-1]
			if initial {
				next.phase, next.curID = 'i', last.K
			} else {
				next.phase, next.seq, next.curID = 'c', since, last.ID
				next.curSeq, _ = strconv.ParseUint(last.K, 16, 64)
			}
			next.memAfter = memAfter
			b = append(b, `,"@odata.nextLink":`...)
			b = appendStr(b, deltaLinkURL(r, k.path, "$skiptoken", next.encode(c.t.ID)))
		} else {
			next.phase, next.curID = 'l', ""
			if !initial {
				// Every change up to now was visited in this round: an
				// object changed while it was paged moved to a later key.
				next.seq = x.Seq()
			}
			b = append(b, `,"@odata.deltaLink":`...)
			b = appendStr(b, deltaLinkURL(r, k.path, "$deltatoken", next.encode(c.t.ID)))
		}
		b = append(b, `,"value":[`...)
		v := view{State: s}
		for i, key := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			id := directory.IDOf(key)
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
			if withMembers && (initial || len(members[i]) > 0) {
				b = appendMembersDelta(b[:len(b)-1], members[i])
				b = append(b, '}')
			}
		}
		b = append(b, "]}"...)
	})
	*bp = b
	if gone {
		resync(w, r, k.path, sel)
		return
	}
	if applied {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	writeJSON(w, http.StatusOK, b)
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

// memberEntries are a group's members@delta, by id: every member in an
// initial round, else the memberships changed after since (removed ones
// with @removed).
func memberEntries(s *tenant.State, x *directory.Index, groupID string, initial bool, since uint64) []memberEntry {
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
			_, deletedGroup := s.Object(deleteditems.KindGroup, m)
			es = append(es, memberEntry{id: m, group: s.Engine.IsGroup(m) || deletedGroup, removed: !present})
		})
	}
	slices.SortFunc(es, func(a, c memberEntry) int { return strings.Compare(a.id, c.id) })
	return es
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

// pageMembers returns the members@delta of a page's groups, within
// deltaMembersPage: a group whose members do not fit is sent with those
// that do and ends the page (the next one sends it again with the rest,
// after memAfter, its last member sent). A page that resumes a group
// (resume: its first key) starts after tok.memAfter. cut says the page was
// shortened (more follow); keys is the page's keys, shortened with it.
func pageMembers[T any](s *tenant.State, x *directory.Index, k *deltaKind[T], keys []directory.Key, tok *deltaToken,
	initial, resume bool, since uint64) (_ []directory.Key, members [][]memberEntry, memAfter string, cut bool) {
	budget := deltaMembersPage
	for i, key := range keys {
		id := directory.IDOf(key)
		if _, ok := k.get(s, id); !ok {
			members = append(members, nil)
			continue
		}
		es := memberEntries(s, x, id, initial, since)
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
			return keys[:i], members, "", true
		}
		if len(es) > budget {
			es = es[:budget]
			return keys[:i+1], append(members, es), es[len(es)-1].id, true
		}
		budget -= len(es)
		members = append(members, es)
	}
	return keys, members, "", false
}

// pageKeys collects the keys of a delta page, up to size+1 (one more says
// more follow), for a first request (tok nil), a first round resumed, or a
// changes round after the number the client has (since, returned; 0 in a
// first round). It sets next.seq for a first round. A page that resumes a
// group's members starts with that group again.
func pageKeys[T any](x *directory.Index, k *deltaKind[T], tok *deltaToken, next *deltaToken, size int) (keys []directory.Key, since uint64) {
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
		next.seq = x.Seq()
		k.ids(x).Ascend(nil, collect)
	case initial:
		next.seq = tok.seq
		k.ids(x).Ascend(&directory.Key{K: tok.curID}, collect)
	case tok.phase == 'l':
		since = tok.seq
		after := directory.AfterSeq(since)
		k.changes(x).Ascend(&after, collect)
	default:
		since = tok.seq
		k.changes(x).Ascend(&directory.Key{K: directory.SeqKey(tok.curSeq), ID: tok.curID}, collect)
	}
	return keys, since
}
