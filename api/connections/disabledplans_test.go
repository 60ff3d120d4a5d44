package connections_test

import (
	"slices"
	"strings"
	"testing"

	"allot/catalog"
	"allot/m365"
)

// TestPlanCarriesDisabledPlans: the disabled plans of the license allot
// decides go to Microsoft 365 with it — the plan names them, apply
// assigns them so — and when allot's group changes them, the plan is one
// call that assigns the product again with the new disabled plans (why:
// "with other disabled plans"), after which a plan is empty.
func TestPlanCarriesDisabledPlans(t *testing.T) {
	w := newWorld(t, 0)
	sku, _ := catalog.Default().SKU("SPE_E3")
	var sway, yammer string
	for _, p := range sku.Plans {
		switch p.Name {
		case "SWAY":
			sway = p.ID
		case "YAMMER_ENTERPRISE":
			yammer = p.ID
		}
	}
	if sway == "" || yammer == "" {
		t.Fatalf("SPE_E3 has no SWAY or YAMMER_ENTERPRISE plan in the catalog")
	}
	ann := w.ruser("ann@fabrikam.example")
	conn := w.connect(true)
	w.sync(conn)
	g := w.rgroup(w.local, w.ladmin, "allot E3 without Sway")
	assign := func(disabled string) {
		w.local.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", w.ladmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{disabled}}}, "removeLicenses": []string{}})
	}
	assign(sway)
	addMember(w.local, w.ladmin, g, ann)
	plan := func() m365.PlanResult {
		t.Helper()
		var p m365.PlanResult
		w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &p)
		return p
	}
	remoteDisabled := func() []string {
		var u struct {
			AssignedLicenses []struct {
				SkuID         string
				DisabledPlans []string
			}
		}
		w.remote.Must(200, "GET", "/v1.0/users/"+ann+"?$select=assignedLicenses", w.radmin, nil).Decode(t, &u)
		if len(u.AssignedLicenses) != 1 || !strings.EqualFold(u.AssignedLicenses[0].SkuID, e3) {
			t.Fatalf("ann's licenses in Microsoft 365: %+v", u)
		}
		return u.AssignedLicenses[0].DisabledPlans
	}
	for i, disabled := range []string{sway, yammer} {
		if i > 0 {
			assign(disabled)
		}
		p := plan()
		if len(p.Calls) != 1 || len(p.Calls[0].Add) != 1 || !slices.Equal(p.Calls[0].Add[0].DisabledPlans, []string{disabled}) {
			t.Fatalf("plan %d: %+v, want SPE_E3 for ann without %s", i, p, disabled)
		}
		if i > 0 && !strings.Contains(strings.Join(p.Calls[0].Why, " "), "with other disabled plans") {
			t.Fatalf("why: %v", p.Calls[0].Why)
		}
		w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
		if got := remoteDisabled(); !slices.Equal(got, []string{disabled}) {
			t.Fatalf("ann's disabled plans in Microsoft 365 after apply %d: %v, want [%s]", i, got, disabled)
		}
		if p := plan(); len(p.Calls) != 0 {
			t.Fatalf("plan after apply %d: %+v", i, p)
		}
	}
}
