package m365_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/m365"
	"allot/tenant"
	"allot/userprop"
)

// The properties Entra owns on a synced user are the registry's Entra
// properties (and onPremisesExtensionAttributes): a change of each is
// refused on a synced user and allowed on another; every Microsoft Graph
// property of the registry is Entra's or named here as allot's own, so a
// property added to the registry fails this test until its entry says
// whether a sync owns it.
func TestEntraOwnsTheRegistrysEntraProperties(t *testing.T) {
	notEntras := map[string]bool{
		"id": true, "createdDateTime": true, // read-only everywhere
		// Not read by a sync: allot's to change on a synced user.
		"mobilePhone": true, "officeLocation": true, "preferredLanguage": true, "postalCode": true, "state": true,
		"streetAddress": true, "employeeType": true,
	}
	ctx := context.Background()
	rt := tenanttest.Runtime(t, tenanttest.Store(t), nil)
	tn := tenanttest.Tenant(t, rt, "contoso")
	err := tn.Do(ctx, licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error {
		for _, id := range []string{"synced", "local"} {
			u := licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", DisplayName: id, AccountEnabled: true}
			if err := tx.Engine.PutUser(tx.Op, u); err != nil {
				return err
			}
		}
		return tx.Put(m365.KindSynced, "user/synced", map[string]any{"conn": "c1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.MicrosoftGraph && !p.Entra && !notEntras[p.Name] {
			t.Errorf("registry property %s is neither Entra's on a synced user nor named as allot's own", p.Name)
		}
		if p.Entra && notEntras[p.Name] {
			t.Errorf("%s is Entra's and named as allot's own", p.Name)
		}
		if !p.Entra {
			continue
		}
		n++
		if !slices.Contains(m365.EntraOwnedUserFields, p.Name) {
			t.Errorf("EntraOwnedUserFields lacks %s", p.Name)
		}
		checkPatch(t, tn, p.Name)
	}
	if n < 15 || !slices.Contains(m365.EntraOwnedUserFields, "onPremisesExtensionAttributes") || len(m365.EntraOwnedUserFields) != n+1 {
		t.Fatalf("EntraOwnedUserFields %v: %d registry properties", m365.EntraOwnedUserFields, n)
	}
	checkPatch(t, tn, "onPremisesExtensionAttributes")
	for name := range notEntras {
		tn.Read(func(s *tenant.State) {
			if err := m365.CheckPatch(s, "user", "synced", map[string]string{strings.ToLower(name): name}); err != nil {
				t.Errorf("a change of %s on a synced user: %v", name, err)
			}
		})
	}
}

// checkPatch checks that a change of the property named is refused on the
// synced user, naming it, and allowed on the other.
func checkPatch(t *testing.T, tn *tenant.Tenant, name string) {
	t.Helper()
	names := map[string]string{strings.ToLower(name): name}
	tn.Read(func(s *tenant.State) {
		if err := m365.CheckPatch(s, "user", "synced", names); err == nil || !strings.Contains(err.Error(), "Property '"+name+"'") {
			t.Errorf("a change of %s on a synced user: %v", name, err)
		}
		if err := m365.CheckPatch(s, "user", "local", names); err != nil {
			t.Errorf("a change of %s on a user not synced: %v", name, err)
		}
	})
}
