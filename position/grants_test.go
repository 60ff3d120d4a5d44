package position_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"allot/bundle"
	"allot/catalog"
	"allot/position"
	"allot/tenant"
)

// importBundle imports a bundle folder of files at now.
func (e *env) importBundle(now time.Time, files map[string]string) {
	e.t.Helper()
	dir := e.t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	b, err := bundle.Open(dir, catalog.Default())
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := bundle.Apply(context.Background(), e.tn, b, "test", now); err != nil {
		e.t.Fatal(err)
	}
}

// An imported estate is audited from day one: a seat the bundle says was
// assigned 60 days ago is 60 days old (grant date, lastUpdatedDateTime),
// so a never-used one is neverActivated the day it is imported — into an
// empty tenant and into one that already has users. The claim time (which
// orders the waiting room) stays the import's in the second case.
func TestImportedGrantDatesGiveFindingsFromDayOne(t *testing.T) {
	sixtyDaysAgo := asOf.Add(-60 * 24 * time.Hour).Truncate(time.Second)
	at := sixtyDaysAgo.Format(time.RFC3339)
	for _, existing := range []bool{false, true} {
		e := newEnv(t)
		if existing {
			e.units(asOf.Add(-time.Hour), "SPE_E3=5")
			e.user(asOf.Add(-time.Hour), "old", nil, "SPE_E3")
		}
		e.importBundle(asOf, map[string]string{
			"subscriptions.csv":   "skuPartNumber,quantity\nSPE_E3,5\n",
			"users.csv":           "id,userPrincipalName,usageLocation\nann,ann@contoso.example,US\nbob,bob@contoso.example,US\n",
			"direct_licenses.csv": "userId,skuPartNumber,disabledPlans,assignedAt\nann,SPE_E3,," + at + "\nbob,SPE_E3,," + at + "\n",
		})
		e.uses("bob teamsChat 2024-06-20") // usage data exists; ann never used hers
		e.tn.Read(func(s *tenant.State) {
			l, _ := s.Engine.License("ann", sku(t, "SPE_E3"))
			if !l.Held || !l.GrantDate().Equal(sixtyDaysAgo) || !l.Sources[0].LastUpdated.Equal(sixtyDaysAgo) {
				t.Fatalf("existing=%v: grant %v, lastUpdated %v, want %v", existing, l.GrantDate(), l.Sources[0].LastUpdated, sixtyDaysAgo)
			}
			if existing && !l.Since.After(asOf.Add(-time.Minute)) {
				t.Fatalf("the claim into an existing tenant is the import's (orders the waiting room): %v", l.Since)
			}
		})
		p := e.position()
		f, ok := findings(p, position.NeverActivated)["ann"]
		if !ok {
			t.Fatalf("existing=%v: no neverActivated finding for ann: %v", existing, keys(findings(p, position.NeverActivated)))
		}
		if _, ok := findings(p, position.NeverActivated)["bob"]; ok {
			t.Fatal("bob used his seat")
		}
		if ev := f.Evidence[0]; ev.Detail == "" || !strings.Contains(ev.Detail, sixtyDaysAgo.Format(time.DateOnly)) {
			t.Fatalf("evidence %+v", ev)
		}
	}
}
