package usage

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/tenant"
)

// Assigned Products joins display names with "+", and names contain "+":
// the value is split by the catalog's display names.
func TestAssignedProductsMatchDisplayNamesWithPlus(t *testing.T) {
	cat := catalog.Default()
	id := func(part string) string { s, _ := cat.SKU(part); return s.ID }
	got := AssignedProducts(cat, "MICROSOFT 365 E3+ENTERPRISE MOBILITY + SECURITY E3+NOT A PRODUCT+OFFICE 365 E3")
	want := []ReportProduct{{"MICROSOFT 365 E3", id("SPE_E3")}, {"ENTERPRISE MOBILITY + SECURITY E3", id("EMS")},
		{"NOT A PRODUCT", ""}, {"OFFICE 365 E3", id("ENTERPRISEPACK")}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := AssignedProducts(cat, ""); got != nil {
		t.Fatalf("empty: %+v", got)
	}
}

// The active-user report's License Assign Date dates a seat granted later
// in allot; the date is stored (it survives a reload), and a second report
// does not move it.
func TestLicenseAssignDateIsStored(t *testing.T) {
	e := newEnv(t)
	now := testEpoch.Add(200 * 24 * time.Hour)
	e.addUsers(now, 1, "SPE_E3")
	csv := func(assign string) string {
		return "Report Refresh Date,User Principal Name,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Teams Last Activity Date," +
			"Exchange License Assign Date,Teams License Assign Date,Assigned Products\n" +
			now.Format(time.DateOnly) + "," + upn(1) + ",,,,," + assign + "," + assign + ",MICROSOFT 365 E3\n"
	}
	apply := func(body string) {
		rep, err := ParseReport(strings.NewReader(body), "")
		if err != nil {
			t.Fatal(err)
		}
		e.do(now.Add(time.Hour), func(tx *tenant.Tx) error { _, err := rep.Apply(tx, true); return err })
	}
	apply(csv("2023-02-01"))
	want := time.Date(2023, 2, 1, 0, 0, 0, 0, time.UTC)
	check := func(when string) {
		e.tn.Read(func(s *tenant.State) {
			l, _ := s.Engine.License(uid(1), skuID(t, "SPE_E3"))
			if !l.GrantDate().Equal(want) {
				t.Fatalf("%s: grant %v, want %v", when, l.GrantDate(), want)
			}
		})
	}
	check("after the report")
	e.reopen()
	check("after a reload")
	apply(csv("2023-01-01"))
	check("a later report does not move an imported date")
}
