package admin

import (
	"errors"
	"net/http"
	"time"

	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/rules"
	"allot/tenant"
)

// RuleCheck is the answer of POST /allot/v1/rules/validate: either the
// rule's errors with their positions, or how many users it matches now and
// the first 20 of them — the preview an administrator wants before saving.
type RuleCheck struct {
	Valid      bool         `json:"valid"`
	Errors     []RuleError  `json:"errors,omitempty"`
	MatchCount *int         `json:"matchCount,omitempty"`
	Sample     []SampleUser `json:"sample,omitempty"`
}

// RuleError is one problem of a rule.
type RuleError struct {
	Position Position `json:"position"`
	Message  string   `json:"message"`
}

// Position is where in the rule a problem is (1-based line and column,
// 0-based byte offset).
type Position struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Offset int `json:"offset"`
}

// SampleUser is a user a rule matches.
type SampleUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
}

// CheckRule validates a rule and previews its matches on a tenant state.
func CheckRule(s *tenant.State, rule string, now time.Time) RuleCheck {
	n, ids, err := s.Engine.MatchRule(rule, now, 20)
	if err != nil {
		var list rules.ErrorList
		var one *rules.Error
		out := RuleCheck{Valid: false}
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				out.Errors = append(out.Errors, RuleError{Position{e.Line, e.Column, e.Offset}, e.Error()})
			}
		case errors.As(err, &one):
			out.Errors = append(out.Errors, RuleError{Position{one.Line, one.Column, one.Offset}, one.Error()})
		default:
			out.Errors = append(out.Errors, RuleError{Position{1, 1, 0}, err.Error()})
		}
		return out
	}
	out := RuleCheck{Valid: true, MatchCount: &n, Sample: []SampleUser{}}
	for _, id := range ids {
		if u, ok := s.Engine.User(id); ok {
			out.Sample = append(out.Sample, SampleUser{u.ID, u.UserPrincipalName, u.DisplayName})
		}
	}
	return out
}

// readers of users may preview rules.
var ruleRoles = []string{auth.RoleGlobalAdministrator, auth.RoleGroupsAdministrator, auth.RoleUserAdministrator,
	auth.RoleLicenseAdministrator, auth.RoleGlobalReader}

func (h *handler) validateRule(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !p.IsPartner() && !p.Has(ruleRoles...) {
		scope.Deny(w, r, p)
		return
	}
	var in struct {
		Rule string `json:"rule"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	var out RuleCheck
	t.Read(func(s *tenant.State) { out = CheckRule(s, in.Rule, time.Now()) })
	respond.JSON(w, http.StatusOK, out)
}
