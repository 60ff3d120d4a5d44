package admin

import (
	"net/http"

	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/rules"
	"allot/tenant"
)

// RuleCheck is the answer of POST /allot/v1/rules/validate
// (licensing.Engine.CheckRule).
type RuleCheck = rules.Check

func (h *handler) validateRule(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.ReadDirectory, t.ID) {
		return
	}
	var in ruleRequest
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	var out RuleCheck
	t.Read(func(s *tenant.State) { out = s.Engine.CheckRule(in.Rule, h.s.RT.Now()) })
	respond.JSON(w, http.StatusOK, out)
}

// ruleRequest is the body of POST /allot/v1/rules/validate.
type ruleRequest struct {
	Rule string `json:"rule"`
}
