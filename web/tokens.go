package web

import (
	"net/http"
	"slices"
	"strings"

	"allot/auth"
	"allot/store"
	"allot/tenant"
	"allot/tokens"
)

// The tokens page (Global Administrators and the partner administrator,
// as /allot/v1/tenants/{id}/tokens): the tenant's API tokens, a form to
// create one (its secret is shown once, on the answer to the form, and
// never stored), and revocation. Creating and revoking go through package
// tokens, as the API does.

var tokenFormFields = []string{"displayName", "roles", "allotmentIds"}

type tokensData struct {
	F          *formState
	Tokens     []store.Token
	Roles      []string
	Allotments []namedLink
	// Created is the token just created, with its secret (shown once).
	Created *store.Token
	Secret  string
	// Names of allotments by id, for the list.
	Names map[string]string
}

func (h *handler) renderTokens(w http.ResponseWriter, r *http.Request, v *viewer, status int, d tokensData) {
	ts, err := h.s.Store.ListTokens(r.Context(), v.T.ID)
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	// Newest first; revoked ones after the live ones.
	slices.SortStableFunc(ts, func(a, b store.Token) int {
		if (a.RevokedAt == nil) != (b.RevokedAt == nil) {
			if a.RevokedAt == nil {
				return -1
			}
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	d.Tokens, d.Roles, d.Names = ts, auth.TenantRoles, map[string]string{}
	v.T.Read(func(s *tenant.State) {
		for _, a := range s.Engine.Allotments() {
			d.Allotments = append(d.Allotments, namedLink{a.ID, a.DisplayName})
			d.Names[a.ID] = a.DisplayName
		}
	})
	if d.F == nil {
		d.F = &formState{}
	}
	h.render(w, r, v, status, "tokens", pageData{Title: "API tokens", Nav: "tokens", Data: d})
}

func (h *handler) tokensPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.renderTokens(w, r, v, http.StatusOK, tokensData{})
}

// createToken creates a token from the form and shows its secret once.
func (h *handler) createToken(w http.ResponseWriter, r *http.Request, v *viewer) {
	f := formOf(r, tokenFormFields...)
	tok, secret, err := tokens.Create(r.Context(), h.s.Store, v.T, v.op(h.now(), "admin center"),
		tokens.Request{DisplayName: f.V("displayName"), Roles: f.Multi["roles"], AllotmentIDs: f.Multi["allotmentIds"]})
	if err != nil {
		status := f.refuse(err, tokenFormFields...)
		if f.Field == "" && strings.Contains(f.Error, "role") { // "A token needs at least one role", "Unknown role"
			f.Field = "roles"
		}
		h.renderTokens(w, r, v, status, tokensData{F: f})
		return
	}
	h.renderTokens(w, r, v, http.StatusCreated, tokensData{Created: &tok, Secret: secret})
}

// revokeToken revokes a token; it stops working at once.
func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request, v *viewer) {
	err := tokens.Revoke(r.Context(), h.s.Store, h.s.Auth, v.T, v.op(h.now(), "admin center"), r.PathValue("id"))
	h.done(w, r, "/admin/tokens", err, "Token revoked; it no longer signs anyone in.")
}
