package admin

import (
	"net/http"

	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/settings"
	"allot/tenant"
)

// Tenant licensing settings (GET/PATCH /allot/v1/settings): the default
// usage location used for group assignments to users without one,
// excludeGuestsFromGroupLicensing, nestedGroupLicensing and the leave
// attribute the license position reads (leaveAttribute). Microsoft Graph
// has no resource for these, so they live under /allot/v1. A change
// re-derives every license it can affect in the same command.

// SettingsPatch is a change of the tenant settings (package settings).
type SettingsPatch = settings.Patch

func registerSettings(s *server.Server, h *handler) {
	s.Route("GET /allot/v1/settings", openapi.Op{ID: "getSettings", Tag: "admin", Summary: "The tenant's licensing settings",
		Params: []openapi.Param{server.TenantParam}, Response: licensing.Settings{}, Errors: []int{http.StatusForbidden}}, h.getSettings)
	s.Route("PATCH /allot/v1/settings", openapi.Op{ID: "updateSettings", Tag: "admin", Summary: "Change the licensing settings (licenses are re-evaluated at once)",
		Params: []openapi.Param{server.TenantParam}, Body: SettingsPatch{},
		Example:  `{"defaultUsageLocation":"US","excludeGuestsFromGroupLicensing":true,"leaveAttribute":"extensionAttribute3"}`,
		Response: licensing.Settings{}, Errors: []int{http.StatusForbidden}}, h.patchSettings)
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.ReadReports, t.ID) {
		return
	}
	var out licensing.Settings
	t.Read(func(s *tenant.State) { out = s.Engine.Settings() })
	respond.JSON(w, http.StatusOK, out)
}

func (h *handler) patchSettings(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.ManageLicensing, t.ID) {
		return
	}
	var in SettingsPatch
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	out, err := settings.Change(r.Context(), h.s.RT, t, licensing.Op{Actor: p.Actor()}, in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}
