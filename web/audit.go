package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot/audit"
	"allot/store"
	"allot/tenant"
)

// auditRow is an audit entry with the names of what it is about.
type auditRow struct {
	audit.Entry
	UserName, GroupName, SKUName string
}

// auditRows names the users, groups and products of entries (call inside
// Tenant.Read); objects deleted since keep their id.
func auditRows(s *tenant.State, es []audit.Entry) []auditRow {
	e := s.Engine
	out := make([]auditRow, len(es))
	for i, en := range es {
		r := auditRow{Entry: en, UserName: en.UserID, GroupName: en.GroupID, SKUName: en.SKUID}
		if u, ok := e.User(en.UserID); ok {
			r.UserName = u.UserPrincipalName
		}
		if g, ok := e.Group(en.GroupID); ok {
			r.GroupName = g.DisplayName
		}
		if sku, ok := e.Catalog().SKU(en.SKUID); ok {
			r.SKUName = sku.PartNumber
		}
		out[i] = r
	}
	return out
}

// auditScanBudget bounds the sequence numbers one audit page examines when
// a filter matches rarely; the page then offers to look further back.
const auditScanBudget = 2_000_000

// newestAudit returns up to n entries matching q, newest first, with a
// sequence number below before (0: from the newest). The store answers in
// ascending order after a sequence number, so the log is read backwards in
// growing windows; a window (lo, hi] is asked for with Limit hi−lo, which
// holds every match in it since sequence numbers are unique. older is the
// cursor of the next (older) page, 0 when there is none.
func newestAudit(ctx context.Context, st store.Store, q audit.Query, before int64, n int) (es []audit.Entry, older int64, err error) {
	top, err := st.MaxAuditSeq(ctx, q.TenantID)
	if err != nil {
		return nil, 0, err
	}
	hi := top
	if before > 0 {
		hi = min(hi, before-1)
	}
	window := int64(n * 4)
	var scanned int64
	for hi > 0 && len(es) <= n && scanned < auditScanBudget {
		lo := max(0, hi-window)
		q.AfterSeq, q.Limit = lo, int(hi-lo)
		got, err := st.QueryAudit(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		for i := len(got) - 1; i >= 0; i-- {
			if got[i].Seq <= hi {
				es = append(es, got[i])
			}
		}
		scanned += hi - lo
		hi = lo
		window = min(window*4, 100_000)
	}
	switch {
	case len(es) > n:
		es = es[:n]
		older = es[n-1].Seq
	case hi > 0:
		older = hi + 1 // the budget ran out before the log did
	}
	return es, older, nil
}

// auditFilter is the audit page's form.
type auditFilter struct {
	User, Group, SKU, From, To, Activity string
}

// auditActivities are the activity names the page offers to filter on:
// Microsoft's licensing activities first, then allot's own.
var auditActivities = []string{
	audit.ActivitySetGroupLicense, audit.ActivityStartApplying, audit.ActivityFinishApplying,
	audit.ActivityChangeUserLicense, audit.ActivityRecalculateGroup,
	"Add member to group", "Remove member from group", "Add user", "Update user", "Delete user",
	"Add group", "Update group", "Delete group",
	"Update subscription", "Update subscription units", "Update tenant settings",
}

type auditPageData struct {
	Filter     auditFilter
	Activities []string
	Rows       []auditRow
	SKUs       []skuRow
	Older      string // URL of the next (older) page
	Newest     string // URL of the first page when not on it
	Problem    string
}

// auditPage shows the audit log, newest first, filtered by user (id or
// userPrincipalName), group (id or display name), product, activity
// (Microsoft's names) and days (UTC).
func (h *handler) auditPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	qs := r.URL.Query()
	f := auditFilter{User: strings.TrimSpace(qs.Get("user")), Group: strings.TrimSpace(qs.Get("group")), SKU: qs.Get("sku"),
		From: qs.Get("from"), To: qs.Get("to"), Activity: qs.Get("activity")}
	q := audit.Query{TenantID: v.T.ID, SKUID: f.SKU, Activity: f.Activity}
	d := auditPageData{Filter: f, Activities: auditActivities}
	var unknown string
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		d.SKUs = skuRows(e, directoryOf(s))
		if f.User != "" {
			if u, ok := e.UserByUPN(f.User); ok {
				q.UserID = u.ID
			} else if u, ok := e.User(f.User); ok {
				q.UserID = u.ID
			} else {
				q.UserID = f.User // a deleted user's id still finds its entries
			}
		}
		if f.Group != "" {
			if _, ok := e.Group(f.Group); ok {
				q.GroupID = f.Group
			} else if id, ok := groupByName(directoryOf(s), f.Group); ok {
				q.GroupID = id
			} else {
				q.GroupID = f.Group
			}
		}
	})
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		v := qs.Get(name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			unknown = "Dates must be written as YYYY-MM-DD."
			continue
		}
		if name == "to" {
			t = t.AddDate(0, 0, 1) // the whole day
		}
		*dst = t
	}
	d.Problem = unknown
	before, _ := strconv.ParseInt(qs.Get("before"), 10, 64)
	es, older, err := newestAudit(r.Context(), h.s.Store, q, before, 50)
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	v.T.Read(func(s *tenant.State) { d.Rows = auditRows(s, es) })
	if older > 0 {
		d.Older = withQuery(r.URL, "before", strconv.FormatInt(older, 10))
	}
	if before > 0 {
		d.Newest = withQuery(r.URL, "before", "")
	}
	h.render(w, r, v, http.StatusOK, "audit", pageData{Title: "Audit log", Nav: "audit", Data: d})
}
