package catalog

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestEmbeddedRulesNameOnlyKnownPlansAndProducts(t *testing.T) {
	c := Default()
	r := c.Rules()
	if len(r.Dependencies) == 0 || len(r.Exclusions) == 0 || len(r.LocationRestrictions) == 0 || len(r.AllotmentIneligible) == 0 {
		t.Fatalf("rules missing: %d deps, %d exclusions, %d locations, %d ineligible",
			len(r.Dependencies), len(r.Exclusions), len(r.LocationRestrictions), len(r.AllotmentIneligible))
	}
	if err := c.validateRules(r); err != nil {
		t.Fatal(err)
	}
}

func TestEveryRuleSaysWhereItWasVerified(t *testing.T) {
	r := Default().Rules()
	check := func(what, src string) {
		if !strings.Contains(src, "verified from https://") {
			t.Errorf("%s: source %q does not say where it was verified", what, src)
		}
	}
	for _, d := range r.Dependencies {
		check("dependency of "+d.Plan, d.Source)
	}
	for _, x := range r.Exclusions {
		check("exclusion "+x.Plans[0]+"/"+x.Plans[1], x.Source)
	}
	for _, lr := range r.LocationRestrictions {
		check("location restriction of "+lr.SKU, lr.Source)
	}
	for _, in := range r.AllotmentIneligible {
		if !strings.Contains(in.Source, "'Allotment basics'") || in.Reason == "" {
			t.Errorf("ineligible %s: reason %q source %q", in.SKU, in.Reason, in.Source)
		}
	}
}

func TestWorkplaceAnalyticsRequiresExchangeOnlinePlan1OrPlan2(t *testing.T) {
	deps := Default().DependenciesOf(strings.ToUpper(planWPA))
	if len(deps) != 1 {
		t.Fatalf("DependenciesOf(WORKPLACE_ANALYTICS) = %+v", deps)
	}
	got := append([]string(nil), deps[0].RequiresAnyOf...)
	sort.Strings(got)
	if want := []string{planEXO1, planEXO2}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requires %v, want %v", got, want)
	}
	if !strings.Contains(deps[0].Source, "licensing-groups-resolve-problems") {
		t.Errorf("source %q", deps[0].Source)
	}
	if d := Default().DependenciesOf(planEXO2); d != nil {
		t.Errorf("Exchange Online Plan 2 has dependencies %+v", d)
	}
}

func TestCallingPlansRequirePhoneSystem(t *testing.T) {
	c := Default()
	mcoev, _ := c.Plan("MCOEV")
	for _, name := range []string{"MCOPSTN1", "MCOPSTN2", "MCOPSTN6"} {
		p, _ := c.Plan(name)
		deps := c.DependenciesOf(p.ID)
		if len(deps) != 1 || !contains(deps[0].RequiresAnyOf, mcoev.ID) {
			t.Errorf("%s: dependencies %+v, want one requiring MCOEV", name, deps)
		}
	}
}

func TestExclusions(t *testing.T) {
	c := Default()
	id := func(name string) string {
		p, ok := c.Plan(name)
		if !ok {
			t.Fatalf("no plan %s", name)
		}
		return p.ID
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE", false}, // "now allow duplication"
		{"EXCHANGE_S_DESKLESS", "EXCHANGE_S_STANDARD", false},   // concurrent Exchange Online licensing
		{"EXCHANGE_S_ESSENTIALS", "EXCHANGE_S_DESKLESS", false},
		{"EXCHANGE_S_STANDARD_MIDMARKET", "EXCHANGE_S_STANDARD", true}, // legacy plan
		{"EXCHANGE_S_ARCHIVE", "EXCHANGE_S_DESKLESS", true},
		{"MCOIMP", "MCOSTANDARD", false}, // Teams EEA + suite (no Teams)
		{"MCOLITE", "MCOSTANDARD", true},
		{"MCOPSTN1", "MCOPSTN2", true},
		{"YAMMER_EDU", "YAMMER_ENTERPRISE", true},
		{"INTUNE_A", "INTUNE_A_VL", true},
		{"SHAREPOINTSTANDARD", "SHAREPOINTENTERPRISE", false}, // reviewed, not enforced
		{"TEAMS1", "EXCHANGE_S_ENTERPRISE", false},
	}
	for _, tt := range tests {
		a, b := id(tt.a), id(tt.b)
		if got := c.Excludes(a, b); got != tt.want {
			t.Errorf("Excludes(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := c.Excludes(strings.ToUpper(b), a); got != tt.want {
			t.Errorf("Excludes(%s, %s) not symmetric or not case-insensitive", tt.b, tt.a)
		}
	}
}

func TestNoProductConflictsWithItself(t *testing.T) {
	c := Default()
	for _, s := range c.SKUs() {
		for i := range s.Plans {
			for j := i + 1; j < len(s.Plans); j++ {
				if c.Excludes(s.Plans[i].ID, s.Plans[j].ID) {
					t.Errorf("%s contains both %s and %s, which the rules make exclusive", s.PartNumber, s.Plans[i].Name, s.Plans[j].Name)
				}
			}
		}
	}
}

// TestProductsMissingAPrerequisiteAreStandaloneAddOns guards the dependency
// rules against Microsoft's bundles: a product assigned alone satisfies the
// dependencies of its own plans unless it is one of the add-ons below, sold
// to be combined with a base product. A new catalog file that adds to this
// list needs a look at the rules.
func TestProductsMissingAPrerequisiteAreStandaloneAddOns(t *testing.T) {
	addOns := map[string]bool{
		"WORKPLACE_ANALYTICS": true, "MCOMEETADV": true, "MCOMEETADV_FACULTY": true,
		"BUSINESS_VOICE_MED2_TELCO": true, "BUSINESS_VOICE_DIRECTROUTING": true, "BUSINESS_VOICE": true,
		"BUSINESS_VOICE_DIRECTROUTING_MED": true, "BUSINESS_VOICE_MED2": true,
		"MCOEV": true, "MCOEV_DOD": true, "MCOEV_FACULTY": true, "MCOEV_GCCHIGH": true, "MCOEV_STUDENT": true,
		"MCOEV_TELSTRA": true, "MCOEV_USGOV_DOD": true, "MCOEV_USGOV_GCCHIGH": true, "MCOTEAMS_ESSENTIALS": true,
		"EXCHANGEARCHIVE_ADDON": true, "SPE_F5_COMP": true, "SPE_F5_COMP_AR_USGOV_GCCHIGH": true, "SPE_F5_COMP_GCC": true,
		"SPE_F5_SECCOMP": true, "M365_SECURITY_COMPLIANCE_FOR_FLW": true,
		"Microsoft_Teams_Premium": true, "Teams_Premium_(for_Departments)": true,
		"MCOPSTN1": true, "MCOPSTN2": true, "MCOPSTN5": true, "MCOPSTN_6": true,
		"Microsoft_Teams_Calling_Plan_pay_as_you_go_(country_zone_1_US)": true,
	}
	c := Default()
	for _, s := range c.SKUs() {
		for _, p := range s.Plans {
			for _, d := range c.DependenciesOf(p.ID) {
				ok := false
				for _, req := range d.RequiresAnyOf {
					ok = ok || s.HasPlan(req)
				}
				if !ok && !addOns[s.PartNumber] {
					t.Errorf("%s (%s) alone violates the dependency of %s", s.PartNumber, s.DisplayName, p.Name)
				}
			}
		}
	}
}

func TestDomesticCallingPlansOf120And240MinutesAreProhibitedInTheUS(t *testing.T) {
	c := Default()
	for _, id := range []string{skuMCOPSTN5a, skuMCOPSTN5b, "729dbb8f-8d56-4994-8e33-2f218f549544"} {
		if !c.ProhibitedIn(id, "US") || !c.ProhibitedIn(strings.ToUpper(id), "us") {
			t.Errorf("%s not prohibited in US", id)
		}
		if c.ProhibitedIn(id, "GB") {
			t.Errorf("%s prohibited in GB", id)
		}
	}
	if c.ProhibitedIn(skuSPE_E3, "US") || c.ProhibitedIn("not-a-sku", "US") || c.ProhibitedIn(skuMCOPSTN5a, "") {
		t.Error("unexpected prohibition")
	}
}

func TestAllotmentEligibility(t *testing.T) {
	c := Default()
	if ok, reason := c.AllotmentEligible(skuWindowsStore); ok || reason != "Microsoft Store app" {
		t.Errorf("Windows Store for Business: %v %q", ok, reason)
	}
	if ok, reason := c.AllotmentEligible(strings.ToUpper(skuSPE_E3)); !ok || reason != "" {
		t.Errorf("SPE_E3: %v %q", ok, reason)
	}
	storage, _ := c.SKU("SHAREPOINTSTORAGE")
	if ok, reason := c.AllotmentEligible(storage.ID); ok || !strings.Contains(reason, "capacity") {
		t.Errorf("SHAREPOINTSTORAGE: %v %q", ok, reason)
	}
	if ok, reason := c.AllotmentEligible("00000000-0000-0000-0000-000000000000"); ok || reason != "unknown product" {
		t.Errorf("unknown: %v %q", ok, reason)
	}
}

// TestAllotmentIneligibleMatchesHeuristic re-applies the written-down
// heuristic (data/plan-rules.json, allotmentIneligible.heuristic) to the
// embedded catalog: the curated list must be exactly what it selects.
func TestAllotmentIneligibleMatchesHeuristic(t *testing.T) {
	store := regexp.MustCompile(`(?i)\bstore\b`)
	capacity := regexp.MustCompile(`(?i)\b(capacity|storage)\b`)
	c := Default()
	want := map[string]string{}
	for _, s := range c.SKUs() {
		switch {
		case store.MatchString(s.DisplayName):
			want[s.ID] = "Microsoft Store app"
		case capacity.MatchString(s.DisplayName):
			want[s.ID] = "tenant-level capacity, not a product available to users"
		}
	}
	got := map[string]string{}
	for _, in := range c.Rules().AllotmentIneligible {
		got[in.SKU] = in.Reason
	}
	for id, reason := range want {
		if got[id] != reason {
			s, _ := c.SKU(id)
			t.Errorf("%s (%s): listed reason %q, heuristic says %q", s.PartNumber, s.DisplayName, got[id], reason)
		}
	}
	for id := range got {
		if want[id] == "" {
			s, _ := c.SKU(id)
			t.Errorf("%s (%s) listed but not selected by the heuristic", s.PartNumber, s.DisplayName)
		}
	}
}

func TestLoadRulesFailsLoudlyOnBadData(t *testing.T) {
	const (
		wpa   = `"WORKPLACE_ANALYTICS (f477b0f0-3bb1-4890-940c-40fcee6ce05f)"`
		exo1  = `"EXCHANGE_S_STANDARD (9aaf7827-d63c-4b61-89c3-182f06f82e5c)"`
		exo2  = `"EXCHANGE_S_ENTERPRISE (efb87545-963c-4e0d-99df-69c6916d9eb0)"`
		heur  = `"allotmentIneligible": {"heuristic": "h", "skus": []}`
		unkID = `"WORKPLACE_ANALYTICS (00000000-0000-0000-0000-00000000dead)"`
	)
	tests := []struct{ name, data, want string }{
		{"unknown plan id",
			`{"dependencies": [{"plans": [` + unkID + `], "requiresAnyOf": [` + exo1 + `], "source": "s"}], ` + heur + `}`,
			"service plan WORKPLACE_ANALYTICS (00000000-0000-0000-0000-00000000dead) is not in the catalog"},
		{"name does not match id",
			`{"dependencies": [{"plans": ["EXCHANGE_S_STANDARD (f477b0f0-3bb1-4890-940c-40fcee6ce05f)"], "requiresAnyOf": [` + exo1 + `], "source": "s"}], ` + heur + `}`,
			"is WORKPLACE_ANALYTICS in the catalog, not EXCHANGE_S_STANDARD"},
		{"not a reference",
			`{"dependencies": [{"plans": ["WORKPLACE_ANALYTICS"], "requiresAnyOf": [` + exo1 + `], "source": "s"}], ` + heur + `}`,
			`is not of the form "NAME (GUID)"`},
		{"no source",
			`{"dependencies": [{"plans": [` + wpa + `], "requiresAnyOf": [` + exo1 + `], "source": " "}], ` + heur + `}`,
			"rule has no source"},
		{"unknown product",
			`{"locationRestrictions": [{"skus": ["SPE_E3 (00000000-0000-0000-0000-00000000beef)"], "countries": ["US"], "source": "s"}], ` + heur + `}`,
			"product SPE_E3 (00000000-0000-0000-0000-00000000beef) is not in the catalog"},
		{"bad country",
			`{"locationRestrictions": [{"skus": ["SPE_E3 (05e9a617-0261-4cee-bb44-138d3ef5d965)"], "countries": ["usa"], "source": "s"}], ` + heur + `}`,
			"is not an upper-case ISO 3166 alpha-2 code"},
		{"allowed pair outside the group",
			`{"exclusions": [{"service": "x", "plans": [` + exo1 + `, ` + exo2 + `], "allowTogether": [{"plans": [` + exo1 + `, ` + wpa + `], "source": "s"}], "source": "s"}], ` + heur + `}`,
			"both plans must be in the group"},
		{"unknown field",
			`{"dependency": [], ` + heur + `}`,
			`unknown field "dependency"`},
		{"ineligible listed twice",
			`{"allotmentIneligible": {"heuristic": "h", "skus": [{"sku": "SPE_E3 (05e9a617-0261-4cee-bb44-138d3ef5d965)", "reason": "r"}, {"sku": "SPE_E3 (05e9a617-0261-4cee-bb44-138d3ef5d965)", "reason": "r"}]}}`,
			"listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadRules([]byte(tt.data), Default())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExclusionGroupExpandsToPairsMinusAllowed(t *testing.T) {
	data := `{"exclusions": [{"service": "Exchange", "source": "s", "plans": [
		"EXCHANGE_S_STANDARD (9aaf7827-d63c-4b61-89c3-182f06f82e5c)",
		"EXCHANGE_S_DESKLESS (4a82b400-a79f-41a4-b4e2-e94f5787b113)",
		"EXCHANGE_S_STANDARD_MIDMARKET (fc52cc4b-ed7d-472d-bbe7-b081c23ecc56)"],
		"allowTogether": [{"source": "s", "plans": [
			"EXCHANGE_S_DESKLESS (4a82b400-a79f-41a4-b4e2-e94f5787b113)",
			"EXCHANGE_S_STANDARD (9aaf7827-d63c-4b61-89c3-182f06f82e5c)"]}]}],
		"allotmentIneligible": {"heuristic": "h", "skus": []}}`
	r, err := loadRules([]byte(data), Default())
	if err != nil {
		t.Fatal(err)
	}
	c, err := Default().WithRules(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Exclusions) != 2 || c.Excludes(planEXO1, planKiosk) || !c.Excludes(planEXO1, planEXOMidmarket) || !c.Excludes(planKiosk, planEXOMidmarket) {
		t.Errorf("exclusions = %+v", r.Exclusions)
	}
	if c.DependenciesOf(planWPA) != nil {
		t.Error("WithRules kept the old rules")
	}
	if Default().DependenciesOf(planWPA) == nil {
		t.Error("WithRules changed the original catalog")
	}
}

func TestWithRulesRejectsUnknownIDs(t *testing.T) {
	_, err := Default().WithRules(&Rules{
		Dependencies: []Dependency{{Plan: "00000000-0000-0000-0000-000000000001", RequiresAnyOf: []string{planEXO1}}},
		Exclusions:   []Exclusion{{Plans: [2]string{planEXO1, planEXO1}}},
		LocationRestrictions: []LocationRestriction{
			{SKU: strings.ToUpper(skuSPE_E3), Countries: []string{"us"}},
		},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`dependencies[0].plan: service plan "00000000-0000-0000-0000-000000000001" is not in the catalog`,
		"exclusions[0]: a plan cannot exclude itself",
		"locationRestrictions[0].sku",
		`locationRestrictions[0].countries[0]: "us"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
}

// The lookups are on the licensing engine's hot path: no allocation for the
// lower-case ids the catalog hands out.
func TestRuleLookupsDoNotAllocate(t *testing.T) {
	c := Default()
	allocs := testing.AllocsPerRun(100, func() {
		_ = c.DependenciesOf(planWPA)
		_ = c.Excludes(planEXO1, planEXOMidmarket)
		_ = c.ProhibitedIn(skuMCOPSTN5a, "US")
		_, _ = c.AllotmentEligible(skuSPE_E3)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per lookup round", allocs)
	}
}

func BenchmarkRuleLookups(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		_ = c.DependenciesOf(planWPA)
		_ = c.Excludes(planEXO1, planEXOMidmarket)
		_ = c.ProhibitedIn(skuMCOPSTN5a, "US")
		_, _ = c.AllotmentEligible(skuSPE_E3)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
