package admin

import (
	"net/http"

	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
)

// explain answers GET /allot/v1/users/{id}/licenses/{skuId}/explain: why the
// user has (or has not) the license, source by source. {id} is an id or a
// userPrincipalName; {skuId} a skuId or a part number.
func (h *handler) explain(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.ReadReports, t.ID) {
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
