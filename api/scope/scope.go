// Package scope decides what a delegated allotment owner may see and
// change. An AllotmentOwner token is scoped to its allotments: their
// assignments and waiting members, the groups assigned through them (whose
// members the owner manages) and the users assigned through them, directly
// or as members of those groups. Everything else answers 404 — never 403 —
// so that an owner cannot learn that other objects exist.
package scope

import (
	"net/http"
	"slices"

	"allot/api/respond"

	"allot/auth"
	"allot/licensing"
)

// Scope is what one principal may reach in one tenant state. A nil *Scope
// (for every role but AllotmentOwner) reaches everything.
type Scope struct {
	allotments map[string]bool
	groups     map[string]bool
	users      map[string]bool
}

// Of builds the scope of a principal over an engine; nil when the principal
// is not limited to allotments (check its roles separately).
func Of(p *auth.Principal, e *licensing.Engine) *Scope {
	if p == nil || p.IsPartner() || !Limited(p) {
		return nil
	}
	s := &Scope{allotments: map[string]bool{}, groups: map[string]bool{}, users: map[string]bool{}}
	for _, id := range p.AllotmentIDs {
		if _, ok := e.AllotmentByID(id); !ok {
			continue
		}
		s.allotments[id] = true
		for _, a := range e.AllotmentAssignments(id) {
			if a.TargetIsGroup {
				s.groups[a.TargetID] = true
				us, _ := e.Members(a.TargetID)
				for _, u := range us {
					s.users[u] = true
				}
			} else {
				s.users[a.TargetID] = true
			}
		}
	}
	return s
}

// Limited reports whether a principal's only power is over allotments.
func Limited(p *auth.Principal) bool {
	if !slices.Contains(p.Roles, auth.RoleAllotmentOwner) {
		return false
	}
	for _, r := range p.Roles {
		if r != auth.RoleAllotmentOwner {
			return false
		}
	}
	return true
}

// Allotment reports whether the allotment is in scope.
func (s *Scope) Allotment(id string) bool { return s == nil || s.allotments[id] }

// Group reports whether the group is in scope.
func (s *Scope) Group(id string) bool { return s == nil || s.groups[id] }

// User reports whether the user is in scope.
func (s *Scope) User(id string) bool { return s == nil || s.users[id] }

// Deny answers a request the principal may not make: 404 for allotment
// owners (nothing outside their scope may be seen to exist), Graph's 403
// for everyone else.
func Deny(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if p != nil && Limited(p) {
		respond.Status(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+r.URL.Path+"' does not exist or is not visible to you.")
		return
	}
	respond.Denied(w, r)
}
