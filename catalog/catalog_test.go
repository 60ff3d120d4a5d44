package catalog

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// Ids used by the tests, as Microsoft's file writes them.
const (
	skuSPE_E3        = "05e9a617-0261-4cee-bb44-138d3ef5d965"
	planEXO2         = "efb87545-963c-4e0d-99df-69c6916d9eb0" // EXCHANGE_S_ENTERPRISE
	planEXO1         = "9aaf7827-d63c-4b61-89c3-182f06f82e5c" // EXCHANGE_S_STANDARD
	planKiosk        = "4a82b400-a79f-41a4-b4e2-e94f5787b113" // EXCHANGE_S_DESKLESS
	planEXOMidmarket = "fc52cc4b-ed7d-472d-bbe7-b081c23ecc56" // EXCHANGE_S_STANDARD_MIDMARKET
	planWPA          = "f477b0f0-3bb1-4890-940c-40fcee6ce05f" // WORKPLACE_ANALYTICS
	skuMCOPSTN5a     = "54a152dc-90de-4996-93d2-bc47e670fc06"
	skuMCOPSTN5b     = "d43177b5-475b-4880-92d4-d54c27b5efbd"
	skuWindowsStore  = "6470687e-a428-4b7a-bef2-8a291ad947c9"
)

// countDistinct counts distinct skuIds and plan ids in Microsoft's file with
// code independent of Parse: a plain CSV read, columns by position.
func countDistinct(t *testing.T) (skus, plans int) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(microsoftCSV, []byte("\ufeff"))))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names" {
		t.Fatalf("header changed: %s", got)
	}
	s, p := map[string]bool{}, map[string]bool{}
	for _, rec := range recs[1:] {
		s[strings.ToLower(strings.TrimSpace(rec[2]))] = true
		p[strings.ToLower(strings.TrimSpace(rec[4]))] = true
	}
	return len(s), len(p)
}

func TestEmbeddedCatalogHas569ProductsAnd723Plans(t *testing.T) {
	skus, plans := countDistinct(t)
	if skus != 569 || plans != 723 {
		t.Fatalf("independent count: %d skus, %d plans; want 569, 723", skus, plans)
	}
	c := Default()
	if got := len(c.SKUs()); got != skus {
		t.Errorf("Default has %d products, want %d", got, skus)
	}
	if got := len(c.Plans()); got != plans {
		t.Errorf("Default has %d plans, want %d", got, plans)
	}
	for _, s := range c.SKUs() {
		if !IsGUID(s.ID) || s.ID != strings.ToLower(s.ID) {
			t.Errorf("skuId %q not a lower-case GUID", s.ID)
		}
		if s.PartNumber != strings.TrimSpace(s.PartNumber) || s.PartNumber == "" {
			t.Errorf("part number %q not trimmed", s.PartNumber)
		}
		if len(s.Plans) == 0 {
			t.Errorf("%s has no plans", s.PartNumber)
		}
	}
}

func TestSPE_E3ContainsExchangeOnlinePlan2(t *testing.T) {
	s, ok := Default().SKU("SPE_E3")
	if !ok {
		t.Fatal("SPE_E3 not found")
	}
	if s.ID != skuSPE_E3 || s.DisplayName != "Microsoft 365 E3" {
		t.Errorf("SPE_E3 = %s %q", s.ID, s.DisplayName)
	}
	if !s.HasPlan(planEXO2) {
		t.Error("SPE_E3 lacks EXCHANGE_S_ENTERPRISE")
	}
}

func TestExchangeOnlinePlan2IsInManyProducts(t *testing.T) {
	c := Default()
	p, ok := c.Plan("EXCHANGE_S_ENTERPRISE")
	if !ok || p.ID != planEXO2 || p.FriendlyName != "Exchange Online (Plan 2)" {
		t.Fatalf("Plan(EXCHANGE_S_ENTERPRISE) = %+v, %v", p, ok)
	}
	skus := c.SKUsWithPlan(strings.ToUpper(planEXO2))
	if len(skus) < 40 {
		t.Fatalf("EXCHANGE_S_ENTERPRISE in %d products, want many (>= 40)", len(skus))
	}
	seen := map[string]bool{}
	for i, s := range skus {
		if !s.HasPlan(planEXO2) {
			t.Errorf("%s listed but lacks the plan", s.PartNumber)
		}
		if seen[s.ID] {
			t.Errorf("%s listed twice", s.PartNumber)
		}
		seen[s.ID] = true
		if i > 0 && skus[i-1].PartNumber > s.PartNumber {
			t.Errorf("not ordered by part number: %s before %s", skus[i-1].PartNumber, s.PartNumber)
		}
	}
	if !seen[skuSPE_E3] {
		t.Error("SPE_E3 missing from SKUsWithPlan")
	}
}

func TestLookupsAreCaseInsensitiveAndTrimmed(t *testing.T) {
	c := Default()
	for _, key := range []string{"SPE_E3", "spe_e3", "  Spe_E3\t", strings.ToUpper(skuSPE_E3), " " + skuSPE_E3 + " "} {
		s, ok := c.SKU(key)
		if !ok || s.ID != skuSPE_E3 {
			t.Errorf("SKU(%q) = %v, %v", key, s, ok)
		}
	}
	for _, key := range []string{"exchange_s_enterprise", strings.ToUpper(planEXO2)} {
		if p, ok := c.Plan(key); !ok || p.ID != planEXO2 {
			t.Errorf("Plan(%q) = %v, %v", key, p, ok)
		}
	}
	if _, ok := c.SKU("NO_SUCH_PRODUCT"); ok {
		t.Error("unknown part number found")
	}
	if _, ok := c.Plan("NO_SUCH_PLAN"); ok {
		t.Error("unknown plan found")
	}
}

func TestPartNumberMCOPSTN5NamesTwoProducts(t *testing.T) {
	c := Default()
	ss := c.SKUsByPartNumber("mcopstn5")
	if len(ss) != 2 || ss[0].ID != skuMCOPSTN5a || ss[1].ID != skuMCOPSTN5b {
		t.Fatalf("SKUsByPartNumber(MCOPSTN5) = %v", ss)
	}
	if s, _ := c.SKU("MCOPSTN5"); s.ID != skuMCOPSTN5a {
		t.Errorf("SKU(MCOPSTN5) = %s, want the lowest skuId %s", s.ID, skuMCOPSTN5a)
	}
	for _, id := range []string{skuMCOPSTN5a, skuMCOPSTN5b} {
		if s, ok := c.SKU(id); !ok || s.PartNumber != "MCOPSTN5" {
			t.Errorf("SKU(%s) = %v, %v", id, s, ok)
		}
	}
}

func TestEmbeddedFileQuirksAreCleanedUp(t *testing.T) {
	c := Default()
	// "MCOCAP_FACULTY\u00a0" and "420c7602-...\u00a0": no-break spaces.
	if s, ok := c.SKU("420c7602-7f70-4895-9394-d3d679ea36fb"); !ok || s.PartNumber != "MCOCAP_FACULTY" {
		t.Errorf("no-break space not trimmed: %v, %v", s, ok)
	}
	// "AAD_PREMIUM_USGOV_GCCHIGH " has a trailing space.
	if s, ok := c.SKU("AAD_PREMIUM_USGOV_GCCHIGH"); !ok || s.ID != "de597797-22fb-4d65-a9fe-b7dbe8893914" {
		t.Errorf("trailing space not trimmed: %v, %v", s, ok)
	}
	// Plans spelled several ways: the most frequent spelling wins.
	for id, want := range map[string]string{
		"bea4c11e-220a-4e6d-8eb8-8ea15d019f90": "RMS_S_ENTERPRISE", // once "RMS_S_ENTERPRISE)"
		"8c7d2df8-86f0-4902-b2ed-a0458298f3b3": "Deskless",         // once "DESKLESS"
		"922ba911-5694-4e99-a794-73aed9bfeec8": "EXCHANGE_S_FOUNDATION_GOV",
		"113feb6c-3fe4-4440-bddc-54d774bf0318": "EXCHANGE_S_FOUNDATION",
	} {
		if p, _ := c.Plan(id); p == nil || p.Name != want {
			t.Errorf("plan %s named %v, want %s", id, p, want)
		}
	}
	// Names with tabs inside count as the spaced spelling.
	if p, _ := c.Plan("e7c91390-7625-45be-94e0-e16907e03118"); p == nil || p.Name != "Virtualization Rights for Windows 10 (E3/E5+VDA)" {
		t.Errorf("tabbed name not collapsed: %v", p)
	}
	// Every product lists each plan once even where the file repeats rows.
	for _, s := range c.SKUs() {
		seen := map[string]bool{}
		for _, p := range s.Plans {
			if seen[p.ID] {
				t.Errorf("%s lists plan %s twice", s.PartNumber, p.Name)
			}
			seen[p.ID] = true
		}
	}
}

func TestSearchMatchesPartNumberAndDisplayName(t *testing.T) {
	c := Default()
	if got := len(c.Search("")); got != len(c.SKUs()) {
		t.Errorf("Search(\"\") = %d products", got)
	}
	found := false
	for _, s := range c.Search("microsoft 365 e3") {
		if !strings.Contains(strings.ToLower(s.DisplayName), "microsoft 365 e3") && !strings.Contains(strings.ToLower(s.PartNumber), "microsoft 365 e3") {
			t.Errorf("%s does not match", s.PartNumber)
		}
		found = found || s.ID == skuSPE_E3
	}
	if !found {
		t.Error("Search did not find SPE_E3 by display name")
	}
	if len(c.Search("spe_e3")) == 0 {
		t.Error("Search did not match part number")
	}
}
