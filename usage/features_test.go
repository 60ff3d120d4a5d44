package usage

import (
	"strings"
	"testing"

	"allot/catalog"
)

func TestFeatureMapPlansExistInTheCatalog(t *testing.T) {
	if err := CheckFeatures(catalog.Default()); err != nil {
		t.Fatal(err)
	}
}

func TestFeatureMapCoversTheRequiredFeatures(t *testing.T) {
	fs := Features()
	if len(fs) < 40 {
		t.Fatalf("%d features, want at least 40", len(fs))
	}
	have := map[string]Feature{}
	workloads := map[string]bool{}
	for _, f := range fs {
		have[f.ID] = f
		workloads[f.Workload] = true
		if !strings.HasPrefix(f.Source, "https://learn.microsoft.com/") {
			t.Errorf("%s: source %s is not Microsoft documentation", f.ID, f.Source)
		}
	}
	for _, id := range []string{"exchangeMailbox", "exchangeArchive", "teamsChat", "teamsMeeting", "teamsPhone", "oneDriveFiles",
		"sharePointSites", "officeDesktopApps", "conditionalAccess", "identityProtection", "intuneDeviceManagement",
		"defenderForOfficeP1", "attackSimulation", "eDiscoveryPremium", "insiderRiskManagement", "powerBIPro", "copilot",
		"litigationHold", "dataLossPrevention", "retentionPolicies", "defenderForOfficeP2"} {
		if _, ok := have[id]; !ok {
			t.Errorf("feature %s missing", id)
		}
	}
	for _, w := range []string{WorkloadExchange, WorkloadTeams, WorkloadOneDrive, WorkloadSharePoint, WorkloadOfficeApps,
		WorkloadVivaEngage, WorkloadSkype, "EntraID", "Intune", "Defender", "Purview", "PowerBI", "Copilot"} {
		if !workloads[w] {
			t.Errorf("no feature of workload %s", w)
		}
	}
}

// TestFeatureMapFollowsTheSpecExamples pins features whose plans are easy to
// get wrong (each entry's source is in features.json): Attack simulation
// training needs Defender for Office 365 Plan 2 (THREAT_INTELLIGENCE), not
// Plan 1; eDiscovery (Premium) is EQUIVIO_ANALYTICS; an archive comes with
// Exchange Plan 2 or the archive add-on, not Plan 1; Identity Protection
// needs Entra ID P2.
func TestFeatureMapFollowsTheSpecExamples(t *testing.T) {
	plans := func(id string) map[string]bool {
		m := map[string]bool{}
		for _, f := range Features() {
			if f.ID == id {
				for _, p := range f.Plans {
					m[p.Name] = true
				}
			}
		}
		return m
	}
	if p := plans("attackSimulation"); !p["THREAT_INTELLIGENCE"] || p["ATP_ENTERPRISE"] {
		t.Errorf("attackSimulation: %v", p)
	}
	if p := plans("eDiscoveryPremium"); !p["EQUIVIO_ANALYTICS"] || len(p) > 2 {
		t.Errorf("eDiscoveryPremium: %v", p)
	}
	if p := plans("exchangeArchive"); !p["EXCHANGE_S_ENTERPRISE"] || !p["EXCHANGE_S_ARCHIVE_ADDON"] || p["EXCHANGE_S_STANDARD"] {
		t.Errorf("exchangeArchive: %v", p)
	}
	if p := plans("identityProtection"); !p["AAD_PREMIUM_P2"] || p["AAD_PREMIUM"] {
		t.Errorf("identityProtection: %v", p)
	}
}

func TestParseFeaturesRefusesBadEntries(t *testing.T) {
	for _, doc := range []string{
		`{"features":[{"id":"Bad-Id","workload":"X","plans":[{"servicePlanName":"A","servicePlanId":"b"}],"source":"https://x"}]}`,
		`{"features":[{"id":"ok","workload":"X","plans":[],"source":"https://x"}]}`,
		`{"features":[{"id":"ok","workload":"X","plans":[{"servicePlanName":"A","servicePlanId":"b"}],"source":""}]}`,
		`{"features":[{"id":"ok","workload":"X","plans":[{"servicePlanName":"A","servicePlanId":"b"}],"source":"https://x"},
		              {"id":"ok","workload":"X","plans":[{"servicePlanName":"A","servicePlanId":"b"}],"source":"https://x"}]}`,
	} {
		if _, err := parseFeatures([]byte(doc)); err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

func TestWorkloadsOfReportsAreFeatures(t *testing.T) {
	for w, want := range map[string]string{WorkloadExchange: "exchangeMailbox", WorkloadTeams: "teams", WorkloadOneDrive: "oneDriveFiles",
		WorkloadSharePoint: "sharePointSites", WorkloadVivaEngage: "vivaEngage", WorkloadSkype: "skypeForBusiness"} {
		if got := ft.workload[w].info(); got.key != want || got.workload != w {
			t.Errorf("%s: %+v", w, got)
		}
	}
}
