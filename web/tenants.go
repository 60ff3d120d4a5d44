package web

import (
	"net/http"

	"allot"

	"allot/auth"
	"allot/m365"
	"allot/store"
)

// partnerOnly wraps the customer picker: only a signed-in partner
// administrator reaches it; a tenant principal goes to the dashboard.
func (h *handler) partnerOnly(fn func(http.ResponseWriter, *http.Request, *auth.Principal, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, secret := h.session(r)
		if p == nil {
			if r.Method != http.MethodGet {
				h.fail(w, r, nil, http.StatusForbidden, "Your session has ended. Sign in again.")
				return
			}
			http.Redirect(w, r, "/admin/signin", http.StatusSeeOther)
			return
		}
		if !p.IsPartner() {
			http.Redirect(w, r, "/admin/", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !h.checkCSRF(r, secret) {
				h.fail(w, r, nil, http.StatusForbidden, "The form has expired or did not come from this site. Reload the page and try again.")
				return
			}
		}
		fn(w, r, p, secret)
	}
}

type tenantsData struct {
	CSRF      string
	Name      string
	Customers []store.Tenant
	// Connections are the customers' Microsoft 365 connections by tenant
	// id (the partner's view of every connection's health, as GET
	// /partner/v1/connections); nil without WithM365.
	Connections map[string][]m365.View
}

// tenantsPage lets a partner administrator choose the customer to work
// on, with each customer's Microsoft 365 connections and their health.
func (h *handler) tenantsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal, secret string) {
	d := tenantsData{CSRF: h.csrfToken(secret), Name: p.DisplayName, Customers: h.s.RT.List()}
	if h.m365 != nil {
		d.Connections = map[string][]m365.View{}
		for _, v := range h.m365.Health() {
			d.Connections[v.TenantID] = append(d.Connections[v.TenantID], v)
		}
	}
	h.render(w, r, nil, http.StatusOK, "tenants", pageData{Title: "Choose a customer", Data: d})
}

// chooseTenant remembers the chosen customer in a cookie.
func (h *handler) chooseTenant(w http.ResponseWriter, r *http.Request, p *auth.Principal, secret string) {
	id := r.PostFormValue("tenant")
	if _, err := h.s.TenantByID(r, id); allot.ErrorCode(err) == allot.ENOTFOUND {
		h.fail(w, r, nil, http.StatusNotFound, "That customer does not exist.")
		return
	} else if err != nil {
		h.failErr(w, r, nil, err)
		return
	}
	h.setCookie(w, r, cookieTenant, id, 12*3600)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}
