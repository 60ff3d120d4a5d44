package graph

import (
	"net/http"
	"strconv"

	"allot/api/odata"
	"allot/tenant"
)

// qCount: the options of a $count segment (Graph counts a filtered or
// searched collection).
var qCount = odata.Options{Filter: true, Search: true}

// errCountUnsupported is Graph's answer to a $count segment (or
// $count=true on directory objects) without ConsistencyLevel: eventual.
var errCountUnsupported = &odata.Error{Code: "Request_BadRequest", Msg: "$count is not currently supported."}

// writeCount answers a $count segment as Graph does: the number as
// text/plain, 200.
func writeCount(w http.ResponseWriter, n int) {
	b := strconv.AppendInt(nil, int64(n), 10)
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("OData-Version", "4.0")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// countList answers GET /users/$count and /groups/$count: the number of
// objects the collection's $filter and $search select (what $count=true
// reports as @odata.count), among those the principal may see. Graph
// requires ConsistencyLevel: eventual (400 without it).
func countList[T any](w http.ResponseWriter, r *http.Request, c *call, col *collection[T]) {
	if !c.q.Eventual {
		fail(w, r, errCountUnsupported)
		return
	}
	q := *c.q
	q.Count, q.Top = true, 1
	p, err := prepare(col, &q)
	if err != nil {
		fail(w, r, err)
		return
	}
	n := 0
	c.t.Read(func(s *tenant.State) {
		if sc := c.scope(s); sc != nil {
			p.view.sc = sc
			inner := p.match
			p.match = func(s *tenant.State, x *T) bool {
				return col.visible(sc, x) && (inner == nil || inner(s, x))
			}
		}
		n = p.run(s, &q).count
	})
	writeCount(w, n)
}

func (h *handler) countUsers(w http.ResponseWriter, r *http.Request, c *call) {
	countList(w, r, c, userCollection)
}

func (h *handler) countGroups(w http.ResponseWriter, r *http.Request, c *call) {
	countList(w, r, c, groupCollection)
}
