package graph

import (
	"net/http"

	"allot/tenant"
)

// listTransitiveMembers answers GET /groups/{id}/transitiveMembers: the
// users and groups the group contains directly or through member groups
// (Graph "List group transitive members"), with the options of /members.
func (h *handler) listTransitiveMembers(w http.ResponseWriter, r *http.Request, c *call) {
	id := r.PathValue("id")
	writeRelation(w, r, c, "directoryObjects", func(s *tenant.State) ([]string, []string, bool) {
		if !c.scope(s).Group(id) {
			return nil, nil, false
		}
		return s.Engine.TransitiveMembers(id)
	})
}
