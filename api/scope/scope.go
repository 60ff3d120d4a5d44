// Package scope decides what a delegated allotment owner may see and
// change: it is the one place every surface (Graph, beta cloudLicensing,
// the position, SCIM, usage, the admin center) asks. An AllotmentOwner
// token is scoped to its allotments: their assignments and waiting
// members, the groups assigned through them (whose members the owner
// manages while every license of the group comes from its allotments) and
// the users assigned through them, directly or as members of those groups;
// of those users it sees only the licenses its allotments give, and of the
// tenant's custom products only its allotments'. Everything else answers 404 —
// never 403 — so that an owner cannot learn that other objects exist.
package scope

import (
	"net/http"
	"slices"
	"strings"

	"allot"
	"allot/api/respond"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
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

// Licenses reports whether a license record or source state drawing from
// the allotment (allotmentID; "" for the tenant's general pool) is in
// scope: an owner sees only the licenses its allotments give, never those
// from the general pool or from other allotments (their groups, their
// ids, their states).
func (s *Scope) Licenses(allotmentID string) bool {
	return s == nil || (allotmentID != "" && s.allotments[allotmentID])
}

// SKU reports whether a product is in scope: an owner sees the products
// of its allotments only (not the tenant's other subscriptions, nor its
// custom products).
func (s *Scope) SKU(e *licensing.Engine, skuID string) bool {
	if s == nil {
		return true
	}
	for id := range s.allotments {
		if a, ok := e.AllotmentByID(id); ok && strings.EqualFold(a.SKUID, skuID) {
			return true
		}
	}
	return false
}

// OwnsGroup reports whether every license the group carries — itself, or
// through the groups it is nested in (which pass theirs on when the
// tenant licenses nested groups) — comes through the scope's allotments
// (true for a group without licenses). Only then does a change of its
// members touch nothing but the owner's seats: in allot a group's only
// effect is licensing.
func (s *Scope) OwnsGroup(e *licensing.Engine, groupID string) bool {
	if s == nil {
		return true
	}
	for _, g := range append(e.TransitiveGroupsOf(groupID), groupID) {
		for _, l := range e.GroupLicenses(g) {
			if l.AllotmentID == "" || !s.allotments[l.AllotmentID] {
				return false
			}
		}
	}
	return true
}

// MayAssign is the one decision on what an owner may assign through its
// allotments (the API and the admin center both ask it): a user, named by
// its object id; a group only when every license it carries already comes
// through the owner's allotments (a group without licenses, or one of its
// own) — a group licensed from the general pool or another allotment is
// someone else's, and assigning it would hand its members to the owner.
// False answers 404: the target is treated as invisible. The allotment
// itself is checked separately (Allotment).
func (s *Scope) MayAssign(e *licensing.Engine, targetID string) bool {
	if s == nil {
		return true
	}
	if _, ok := e.User(targetID); ok {
		return true
	}
	return e.IsGroup(targetID) && s.OwnsGroup(e, targetID)
}

// MayChangeMembers decides whether the principal may add or remove
// members of a group: visible is false outside the scope (404); allowed
// is false for a group in scope that also carries licenses from outside
// the owner's allotments (an administrator licensed it since), because
// removing a member would strip those (403).
func (s *Scope) MayChangeMembers(e *licensing.Engine, groupID string) (visible, allowed bool) {
	if s == nil {
		return true, true
	}
	if !s.Group(groupID) {
		return false, false
	}
	return true, s.OwnsGroup(e, groupID)
}

// ErrForeignLicenses is the refusal of a member change in a group in scope
// that also carries licenses from outside the owner's allotments
// (MayChangeMembers: visible, not allowed).
var ErrForeignLicenses = allot.NewError(allot.EFORBIDDEN,
	"Insufficient privileges to complete the operation: the group also carries licenses that do not come from your allotments.")

// ownerAllotmentProps are the properties of an allotment in scope that its
// delegated owner may change: its name and its owners. Its product, units
// and assignableTo are an administrator's (auth.ManageLicensing): they
// decide how many of the tenant's seats the owner may hand out.
var ownerAllotmentProps = []string{"displayName", "owners"}

// MayChangeAllotment decides whether the principal may change the named
// properties (API names) of an allotment it reaches (check Allotment
// first): an administrator with auth.ManageLicensing any, an allotment
// owner its displayName and owners only. The refusal is EFORBIDDEN (the
// allotment is visible to the owner, so 403, not 404). The beta
// allotments API's PATCH and the admin center's allotment form ask it.
func MayChangeAllotment(p *auth.Principal, tenantID string, props ...string) error {
	if auth.Can(p, auth.ManageLicensing, tenantID) {
		return nil
	}
	for _, prop := range props {
		if p == nil || !Limited(p) || !slices.Contains(ownerAllotmentProps, prop) {
			return allot.NewError(allot.EFORBIDDEN, "Only a Global or License Administrator can change an allotment's product, units or assignableTo.")
		}
	}
	return nil
}

// FindUser resolves a user reference as the principal may: by object id
// anywhere (ids are opaque, so an answer reveals nothing the caller did
// not know), by userPrincipalName only among the users in scope — so that
// an owner cannot probe which names exist in the tenant: an unknown name
// and a name outside the scope answer the same.
func (s *Scope) FindUser(e *licensing.Engine, ref string) (licensing.User, bool) {
	if u, ok := e.User(ref); ok {
		return u, true
	}
	u, ok := e.UserByUPN(ref)
	if !ok || !s.User(u.ID) {
		return licensing.User{}, false
	}
	return u, true
}

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

// Require reports whether the principal may perform the action in the
// tenant (auth.Can); when it may not, it answers the request with Deny.
func Require(w http.ResponseWriter, r *http.Request, p *auth.Principal, a auth.Action, tenantID string) bool {
	if auth.Can(p, a, tenantID) {
		return true
	}
	Deny(w, r, p)
	return false
}

// Tenant is the request's tenant and principal (server.Server.Tenant) when
// the principal may perform a there (Require); otherwise it answers the
// request (the error, or the denial) and ok is false.
func Tenant(s *server.Server, w http.ResponseWriter, r *http.Request, a auth.Action) (t *tenant.Tenant, p *auth.Principal, ok bool) {
	t, p, err := s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if !Require(w, r, p, a, t.ID) {
		return nil, nil, false
	}
	return t, p, true
}
