package usage

import (
	"reflect"
	"testing"

	"allot/catalog"
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
