package admin

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/api/odata"
	"allot/api/respond"
	"allot/api/scope"
	"allot/audit"
	"allot/auth"
	"allot/tenant"
)

// auditLog answers GET /allot/v1/audit: the tenant's audit log, newest
// first by default, filtered by the parameters of audit.QueryParams (plain or in
// $filter; the same filter twice with different values is 400), paged by
// top/$top with the next page in @odata.nextLink.
func (h *handler) auditLog(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.ReadReports, t.ID) {
		return
	}
	aq, err := parseAuditQuery(r.URL.Query(), t)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	entries, err := h.s.Store.QueryAudit(r.Context(), aq)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := auditPage{Value: entries}
	if entries == nil {
		out.Value = []audit.Entry{}
	}
	if len(entries) == aq.Limit {
		next := *r.URL
		nq := next.Query()
		last := strconv.FormatInt(entries[len(entries)-1].Seq, 10)
		if aq.Newest {
			nq.Set("before", last)
		} else {
			nq.Set("after", last)
		}
		next.RawQuery = nq.Encode()
		out.NextLink = next.RequestURI()
	}
	respond.JSON(w, http.StatusOK, out)
}

// parseAuditQuery turns the request's parameters into a store query, in
// steps: only known parameters, the plain equalities, the bounds and page
// size, the order, then $filter (whose terms must agree with the plain
// parameters).
func parseAuditQuery(q url.Values, t *tenant.Tenant) (audit.Query, error) {
	if err := onlyAuditParams(q); err != nil {
		return audit.Query{}, err
	}
	aq := audit.Query{TenantID: t.ID, Limit: 100, Newest: true}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"userId", &aq.UserID}, {"groupId", &aq.GroupID}, {"skuId", &aq.SKUID}, {"activity", &aq.Activity}, {"actor", &aq.Actor}} {
		if err := setOnce(f.name, f.dst, q.Get(f.name)); err != nil {
			return aq, err
		}
	}
	if err := auditBounds(q, &aq); err != nil {
		return aq, err
	}
	switch ob := strings.ToLower(strings.Join(strings.Fields(q.Get("$orderby")), " ")); ob {
	case "", "at desc", "seq desc", "at", "seq":
		aq.Newest = ob == "" || strings.HasSuffix(ob, "desc")
	case "at asc", "seq asc":
		aq.Newest = false
	default:
		return aq, allot.Errorf(allot.EINVALID, "$orderby must be \"at desc\" (newest first) or \"at asc\" (oldest first).")
	}
	if f := q.Get("$filter"); f != "" {
		n, err := odata.ParseFilter(f)
		if err != nil {
			return aq, allot.Errorf(allot.EINVALID, "Invalid $filter: %s", allot.ErrorMessage(err))
		}
		if err := auditFilter(n, &aq, setOnce, setTimeOnce); err != nil {
			return aq, err
		}
	}
	if aq.SKUID != "" {
		t.Read(func(s *tenant.State) {
			if sku, ok := s.Engine.Catalog().SKU(aq.SKUID); ok {
				aq.SKUID = sku.ID
			}
		})
	}
	return aq, nil
}

// onlyAuditParams refuses a parameter the audit log does not know (the
// first by name), naming the ones it does.
func onlyAuditParams(q url.Values) error {
	known := map[string]bool{}
	for _, p := range audit.QueryParams {
		known[p.Name] = true
	}
	var unknown []string
	for k := range q {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	names := make([]string, len(audit.QueryParams))
	for i, p := range audit.QueryParams {
		names[i] = p.Name
	}
	return allot.Errorf(allot.EINVALID, "Unknown query parameter %q for the audit log; use %s.", unknown[0], strings.Join(names, ", "))
}

// setOnce sets a condition from a parameter or a $filter term: v empty
// sets nothing; two different values are refused.
func setOnce(name string, dst *string, v string) error {
	if v == "" {
		return nil
	}
	if *dst != "" && *dst != v {
		return allot.Errorf(allot.EINVALID, "%s is given twice with different values (%q and %q).", name, *dst, v)
	}
	*dst = v
	return nil
}

// setTimeOnce is setOnce for a time bound.
func setTimeOnce(name string, dst *time.Time, v time.Time) error {
	if !dst.IsZero() && !dst.Equal(v) {
		return allot.Errorf(allot.EINVALID, "%s is given twice with different values.", name)
	}
	*dst = v
	return nil
}

// auditBounds reads from and to (RFC 3339), after and before (sequence
// numbers) and top or $top (1 to 1000).
func auditBounds(q url.Values, aq *audit.Query) error {
	for name, dst := range map[string]*time.Time{"from": &aq.From, "to": &aq.To} {
		if v := q.Get(name); v != "" {
			tm, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return allot.Errorf(allot.EINVALID, "%s must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z.", name)
			}
			*dst = tm
		}
	}
	for name, dst := range map[string]*int64{"after": &aq.AfterSeq, "before": &aq.BeforeSeq} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return allot.Errorf(allot.EINVALID, "%s must be a sequence number.", name)
			}
			*dst = n
		}
	}
	for _, name := range []string{"top", "$top"} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return allot.Errorf(allot.EINVALID, "%s must be between 1 and 1000.", name)
			}
			aq.Limit = n
		}
	}
	return nil
}

// auditFilter applies a $filter: a conjunction of property eq 'string' and
// at comparisons with a date-time.
func auditFilter(n odata.Node, aq *audit.Query, set func(string, *string, string) error, setTime func(string, *time.Time, time.Time) error) error {
	bad := func() error {
		return allot.Errorf(allot.EINVALID, "$filter supports \"and\" of userId, groupId, skuId, activity, actor eq 'value' and at ge/gt/le/lt a date-time; %s is not one.", n)
	}
	switch x := n.(type) {
	case *odata.Logical:
		if x.Op != "and" {
			return bad()
		}
		if err := auditFilter(x.Left, aq, set, setTime); err != nil {
			return err
		}
		return auditFilter(x.Right, aq, set, setTime)
	case *odata.Compare:
		path, ok := x.Left.(*odata.Path)
		lit, ok2 := x.Right.(*odata.Literal)
		if !ok || !ok2 || len(path.Segments) != 1 {
			return bad()
		}
		prop := path.Segments[0]
		if prop == "at" {
			if lit.Kind != odata.LitDateTime {
				return bad()
			}
			tm, err := time.Parse(time.RFC3339Nano, lit.Text)
			if err != nil {
				return bad()
			}
			switch x.Op {
			case "ge":
				return setTime("at ge", &aq.From, tm)
			case "gt":
				return setTime("at gt", &aq.From, tm.Add(time.Microsecond).Truncate(time.Microsecond))
			case "lt":
				return setTime("at lt", &aq.To, tm)
			case "le":
				return setTime("at le", &aq.To, tm.Add(time.Microsecond).Truncate(time.Microsecond))
			}
			return bad()
		}
		dst := map[string]*string{"userId": &aq.UserID, "groupId": &aq.GroupID, "skuId": &aq.SKUID, "activity": &aq.Activity, "actor": &aq.Actor}[prop]
		if dst == nil || x.Op != "eq" || (lit.Kind != odata.LitString && lit.Kind != odata.LitGUID) {
			return bad()
		}
		return set(prop, dst, lit.Text)
	}
	return bad()
}

// auditPage is a page of the audit log.
type auditPage struct {
	Value    []audit.Entry `json:"value"`
	NextLink string        `json:"@odata.nextLink,omitempty" doc:"The next page (absent on the last)"`
}
