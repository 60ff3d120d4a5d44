package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"allot/catalog"
)

// runCatalog runs "allot catalog ARGS..." in-process and returns its output.
func runCatalog(t *testing.T, cat func() *catalog.Catalog, args ...string) (string, error) {
	t.Helper()
	cmd := newCatalogCmd(cat)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestCatalogCommandIsRegistered(t *testing.T) {
	for _, c := range rootCmd.Commands() {
		if c.Name() == "catalog" {
			return
		}
	}
	t.Fatal("allot catalog is not registered on the root command")
}

func TestCatalogSKUsListsAndSearches(t *testing.T) {
	out, err := runCatalog(t, catalog.Default, "skus")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 1+569 || !strings.HasPrefix(lines[0], "PART NUMBER") || !strings.Contains(lines[0], "SKU ID") || !strings.HasSuffix(lines[0], "PLANS") {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	out, err = runCatalog(t, catalog.Default, "skus", "--search", "microsoft 365 e3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "SPE_E3") || !strings.Contains(out, "05e9a617-0261-4cee-bb44-138d3ef5d965") || strings.Contains(out, "ENTERPRISEPREMIUM ") {
		t.Errorf("search output:\n%s", out)
	}
	if _, err := runCatalog(t, catalog.Default, "skus", "--search", "no such product at all"); err == nil || !strings.Contains(err.Error(), "no product matches") {
		t.Errorf("err = %v", err)
	}
}

func TestCatalogSKUsJSON(t *testing.T) {
	out, err := runCatalog(t, catalog.Default, "skus", "--search", "SPE_E3", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var skus []catalog.SKU
	if err := json.Unmarshal([]byte(out), &skus); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, s := range skus {
		found = found || (s.PartNumber == "SPE_E3" && len(s.Plans) > 0)
	}
	if !found {
		t.Errorf("SPE_E3 missing from JSON: %s", out)
	}
	out, err = runCatalog(t, catalog.Default, "skus", "--search", "nothing matches this", "--json")
	if err != nil || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty JSON search = %q, %v", out, err)
	}
}

func TestCatalogSKUShowsPlans(t *testing.T) {
	out, err := runCatalog(t, catalog.Default, "sku", "spe_e3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Microsoft 365 E3", "05e9a617-0261-4cee-bb44-138d3ef5d965", "Allotments:", "eligible",
		"NAME", "SERVICE PLAN ID", "FRIENDLY NAME",
		"EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0", "Exchange Online (Plan 2)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCatalogSKUExplainsSharedPartNumberAndRestrictions(t *testing.T) {
	out, err := runCatalog(t, catalog.Default, "sku", "MCOPSTN5")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"names 2 products", "d43177b5-475b-4880-92d4-d54c27b5efbd", "Not available in:", "US"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCatalog(t, catalog.Default, "sku", "WINDOWS_STORE")
	if err != nil || !strings.Contains(out, "not eligible (Microsoft Store app)") {
		t.Errorf("WINDOWS_STORE: %v\n%s", err, out)
	}
}

func TestCatalogPlanListsProductsAndRules(t *testing.T) {
	out, err := runCatalog(t, catalog.Default, "plan", "EXCHANGE_S_ENTERPRISE")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Exchange Online (Plan 2)", "PART NUMBER", "SPE_E3", "ENTERPRISEPACK"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCatalog(t, catalog.Default, "plan", "workplace_analytics")
	if err != nil || !strings.Contains(out, "Requires any of:") || !strings.Contains(out, "EXCHANGE_S_STANDARD, EXCHANGE_S_ENTERPRISE") {
		t.Errorf("WORKPLACE_ANALYTICS: %v\n%s", err, out)
	}
	out, err = runCatalog(t, catalog.Default, "plan", "EXCHANGE_S_ENTERPRISE", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ID   string `json:"servicePlanId"`
		SKUs []struct {
			PartNumber string `json:"skuPartNumber"`
		} `json:"skus"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID != "efb87545-963c-4e0d-99df-69c6916d9eb0" || len(v.SKUs) < 40 {
		t.Errorf("JSON: %v %+v", err, v)
	}
}

func TestCatalogUnknownNamesFailWithAMessage(t *testing.T) {
	for _, args := range [][]string{{"sku", "NO_SUCH_SKU"}, {"plan", "NO_SUCH_PLAN"}} {
		_, err := runCatalog(t, catalog.Default, args...)
		if err == nil || !strings.Contains(err.Error(), `"NO_SUCH_`) {
			t.Errorf("%v: err = %v", args, err)
			continue
		}
		if isCobraUsage(err) {
			t.Errorf("%v: an unknown name is a failure (exit 1), not a usage error: %v", args, err)
		}
	}
	if _, err := runCatalog(t, catalog.Default, "sku"); err == nil || !isCobraUsage(err) {
		t.Errorf("missing argument: err = %v, want a usage error (exit 2)", err)
	}
}

func TestCatalogShowsCustomProducts(t *testing.T) {
	c, err := catalog.Default().WithCustom([]catalog.SKU{{
		ID: "11111111-2222-3333-4444-555555555555", PartNumber: "ACME_PRO", DisplayName: "Acme Pro",
		Plans: []catalog.Plan{{ID: "aaaaaaaa-bbbb-cccc-dddd-000000000001", Name: "ACME_REPORTS", FriendlyName: "Acme reports"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runCatalog(t, func() *catalog.Catalog { return c }, "sku", "acme_pro")
	if err != nil || !strings.Contains(out, "Custom:") || !strings.Contains(out, "Acme reports") {
		t.Errorf("%v\n%s", err, out)
	}
}
