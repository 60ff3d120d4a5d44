package web

import (
	"net/http"
	"strconv"

	"allot/auth"
	"allot/licensing"
	"allot/settings"
	"allot/tenant"
)

// The settings page shows the tenant's licensing settings and, for those
// who may change them (Global and License Administrators, as PATCH
// /allot/v1/settings), a form; a change re-derives the licenses in the same
// command (settings.Change).

type settingsData struct {
	Settings     licensing.Settings
	CanChange    bool
	LeaveOptions []string // the attributes that may mark leave
}

var leaveOptions = func() []string {
	out := make([]string, 15)
	for i := range out {
		out[i] = "extensionAttribute" + strconv.Itoa(i+1)
	}
	return out
}()

func (h *handler) settingsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	var d settingsData
	v.T.Read(func(s *tenant.State) { d.Settings = s.Engine.Settings() })
	d.CanChange = v.can(auth.ManageLicensing)
	d.LeaveOptions = leaveOptions
	h.render(w, r, v, http.StatusOK, "settings", pageData{Title: "Settings", Nav: "settings", Data: d})
}

// saveSettings applies the form: a checkbox absent from the form is off.
func (h *handler) saveSettings(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !v.can(auth.ManageLicensing) {
		h.fail(w, r, v, http.StatusForbidden, "Only Global and License Administrators can change the licensing settings.")
		return
	}
	_, err := settings.Change(r.Context(), h.s.RT, v.T, v.op(h.now(), "admin center"), settingsPatchOf(r))
	h.done(w, r, "/admin/settings", err, "Settings saved; licenses were re-evaluated.")
}

// settingsPatchOf reads the settings form (the save and the what-if).
func settingsPatchOf(r *http.Request) settings.Patch {
	loc := r.PostFormValue("defaultUsageLocation")
	exclude := r.PostFormValue("excludeGuests") == "on"
	nested := r.PostFormValue("nestedGroups") == "on"
	leave := r.PostFormValue("leaveAttribute")
	return settings.Patch{DefaultUsageLocation: &loc, ExcludeGuests: &exclude, NestedGroups: &nested, LeaveAttribute: &leave}
}
