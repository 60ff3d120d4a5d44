package admin_test

import (
	"context"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/partner"
	"allot/licensing"
	"allot/tenant"
)

// The Entra admin center reprocesses a group's licenses ("Reprocess" on the
// group's Licenses page); Graph offers it per user only
// (users/{id}/reprocessLicenseAssignment). allot offers both.
func TestReprocessGroupLicensesReprocessesEveryLicensedMember(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", 1)
	tn, _ := e.RT.Get(id)
	err := tn.Do(context.Background(), licensing.Op{Actor: "t", Now: time.Now()}, func(tx *tenant.Tx) error {
		for _, u := range []string{"a", "b"} {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: u, UserPrincipalName: u + "@c", UsageLocation: "US"}); err != nil {
				return err
			}
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g", DisplayName: "G", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g", []licensing.AssignedLicense{{SKUID: "05e9a617-0261-4cee-bb44-138d3ef5d965"}}, nil); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, "g", []string{"a", "b"})
	})
	if err != nil {
		t.Fatal(err)
	}
	la := e.Token(id, "LicenseAdministrator")
	r := e.Must(200, "POST", "/allot/v1/groups/g/reprocessLicenseAssignment", la, nil).JSON()
	if r["id"] != "g" || r["reprocessedUsers"].(float64) != 2 {
		t.Fatalf("reprocess answered %v", r)
	}
	e.Must(404, "POST", "/allot/v1/groups/nope/reprocessLicenseAssignment", la, nil)
	e.Must(403, "POST", "/allot/v1/groups/g/reprocessLicenseAssignment", e.Token(id, "GlobalReader"), nil)
}
