package auth

import (
	"strings"
	"testing"

	"allot/store"
)

// TestCanMatrix is the (action, role) matrix every surface authorises with
// (the HTTP role-matrix tests of api/graph, api/admin, api/usage,
// api/position, api/scim and web prove that each surface asks for the
// right action). A = allowed, - = denied; the partner administrator may do
// everything in every tenant, a tenant principal nothing in another tenant.
func TestCanMatrix(t *testing.T) {
	roles := []string{RoleGlobalAdministrator, RoleLicenseAdministrator, RoleUserAdministrator,
		RoleGroupsAdministrator, RoleGlobalReader, RoleReportsReader, RoleAllotmentOwner}
	//                        GA LA UA GrA GR RR AO
	matrix := map[Action]string{
		ReadDirectory:       "A  A  A  A   A  -  -",
		ReadReports:         "A  A  A  A   A  A  -",
		ReadLicenseUsage:    "A  A  -  -   A  A  -",
		ReadUsageRights:     "A  A  A  -   A  A  -",
		WriteUsers:          "A  -  A  -   -  -  -",
		UpdateUsageLocation: "A  A  A  -   -  -  -",
		AssignUserLicense:   "A  A  A  -   -  -  -",
		WriteGroups:         "A  -  A  A   -  -  -",
		AssignGroupLicense:  "A  A  A  A   -  -  -",
		RestoreDeletedItems: "A  -  A  A   -  -  -",
		ManageLicensing:     "A  A  -  -   -  -  -",
		ManageTenant:        "A  -  -  -   -  -  -",
		SendBatch:           "A  A  A  A   A  A  A",
		BrowseScoped:        "A  A  A  A   A  -  A",
		OpenAdminCenter:     "A  A  A  A   A  A  A",
		ReadAlerts:          "A  A  A  A   A  A  -",
		ManageAlerts:        "A  A  -  -   -  -  -",
		ReadReclamation:     "A  A  -  -   A  A  -",
		ManageReclamation:   "A  A  -  -   -  -  -",
	}
	if len(matrix) != len(roleTable) {
		t.Fatalf("the matrix has %d actions, the table %d", len(matrix), len(roleTable))
	}
	partner := &Principal{TenantID: store.PartnerTenant, Roles: []string{RolePartnerAdministrator}}
	for a, row := range matrix {
		cells := strings.Fields(row)
		for i, role := range roles {
			p := &Principal{TenantID: "t1", Roles: []string{role}}
			if got, want := Can(p, a, "t1"), cells[i] == "A"; got != want {
				t.Errorf("action %d, %s: Can = %v, want %v", a, role, got, want)
			}
			if Can(p, a, "t2") {
				t.Errorf("action %d, %s: allowed in another tenant", a, role)
			}
		}
		if !Can(partner, a, "t1") || !Can(partner, a, "t2") {
			t.Errorf("action %d: the partner administrator is refused", a)
		}
		if Can(nil, a, "t1") {
			t.Errorf("action %d: a nil principal is allowed", a)
		}
	}
	// A tenant principal named like the partner tenant without the role is
	// no partner.
	if Can(&Principal{TenantID: store.PartnerTenant, Roles: []string{RoleGlobalReader}}, ManageTenant, "t1") {
		t.Error("a partner-tenant token without PartnerAdministrator acts in t1")
	}
}
