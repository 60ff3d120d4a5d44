// Package admin is allot's own administration API under /allot/v1 that
// Graph does not cover: API tokens (and, as they come, explain, audit,
// position reports and catalog administration).
package admin

import (
	"net/http"
	"time"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/audit"
	"allot/auth"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
	"allot/tokens"
)

// Register mounts the admin API.
func Register(s *server.Server) {
	h := &handler{s}
	tenantParam := []openapi.Param{server.TenantParam}
	s.Route("POST /allot/v1/tenants/{tenantId}/tokens", openapi.Op{ID: "createToken", Tag: "admin", Summary: "Create an API token (the secret is shown once)",
		Body: tokenCreate{}, Example: `{"displayName":"Sales licensing script","roles":["LicenseAdministrator"]}`,
		Status: http.StatusCreated, Response: TokenView{}, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.createToken)
	s.Route("GET /allot/v1/tenants/{tenantId}/tokens", openapi.Op{ID: "listTokens", Tag: "admin", Summary: "List API tokens",
		Response: valueList[TokenView]{}, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.listTokens)
	s.Route("DELETE /allot/v1/tenants/{tenantId}/tokens/{id}", openapi.Op{ID: "revokeToken", Tag: "admin", Summary: "Revoke an API token",
		Status: http.StatusNoContent, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.revokeToken)
	s.Route("POST /allot/v1/rules/validate", openapi.Op{ID: "validateRule", Tag: "admin", Summary: "Validate a dynamic membership rule and preview who matches",
		Params: tenantParam, Body: ruleRequest{}, Example: `{"rule":"(user.department -eq \"Sales\") and (user.usageLocation -in [\"US\",\"CA\"])"}`,
		Response: RuleCheck{}, Errors: []int{http.StatusForbidden}}, h.validateRule)
	s.Route("POST /allot/v1/tenants/{tenantId}/import", openapi.Op{ID: "importTenant", Tag: "admin",
		Summary:     "Bulk import of users, groups, memberships and assignments (a tenant bundle as a .zip; all or nothing)",
		Description: "The bundle is the folder `allot export tenant` writes (users.csv, groups.csv, members.csv, licenses.csv, subscriptions.csv, seats.csv …), zipped. A file that does not validate is answered 400 naming the file and line; nothing is imported.",
		Body:        openapi.Schema{Schema: map[string]any{"type": "string", "contentMediaType": "application/zip"}}, BodyType: "application/zip",
		Response: importResult{}, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, h.importTenant)
	s.Route("GET /allot/v1/users/{id}/licenses/{skuId}/explain", openapi.Op{ID: "explainLicense", Tag: "admin",
		Summary: "Explain a user's license for a product: sources, seat, waiting room, errors",
		Params: []openapi.Param{server.TenantParam, {Name: "id", In: "path", Description: "The user's id or userPrincipalName"},
			{Name: "skuId", In: "path", Description: "A skuId or a part number (ENTERPRISEPACK)"}},
		Response: licensing.Explanation{}, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.explain)
	s.Route("POST /allot/v1/groups/{id}/reprocessLicenseAssignment", openapi.Op{ID: "reprocessGroupLicenses", Tag: "admin",
		Summary: "Reprocess the licenses of every member of a group (the admin center's Reprocess; Graph has it per user only)",
		Params:  tenantParam, Response: reprocessResult{}, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.reprocessGroup)
	auditParams := append([]openapi.Param{server.TenantParam}, auditQueryParams()...)
	s.Route("GET /allot/v1/audit", openapi.Op{ID: "queryAudit", Tag: "admin", Summary: "Query the audit log (newest first; filters; paged)",
		Params: auditParams, Response: auditPage{}, Errors: []int{http.StatusForbidden}}, h.auditLog)
	s.Route("GET /allot/v1/catalog/products", openapi.Op{ID: "listProducts", Tag: "admin", Summary: "List the tenant's catalog (Microsoft's products and its own)",
		Params: []openapi.Param{server.TenantParam, {Name: "custom", Type: "boolean", Description: "true: only the tenant's own products"},
			{Name: "search", Description: "Words of the part number, name or plans"}},
		Response: valueList[catalog.SKU]{}, Errors: []int{http.StatusForbidden}}, h.listProducts)
	s.Route("GET /allot/v1/catalog/products/{id}", openapi.Op{ID: "getProduct", Tag: "admin", Summary: "Get a product (skuId or part number)",
		Params: tenantParam, Response: catalog.SKU{}, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.getProduct)
	s.Route("POST /allot/v1/catalog/products", openapi.Op{ID: "createProduct", Tag: "admin", Summary: "Add a custom product",
		Params: tenantParam, Body: productCreate{},
		Example: `{"skuPartNumber":"CONTOSO_CRM","displayName":"Contoso CRM seat","appliesTo":"User","servicePlans":[{"servicePlanId":"6f1e4a2b-7c3d-4e5f-8a9b-0c1d2e3f4a5b","servicePlanName":"CONTOSO_CRM_CORE","friendlyName":"Contoso CRM"}]}`,
		Status:  http.StatusCreated, Response: catalog.SKU{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, h.createProduct)
	registerSettings(s, h)
}

// valueList is a list answer: {"value": [...]}.
type valueList[T any] struct {
	Value []T `json:"value"`
}

// auditQueryParams are the query parameters of GET /allot/v1/audit
// (audit.QueryParams: the handler accepts exactly these).
func auditQueryParams() []openapi.Param {
	out := make([]openapi.Param, 0, len(audit.QueryParams))
	for _, q := range audit.QueryParams {
		out = append(out, openapi.Param{Name: q.Name, Description: q.Description})
	}
	return out
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
	var in tokenCreate
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
	respond.JSON(w, http.StatusOK, valueList[TokenView]{Value: out})
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

// tokenCreate is the body of POST /allot/v1/tenants/{tenantId}/tokens.
type tokenCreate struct {
	DisplayName  string   `json:"displayName"`
	Roles        []string `json:"roles" required:"true" enum:"GlobalAdministrator,LicenseAdministrator,UserAdministrator,GroupsAdministrator,GlobalReader,ReportsReader,AllotmentOwner"`
	AllotmentIDs []string `json:"allotmentIds" doc:"AllotmentOwner: the allotments it manages"`
}
