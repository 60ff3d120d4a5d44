package admin

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/tenant"
)

// Tenant licensing settings (GET/PATCH /allot/v1/settings): the default
// usage location used for group assignments to users without one,
// excludeGuestsFromGroupLicensing, nestedGroupLicensing and the leave
// attribute the license position reads (leaveAttribute). Microsoft Graph
// has no resource for these, so they live under /allot/v1. A change
// re-derives every license it can affect in the same command.

// SettingsPatch is a change of the tenant settings: nil fields stay.
type SettingsPatch struct {
	DefaultUsageLocation *string `json:"defaultUsageLocation"`
	ExcludeGuests        *bool   `json:"excludeGuestsFromGroupLicensing"`
	NestedGroups         *bool   `json:"nestedGroupLicensing"`
	// LeaveAttribute: extensionAttribute1 … extensionAttribute15, or "" for
	// none (licensing.Settings.LeaveAttribute).
	LeaveAttribute *string `json:"leaveAttribute"`
}

// CheckLeaveAttribute validates a leave attribute name: one of Entra's
// onPremises extension attributes (extensionAttribute1 …
// extensionAttribute15, any case), or "" for none. It returns the name as
// Graph spells it.
func CheckLeaveAttribute(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(name), "extensionattribute"); ok {
		for i := 1; i <= 15; i++ {
			if rest == strconv.Itoa(i) {
				return "extensionAttribute" + rest, nil
			}
		}
	}
	return "", allot.Errorf(allot.EINVALID, "leaveAttribute %q is not an extension attribute: use extensionAttribute1 to extensionAttribute15, or \"\" for none.", name)
}

// settingsReaders may read the settings; settingsWriters change them.
var (
	settingsReaders = []string{auth.RoleGlobalAdministrator, auth.RoleLicenseAdministrator, auth.RoleUserAdministrator,
		auth.RoleGroupsAdministrator, auth.RoleGlobalReader, auth.RoleReportsReader}
	settingsWriters = []string{auth.RoleGlobalAdministrator, auth.RoleLicenseAdministrator}
)

// CanChangeSettings reports whether a principal may change the settings.
func CanChangeSettings(p *auth.Principal) bool { return p.IsPartner() || p.Has(settingsWriters...) }

// ChangeSettings validates a patch and applies it as one command on the
// tenant (licensing.Engine.SetSettings re-derives the licenses), then keeps
// the tenant record's default usage location in step. A bad or empty patch
// is refused (EINVALID) and changes nothing.
func ChangeSettings(ctx context.Context, rt *tenant.Runtime, t *tenant.Tenant, op licensing.Op, in SettingsPatch) (licensing.Settings, error) {
	if in.DefaultUsageLocation == nil && in.ExcludeGuests == nil && in.NestedGroups == nil && in.LeaveAttribute == nil {
		return licensing.Settings{}, allot.Errorf(allot.EINVALID, "Nothing to change: send defaultUsageLocation, excludeGuestsFromGroupLicensing, nestedGroupLicensing and/or leaveAttribute.")
	}
	var leave string
	if in.LeaveAttribute != nil {
		var err error
		if leave, err = CheckLeaveAttribute(*in.LeaveAttribute); err != nil {
			return licensing.Settings{}, err
		}
	}
	var loc string
	if in.DefaultUsageLocation != nil {
		loc = strings.ToUpper(strings.TrimSpace(*in.DefaultUsageLocation))
		if !licensing.ValidUsageLocation(loc) {
			return licensing.Settings{}, allot.Errorf(allot.EINVALID, "defaultUsageLocation %q is not an ISO 3166 two-letter country code.", *in.DefaultUsageLocation)
		}
	}
	var out licensing.Settings
	err := t.Do(ctx, op, func(tx *tenant.Tx) error {
		s := tx.Engine.Settings()
		var changes []string
		if loc != "" && loc != s.DefaultUsageLocation {
			changes = append(changes, "defaultUsageLocation "+s.DefaultUsageLocation+" → "+loc)
			s.DefaultUsageLocation = loc
		}
		if in.ExcludeGuests != nil && *in.ExcludeGuests != s.ExcludeGuests {
			changes = append(changes, "excludeGuestsFromGroupLicensing "+onOff(s.ExcludeGuests)+" → "+onOff(*in.ExcludeGuests))
			s.ExcludeGuests = *in.ExcludeGuests
		}
		if in.NestedGroups != nil && *in.NestedGroups != s.NestedGroups {
			changes = append(changes, "nestedGroupLicensing "+onOff(s.NestedGroups)+" → "+onOff(*in.NestedGroups))
			s.NestedGroups = *in.NestedGroups
		}
		if in.LeaveAttribute != nil && leave != s.LeaveAttribute {
			changes = append(changes, "leaveAttribute "+quoted(s.LeaveAttribute)+" → "+quoted(leave))
			s.LeaveAttribute = leave
		}
		out = s
		if len(changes) == 0 {
			return nil
		}
		o := tx.Op
		o.Why = strings.Join(changes, "; ")
		return tx.Engine.SetSettings(o, s)
	})
	if err != nil {
		return licensing.Settings{}, err
	}
	if info := t.Info(); info.DefaultUsageLocation != out.DefaultUsageLocation {
		info.DefaultUsageLocation = out.DefaultUsageLocation
		if err := rt.UpdateInfo(ctx, info); err != nil {
			return out, err
		}
	}
	return out, nil
}

func quoted(s string) string { return strconv.Quote(s) }

func onOff(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func registerSettings(s *server.Server, h *handler) {
	s.Handle("GET /allot/v1/settings", h.getSettings)
	s.Handle("PATCH /allot/v1/settings", h.patchSettings)
}

func (h *handler) getSettings(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !p.IsPartner() && !p.Has(settingsReaders...) {
		scope.Deny(w, r, p)
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
	if !CanChangeSettings(p) {
		scope.Deny(w, r, p)
		return
	}
	var in SettingsPatch
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	out, err := ChangeSettings(r.Context(), h.s.RT, t, licensing.Op{Actor: p.Actor(), Now: time.Now().UTC()}, in)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}
