// Package admin is allot's own administration API under /allot/v1 that
// Graph does not cover: API tokens (and, as they come, explain, audit,
// position reports and catalog administration).
package admin

import (
	"net/http"
	"time"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
	"allot/tokens"
)

// Register mounts the admin API.
func Register(s *server.Server) {
	h := &handler{s}
	s.Handle("POST /allot/v1/tenants/{tenantId}/tokens", h.createToken)
	s.Handle("GET /allot/v1/tenants/{tenantId}/tokens", h.listTokens)
	s.Handle("DELETE /allot/v1/tenants/{tenantId}/tokens/{id}", h.revokeToken)
	s.Handle("POST /allot/v1/rules/validate", h.validateRule)
	s.Handle("POST /allot/v1/tenants/{tenantId}/import", h.importTenant)
	s.Handle("GET /allot/v1/users/{id}/licenses/{skuId}/explain", h.explain)
	s.Handle("POST /allot/v1/groups/{id}/reprocessLicenseAssignment", h.reprocessGroup)
	s.Handle("GET /allot/v1/audit", h.auditLog)
	s.Handle("GET /allot/v1/catalog/products", h.listProducts)
	s.Handle("GET /allot/v1/catalog/products/{id}", h.getProduct)
	s.Handle("POST /allot/v1/catalog/products", h.createProduct)
	registerSettings(s, h)
}

type handler struct{ s *server.Server }

// TokenView is a token as the API shows it; Token is only set on creation.
type TokenView struct {
	ID              string     `json:"id"`
	Token           string     `json:"token,omitempty"`
	DisplayName     string     `json:"displayName"`
	Roles           []string   `json:"roles"`
	AllotmentIDs    []string   `json:"allotmentIds,omitempty"`
	CreatedDateTime time.Time  `json:"createdDateTime"`
	RevokedDateTime *time.Time `json:"revokedDateTime,omitempty"`
}

func view(t store.Token, secret string) TokenView {
	return TokenView{ID: t.ID, Token: secret, DisplayName: t.DisplayName, Roles: t.Roles, AllotmentIDs: t.AllotmentIDs,
		CreatedDateTime: t.CreatedAt, RevokedDateTime: t.RevokedAt}
}

// tokenAdmin resolves {tenantId}: the partner administrator may manage any
// tenant's tokens, a Global Administrator only its own tenant's. Another
// tenant's id answers 404, so tenants cannot probe each other.
func (h *handler) tokenAdmin(w http.ResponseWriter, r *http.Request) (*tenant.Tenant, *auth.Principal, bool) {
	p := auth.FromContext(r.Context())
	id := r.PathValue("tenantId")
	if !p.IsPartner() && p.TenantID != id {
		respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "Tenant %s does not exist.", id))
		return nil, nil, false
	}
	if !auth.Can(p, auth.ManageTenant, id) {
		scope.Deny(w, r, p)
		return nil, nil, false
	}
	t, err := h.s.TenantByID(r, id)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	return t, p, true
}

func (h *handler) createToken(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tokenAdmin(w, r)
	if !ok {
		return
	}
	var in struct {
		DisplayName  string   `json:"displayName"`
		Roles        []string `json:"roles"`
		AllotmentIDs []string `json:"allotmentIds"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	tok, secret, err := tokens.Create(r.Context(), h.s.Store, t, licensing.Op{Actor: p.Actor(), Now: h.s.RT.Now()},
		tokens.Request{DisplayName: in.DisplayName, Roles: in.Roles, AllotmentIDs: in.AllotmentIDs})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, view(tok, secret))
}

func (h *handler) listTokens(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tokenAdmin(w, r)
	if !ok {
		return
	}
	ts, err := h.s.Store.ListTokens(r.Context(), t.ID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	out := make([]TokenView, 0, len(ts))
	for _, tk := range ts {
		out = append(out, view(tk, ""))
	}
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
}

func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tokenAdmin(w, r)
	if !ok {
		return
	}
	if err := tokens.Revoke(r.Context(), h.s.Store, h.s.Auth, t, licensing.Op{Actor: p.Actor(), Now: h.s.RT.Now()}, r.PathValue("id")); err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
