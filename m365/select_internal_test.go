package m365

import (
	"slices"
	"strings"
	"testing"

	"allot/userprop"
)

// A sync reads ($select) every property it makes read-only on a synced
// user: the registry's Entra properties and onPremisesExtensionAttributes.
func TestSyncSelectsWhatEntraOwns(t *testing.T) {
	sel := strings.Split(userSelect, ",")
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Entra && !slices.Contains(sel, p.Name) {
			t.Errorf("the sync's $select lacks %s, which it makes read-only", p.Name)
		}
	}
	for _, f := range EntraOwnedUserFields {
		if !slices.Contains(sel, f) {
			t.Errorf("the sync's $select lacks %s", f)
		}
	}
	for _, f := range []string{"id", "createdDateTime", "assignedLicenses", "licenseAssignmentStates", "assignedPlans"} {
		if !slices.Contains(sel, f) {
			t.Errorf("the sync's $select lacks %s", f)
		}
	}
}
