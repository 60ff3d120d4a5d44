package rules

import "errors"

// Check is a rule checked against a tenant (POST /allot/v1/rules/validate,
// the admin center's rule preview, `allot groups rule-test`): either the
// rule's errors with their positions, or how many users it matches now and
// the first of them — the preview an administrator wants before saving.
// licensing.Engine.CheckRule makes one.
type Check struct {
	Valid      bool         `json:"valid"`
	Errors     []CheckError `json:"errors,omitempty"`
	MatchCount *int         `json:"matchCount,omitempty"`
	Sample     []SampleUser `json:"sample,omitempty"`
}

// CheckError is one problem of a rule.
type CheckError struct {
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

// Invalid is the check of a rule that err (from Parse) refuses: each
// *Error with its position; any other error at the rule's start.
func Invalid(err error) Check {
	var list ErrorList
	var one *Error
	out := Check{Valid: false}
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			out.Errors = append(out.Errors, CheckError{Position{e.Line, e.Column, e.Offset}, e.Error()})
		}
	case errors.As(err, &one):
		out.Errors = append(out.Errors, CheckError{Position{one.Line, one.Column, one.Offset}, one.Error()})
	default:
		out.Errors = append(out.Errors, CheckError{Position{1, 1, 0}, err.Error()})
	}
	return out
}
