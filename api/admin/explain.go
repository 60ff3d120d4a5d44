package admin

import (
	"net/http"
	"strconv"
	"time"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/audit"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
)

// readRoles may read licensing state (explain, audit).
var readRoles = []string{auth.RoleGlobalAdministrator, auth.RoleLicenseAdministrator, auth.RoleUserAdministrator,
	auth.RoleGroupsAdministrator, auth.RoleGlobalReader, auth.RoleReportsReader}

// explain answers GET /allot/v1/users/{id}/licenses/{skuId}/explain: why the
// user has (or has not) the license, source by source. {id} is an id or a
// userPrincipalName; {skuId} a skuId or a part number.
func (h *handler) explain(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !p.IsPartner() && !p.Has(readRoles...) {
		scope.Deny(w, r, p)
		return
	}
	var x licensing.Explanation
	t.Read(func(s *tenant.State) {
		id := r.PathValue("id")
		if u, ok := s.Engine.UserByUPN(id); ok {
			id = u.ID
		}
		x, err = s.Engine.Explain(id, r.PathValue("skuId"))
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, x)
}

// auditLog answers GET /allot/v1/audit with filters userId, groupId, skuId,
// activity and actor (Microsoft's activity and actor names, e.g. "Set group
// license", "Microsoft Entra group-Based Licensing"),
// from, to (RFC 3339), after (a seq, for paging) and top (1–1000, default
// 100). The next page, if any, is in @odata.nextLink.
func (h *handler) auditLog(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !p.IsPartner() && !p.Has(readRoles...) {
		scope.Deny(w, r, p)
		return
	}
	q := r.URL.Query()
	aq := audit.Query{TenantID: t.ID, UserID: q.Get("userId"), GroupID: q.Get("groupId"), SKUID: q.Get("skuId"), Limit: 100,
		Activity: q.Get("activity"), Actor: q.Get("actor")}
	for name, dst := range map[string]*time.Time{"from": &aq.From, "to": &aq.To} {
		if v := q.Get(name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				respond.Error(w, r, allot.Errorf(allot.EINVALID, "%s must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z.", name))
				return
			}
			*dst = tm
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			respond.Error(w, r, allot.Errorf(allot.EINVALID, "after must be a sequence number."))
			return
		}
		aq.AfterSeq = n
	}
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			respond.Error(w, r, allot.Errorf(allot.EINVALID, "top must be between 1 and 1000."))
			return
		}
		aq.Limit = n
	}
	entries, err := h.s.Store.QueryAudit(r.Context(), aq)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := map[string]any{"value": entries}
	if entries == nil {
		out["value"] = []audit.Entry{}
	}
	if len(entries) == aq.Limit {
		next := *r.URL
		nq := next.Query()
		nq.Set("after", strconv.FormatInt(entries[len(entries)-1].Seq, 10))
		next.RawQuery = nq.Encode()
		out["@odata.nextLink"] = next.RequestURI()
	}
	respond.JSON(w, http.StatusOK, out)
}
