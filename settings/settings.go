// Package settings changes a tenant's licensing settings
// (licensing.Settings: the default usage location used for group
// assignments to users without one, excludeGuestsFromGroupLicensing,
// leaveAttribute,
// nestedGroupLicensing) — the one function behind PATCH /allot/v1/settings,
// `allot tenant settings` and the admin center's settings page.
package settings

import (
	"context"
	"strconv"
	"strings"

	"allot"
	"allot/licensing"
	"allot/tenant"
)

// Patch is a change of the tenant settings: nil fields stay.
type Patch struct {
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

// Change validates a patch and applies it as one command on the
// tenant (Apply), then keeps the tenant record's default usage location in
// step. A bad or empty patch is refused (EINVALID) and changes nothing.
func Change(ctx context.Context, rt *tenant.Runtime, t *tenant.Tenant, op licensing.Op, in Patch) (licensing.Settings, error) {
	if err := Check(in); err != nil {
		return licensing.Settings{}, err
	}
	var out licensing.Settings
	err := t.Do(ctx, op, func(tx *tenant.Tx) error {
		var err error
		out, err = Apply(tx, in)
		return err
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

// Check validates a patch without a tenant: something to change, a leave
// attribute Entra has, a usage location that is an ISO 3166 code.
func Check(in Patch) error {
	_, _, err := check(in)
	return err
}

func check(in Patch) (loc, leave string, err error) {
	if in.DefaultUsageLocation == nil && in.ExcludeGuests == nil && in.NestedGroups == nil && in.LeaveAttribute == nil {
		return "", "", allot.Errorf(allot.EINVALID, "Nothing to change: send defaultUsageLocation, excludeGuestsFromGroupLicensing, nestedGroupLicensing and/or leaveAttribute.")
	}
	if in.LeaveAttribute != nil {
		if leave, err = CheckLeaveAttribute(*in.LeaveAttribute); err != nil {
			return "", "", err
		}
	}
	if in.DefaultUsageLocation != nil {
		loc = strings.ToUpper(strings.TrimSpace(*in.DefaultUsageLocation))
		if !licensing.ValidUsageLocation(loc) {
			return "", "", allot.Errorf(allot.EINVALID, "defaultUsageLocation %q is not an ISO 3166 two-letter country code.", *in.DefaultUsageLocation)
		}
	}
	return loc, leave, nil
}

// Apply validates a patch (Check) and applies it in a command
// (licensing.Engine.SetSettings re-derives the licenses; the audit entry's
// reason lists each change with its old and new value). It returns the
// settings after the change; a refused patch changes nothing. Change
// calls it on the tenant; the what-if (package whatif) on a copy it sets
// back.
func Apply(tx *tenant.Tx, in Patch) (licensing.Settings, error) {
	loc, leave, err := check(in)
	if err != nil {
		return licensing.Settings{}, err
	}
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
	if len(changes) == 0 {
		return s, nil
	}
	o := tx.Op
	o.Why = strings.Join(changes, "; ")
	return s, tx.Engine.SetSettings(o, s)
}

func quoted(s string) string { return strconv.Quote(s) }

func onOff(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
