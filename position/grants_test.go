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
	"allot/usage"
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
			if !l.Held || !l.GrantDate().Equal(sixtyDaysAgo) || !l.Sources[0].LastUpdated.Time().Equal(sixtyDaysAgo) {
				t.Fatalf("existing=%v: grant %v, lastUpdated %v, want %v", existing, l.GrantDate(), l.Sources[0].LastUpdated, sixtyDaysAgo)
			}
			if existing && !l.Since.Time().After(asOf.Add(-time.Minute)) {
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

// The active-user report's License Assign Date dates a seat allot granted
// later (a tenant created in allot over an existing estate): the seat of a
// product listed in Assigned Products is as old as the latest assign date
// of its workloads, so a never-used one is neverActivated at once.
func TestReportLicenseAssignDateDatesTheSeat(t *testing.T) {
	e := newEnv(t)
	e.units(asOf.Add(-2*time.Hour), "SPE_E3=5", "EMS=5")
	e.user(asOf.Add(-time.Hour), "ann", nil, "SPE_E3", "EMS")
	e.user(asOf.Add(-time.Hour), "bob", nil, "SPE_E3")
	const header = "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Has OneDrive License,Has SharePoint License,Has Skype For Business License,Has Yammer License,Has Teams License,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,Skype For Business License Assign Date,Yammer License Assign Date,Teams License Assign Date,Assigned Products\n"
	csv := header +
		"2024-06-29,ann@contoso.example,Ann,False,,True,True,True,False,False,True,,,,,,,2024-02-01,2024-02-03,2024-02-03,,,2024-02-05,MICROSOFT 365 E3+ENTERPRISE MOBILITY + SECURITY E3\n" +
		"2024-06-29,bob@contoso.example,Bob,False,,True,True,True,False,False,True,2024-06-28,,,,,,2024-02-01,,,,,,MICROSOFT 365 E3\n"
	rep, err := usage.ParseReport(strings.NewReader(csv), "")
	if err != nil {
		t.Fatal(err)
	}
	e.do(asOf, func(tx *tenant.Tx) error {
		r, err := rep.Apply(tx, false)
		if err == nil && (r.Accepted != 2 || r.NotRecorded) {
			t.Errorf("report: %+v", r)
		}
		return err
	})
	e.tn.Read(func(s *tenant.State) {
		l, _ := s.Engine.License("ann", sku(t, "SPE_E3"))
		if want := time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC); !l.GrantDate().Equal(want) {
			t.Fatalf("ann's E3 grant %v, want %v (the latest assign date of its workloads)", l.GrantDate(), want)
		}
		if l.Since.Time().Before(asOf.Add(-2 * time.Hour)) {
			t.Fatalf("the claim time moved: %v", l.Since)
		}
	})
	p := e.position()
	na := findings(p, position.NeverActivated)
	if _, ok := na["ann"]; !ok {
		t.Fatalf("ann never used her seats: %v", keys(na))
	}
	if _, ok := na["bob"]; ok {
		t.Fatal("bob used Exchange")
	}
}
