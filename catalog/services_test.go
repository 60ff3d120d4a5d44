package catalog

import (
	"strings"
	"testing"
)

// Graph's assignedPlan.service is the workload ("exchange", "SharePoint",
// "MicrosoftCommunicationsOnline", …), not the service plan's name.
func TestAssignedPlanServiceIsTheWorkloadNotThePlanName(t *testing.T) {
	c := Default()
	want := map[string]string{
		"EXCHANGE_S_ENTERPRISE": "exchange",
		"SHAREPOINTENTERPRISE":  "SharePoint",
		"MCOSTANDARD":           "MicrosoftCommunicationsOnline",
		"TEAMS1":                "TeamspaceAPI",
		"OFFICESUBSCRIPTION":    "MicrosoftOffice",
		"INTUNE_A":              "SCO",
		"EXCHANGE_S_DESKLESS":   "exchange",                      // by its family (inferred)
		"MCOEV":                 "MicrosoftCommunicationsOnline", // by its family (inferred)
	}
	for name, svc := range want {
		p, ok := c.Plan(name)
		if !ok {
			t.Fatalf("no plan %s in the catalog", name)
		}
		if got := p.Service(); got != svc {
			t.Errorf("%s: service %q, want %q", name, got, svc)
		}
	}
	if p := (&Plan{ID: "00000000-0000-0000-0000-000000000001", Name: "CUSTOM_PLAN"}); p.Service() != "CUSTOM_PLAN" {
		t.Errorf("a plan without a known workload keeps its name, got %q", p.Service())
	}
}

// The data file names each plan as the catalog does, and no inferred
// family value contradicts an observed one.
func TestPlanServicesDataMatchesTheCatalog(t *testing.T) {
	c := Default()
	ps := loadedServices()
	if len(ps.byID) < 50 {
		t.Fatalf("only %d observed plans loaded", len(ps.byID))
	}
	for id, svc := range ps.byID {
		p, ok := c.Plan(id)
		if !ok {
			t.Errorf("plan %s (%s) is not in the catalog", id, svc)
			continue
		}
		if p.Name != ps.names[id] {
			t.Errorf("plan %s is %s in the catalog, %s in the data file", id, p.Name, ps.names[id])
		}
		for _, x := range ps.prefixes {
			if strings.HasPrefix(strings.ToUpper(p.Name), x.prefix) {
				if x.service != svc {
					t.Errorf("prefix %s says %s but %s is observed as %s", x.prefix, x.service, p.Name, svc)
				}
				break
			}
		}
	}
	if _, err := parsePlanServices([]byte(`{"plans":{"EXO (not-a-guid)":"exchange"}}`)); err == nil {
		t.Error("a malformed plan key must be refused")
	}
}

// A tenant's own products are not Microsoft's workloads: their plans keep
// their names, even when a name looks like a Microsoft family.
func TestCustomPlansKeepTheirNamesAsService(t *testing.T) {
	c, err := Default().WithCustom([]SKU{{ID: "00000000-0000-0000-0000-0000000000c1", PartNumber: "ACME", DisplayName: "Acme",
		Plans: []Plan{{ID: "00000000-0000-0000-0000-0000000000c2", Name: "TEAMS_ACME"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PlanService("00000000-0000-0000-0000-0000000000c2"); got != "TEAMS_ACME" {
		t.Fatalf("custom plan service = %q", got)
	}
	if got := c.PlanService("efb87545-963c-4e0d-99df-69c6916d9eb0"); got != "exchange" {
		t.Fatalf("EXCHANGE_S_ENTERPRISE service = %q", got)
	}
}
