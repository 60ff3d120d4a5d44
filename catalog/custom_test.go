package catalog

import (
	"errors"
	"strings"
	"testing"
)

const (
	customSKU   = "11111111-2222-3333-4444-555555555555"
	customPlanA = "aaaaaaaa-bbbb-cccc-dddd-000000000001"
	customPlanB = "aaaaaaaa-bbbb-cccc-dddd-000000000002"
)

func TestWithCustomAddsTenantProductsBesideMicrosofts(t *testing.T) {
	base := Default()
	c, err := base.WithCustom([]SKU{{
		ID:         strings.ToUpper(customSKU),
		PartNumber: " ACME_PRO ",
		Plans: []Plan{
			{ID: customPlanA, Name: "ACME_REPORTS", FriendlyName: "Acme reports"},
			{ID: customPlanB, Name: "ACME_EXPORT"},
			{ID: strings.ToUpper(planEXO1), Name: "exchange_s_standard"}, // reuse of Microsoft's plan
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := c.SKU("acme_pro")
	if !ok || s.ID != customSKU || !s.Custom || s.PartNumber != "ACME_PRO" || s.DisplayName != "ACME_PRO" || s.AppliesTo != "User" {
		t.Fatalf("custom product = %+v, %v", s, ok)
	}
	if p, _ := c.Plan("ACME_EXPORT"); p == nil || p.ID != customPlanB || p.FriendlyName != "ACME_EXPORT" {
		t.Errorf("new plan = %+v", p)
	}
	if p, _ := c.Plan(planEXO1); p == nil || p.Name != "EXCHANGE_S_STANDARD" {
		t.Errorf("reused plan keeps Microsoft's record: %+v", p)
	}
	if got := len(c.SKUsWithPlan(planEXO1)); got != len(base.SKUsWithPlan(planEXO1))+1 {
		t.Errorf("SKUsWithPlan(EXO1) = %d, want one more than the base catalog", got)
	}
	if len(c.SKUs()) != len(base.SKUs())+1 {
		t.Errorf("%d products", len(c.SKUs()))
	}
	if _, ok := base.SKU(customSKU); ok {
		t.Error("WithCustom changed the base catalog")
	}
	if _, ok := c.SKU("SPE_E3"); !ok {
		t.Error("Microsoft's products are gone")
	}
	if c.DependenciesOf(planWPA) == nil || !c.Excludes(planEXO1, planEXOMidmarket) {
		t.Error("the rules are not shared")
	}
	if ok, _ := c.AllotmentEligible(customSKU); !ok {
		t.Error("custom product not eligible for allotments")
	}
	// A second call builds on the first.
	c2, err := c.WithCustom([]SKU{NewSKU("ACME_LITE", "Acme Lite", []Plan{{ID: customPlanA, Name: "ACME_REPORTS"}})})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c2.SKUsWithPlan(customPlanA)); got != 2 {
		t.Errorf("ACME_REPORTS in %d products, want 2", got)
	}
}

func TestWithCustomRejectsBadProductsNamingTheField(t *testing.T) {
	plan := []Plan{{ID: customPlanA, Name: "ACME_REPORTS"}}
	tests := []struct {
		name     string
		products []SKU
		field    string
		message  string
	}{
		{"sku id missing", []SKU{{PartNumber: "X", Plans: plan}}, "products[0].skuId", "required"},
		{"sku id not a GUID", []SKU{{ID: "acme", PartNumber: "X", Plans: plan}}, "products[0].skuId", `"acme" is not a GUID`},
		{"sku id used by Microsoft", []SKU{{ID: skuSPE_E3, PartNumber: "X", Plans: plan}}, "products[0].skuId", "already used by product SPE_E3"},
		{"sku id used twice", []SKU{{ID: customSKU, PartNumber: "X", Plans: plan}, {ID: customSKU, PartNumber: "Y", Plans: plan}},
			"products[1].skuId", "already used by products[0]"},
		{"part number missing", []SKU{{ID: customSKU, PartNumber: "  ", Plans: plan}}, "products[0].skuPartNumber", "required"},
		{"part number used by Microsoft", []SKU{{ID: customSKU, PartNumber: "spe_e3", Plans: plan}}, "products[0].skuPartNumber", `"spe_e3" is already used by product ` + skuSPE_E3},
		{"part number used twice", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: plan}, {ID: "11111111-2222-3333-4444-555555555556", PartNumber: "acme", Plans: plan}},
			"products[1].skuPartNumber", "already used by products[0]"},
		{"applies to", []SKU{{ID: customSKU, PartNumber: "ACME", AppliesTo: "Device", Plans: plan}}, "products[0].appliesTo", "must be User or Company"},
		{"no plans", []SKU{{ID: customSKU, PartNumber: "ACME"}}, "products[0].servicePlans", "at least one"},
		{"plan id missing", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{Name: "P"}}}}, "products[0].servicePlans[0].servicePlanId", "required"},
		{"plan id not a GUID", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{ID: "p1", Name: "P"}}}}, "products[0].servicePlans[0].servicePlanId", "not a GUID"},
		{"plan name missing", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{ID: customPlanA}}}}, "products[0].servicePlans[0].servicePlanName", "required"},
		{"plan listed twice", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{ID: customPlanA, Name: "P"}, {ID: customPlanA, Name: "Q"}}}},
			"products[0].servicePlans[1].servicePlanId", "listed twice"},
		{"plan name listed twice", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{ID: customPlanA, Name: "P"}, {ID: customPlanB, Name: "p"}}}},
			"products[0].servicePlans[1].servicePlanName", "listed twice"},
		{"reused plan renamed", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{ID: planEXO2, Name: "MAIL"}}}},
			"products[0].servicePlans[0].servicePlanName", "is EXCHANGE_S_ENTERPRISE in the catalog"},
		{"new plan takes a Microsoft name", []SKU{{ID: customSKU, PartNumber: "ACME", Plans: []Plan{{ID: customPlanA, Name: "EXCHANGE_S_ENTERPRISE"}}}},
			"products[0].servicePlans[0].servicePlanName", "already the name of plan " + planEXO2},
		{"one plan, two names", []SKU{
			{ID: customSKU, PartNumber: "A", Plans: []Plan{{ID: customPlanA, Name: "P"}}},
			{ID: "11111111-2222-3333-4444-555555555556", PartNumber: "B", Plans: []Plan{{ID: customPlanA, Name: "Q"}}}},
			"products[1].servicePlans[0].servicePlanName", `named "P" elsewhere`},
		{"one name, two plans", []SKU{
			{ID: customSKU, PartNumber: "A", Plans: []Plan{{ID: customPlanA, Name: "P"}}},
			{ID: "11111111-2222-3333-4444-555555555556", PartNumber: "B", Plans: []Plan{{ID: customPlanB, Name: "P"}}}},
			"products[1].servicePlans[0].servicePlanName", "already the name of plan " + customPlanA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Default().WithCustom(tt.products)
			if err == nil {
				t.Fatalf("accepted: %v", c.SKUs()[0])
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err %v is not a *FieldError", err)
			}
			if !strings.Contains(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %q\nwant field %q with %q", err, tt.field, tt.message)
			}
		})
	}
}

func TestWithCustomReportsEveryProblem(t *testing.T) {
	_, err := Default().WithCustom([]SKU{{ID: "x", PartNumber: "", Plans: []Plan{{ID: "y"}}}})
	for _, field := range []string{"products[0].skuId", "products[0].skuPartNumber", "products[0].servicePlans[0].servicePlanId", "products[0].servicePlans[0].servicePlanName"} {
		if err == nil || !strings.Contains(err.Error(), field+": ") {
			t.Errorf("error %v does not name %s", err, field)
		}
	}
}

func TestCompanyWideCustomProductIsNotEligibleForAllotments(t *testing.T) {
	c, err := Default().WithCustom([]SKU{{ID: customSKU, PartNumber: "ACME_TENANT", AppliesTo: "Company", Plans: []Plan{{ID: customPlanA, Name: "ACME_STORAGE"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if ok, reason := c.AllotmentEligible(customSKU); ok || !strings.Contains(reason, "applies to the company") {
		t.Errorf("AllotmentEligible = %v, %q", ok, reason)
	}
}

func TestNewSKUMakesFreshIDs(t *testing.T) {
	a := NewSKU("A", "Product A", []Plan{{Name: "P"}, {ID: customPlanB, Name: "Q"}})
	b := NewSKU("B", "Product B", nil)
	if !IsGUID(a.ID) || !IsGUID(b.ID) || a.ID == b.ID || a.ID != strings.ToLower(a.ID) || a.ID[14] != '4' {
		t.Errorf("ids %s %s", a.ID, b.ID)
	}
	if !IsGUID(a.Plans[0].ID) || a.Plans[1].ID != customPlanB || !a.Custom || a.AppliesTo != "User" {
		t.Errorf("NewSKU = %+v", a)
	}
}
