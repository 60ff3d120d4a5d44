package admin

import (
	"net/http"

	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
)

// reprocessGroup answers POST /allot/v1/groups/{id}/reprocessLicenseAssignment:
// every member the group licenses is reprocessed, as the "Reprocess" button
// of a group's licenses in the Microsoft Entra admin center does. Graph has
// no group-level action (v1.0 has users/{id}/reprocessLicenseAssignment
// only; allotments have reprocessAssignments in the beta cloudLicensing
// API). allot admits waiting users by itself, so a reprocess changes
// nothing unless something was left behind; it is always safe. 200 with
// {"id", "reprocessedUsers"}; 404 for an unknown group. Those who may assign
// licenses to groups may reprocess them (auth.AssignGroupLicense).
func (h *handler) reprocessGroup(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.AssignGroupLicense, t.ID) {
		return
	}
	id := r.PathValue("id")
	n := 0
	err = t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		if err := tx.Engine.ReprocessGroup(tx.Op, id); err != nil {
			return err
		}
		n = tx.Engine.LicensedMemberCount(id)
		return nil
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, reprocessResult{ID: id, ReprocessedUsers: n})
}

// reprocessResult answers POST /allot/v1/groups/{id}/reprocessLicenseAssignment.
type reprocessResult struct {
	ID               string `json:"id"`
	ReprocessedUsers int    `json:"reprocessedUsers"`
}
