package catalog

import (
	"strings"
	"testing"
)

// Microsoft 365 for business plans are capped at 300 seats per tenant, one
// cap across the family (Microsoft's Business FAQ), with its source; the
// audiences are recognised by whole words.
func TestPurchaseRulesOfMicrosoftsCatalog(t *testing.T) {
	c := Default()
	for _, part := range []string{"SPB", "O365_BUSINESS_PREMIUM", "O365_BUSINESS_ESSENTIALS", "O365_BUSINESS"} {
		s, _ := c.SKU(part)
		l, ok := c.SeatLimitOf(s.ID)
		if !ok || l.MaxSeats != 300 || len(l.SKUs) != 4 || !strings.Contains(l.Source, "learn.microsoft.com") || !strings.Contains(l.Source, "total across all of our Business family") {
			t.Errorf("%s: limit %+v %v", part, l, ok)
		}
	}
	if len(c.SeatLimits()) != 1 {
		t.Fatalf("limits %+v", c.SeatLimits())
	}
	if s, _ := c.SKU("SPE_E3"); func() bool { _, ok := c.SeatLimitOf(s.ID); return ok }() {
		t.Fatal("E3 has no seat limit")
	}
	for part, want := range map[string]string{
		"SPE_E3": "", "SPB": "", "ENTERPRISEPACK": "", "M365EDU_A3_FACULTY": AudienceEducation, "M365EDU_A3_STUDENT": AudienceEducation,
		"ENTERPRISEPACK_GOV": AudienceGovernment, "ENTERPRISEPACK_USGOV_GCCHIGH": AudienceGovernment,
		"PROJECTPROFESSIONAL": "", "VISIOCLIENT": "", "POWER_BI_PRO": "",
	} {
		s, ok := c.SKU(part)
		if !ok {
			t.Fatalf("no %s", part)
		}
		if got := c.Audience(s); got != want {
			t.Errorf("%s (%s): audience %q, want %q", part, s.DisplayName, got, want)
		}
	}
	n := map[string]int{}
	for _, s := range c.SKUs() {
		n[c.Audience(s)]++
	}
	if n[AudienceNonprofit] == 0 || n[AudienceEducation] < 20 || n[AudienceGovernment] < 20 || n[""] < 200 {
		t.Fatalf("audiences %v", n)
	}
	if c.PlanAudience("EXCHANGE_S_ENTERPRISE_GOV") != AudienceGovernment || c.PlanAudience("EXCHANGE_S_ENTERPRISE") != "" ||
		c.PlanAudience("SCHEDULE_X") != "" {
		t.Fatal("plan audiences")
	}
}

func TestPurchaseRulesRefuseAMismatchedProduct(t *testing.T) {
	_, err := parsePurchase(Default(), []byte(`{"seatLimits":[{"skus":["SPE_E3 (cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46)"],"maxSeats":300,"source":"x"}]}`))
	if err == nil {
		t.Fatal("a part number that is not the skuId's was accepted")
	}
}
