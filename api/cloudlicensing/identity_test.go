package cloudlicensing_test

import (
	"strings"
	"testing"
)

func TestAllotmentNameIsBounded(t *testing.T) {
	w := setup(t)
	e := w.e
	before := len(e.Must(200, "GET", base+"/allotments", w.admin, nil).JSON()["value"].([]any))
	long := strings.Repeat("a", 5000)
	r := e.Must(400, "POST", base+"/allotments", w.admin, map[string]any{"displayName": long, "skuPartNumber": "SPE_E3", "allottedUnits": 1})
	if !strings.Contains(r.ErrorMessage(), "displayName") {
		t.Fatalf("message %s", r.ErrorMessage())
	}
	if n := len(e.Must(200, "GET", base+"/allotments", w.admin, nil).JSON()["value"].([]any)); n != before {
		t.Fatalf("a refused allotment was created: %d allotments, had %d", n, before)
	}
	e.Must(400, "PATCH", base+"/allotments/"+w.a, w.admin, map[string]any{"displayName": long})
	e.Must(400, "PATCH", base+"/allotments/"+w.a, w.admin, map[string]any{"displayName": strings.Repeat("a", 257)})
	if got := e.Must(200, "GET", base+"/allotments/"+w.a, w.admin, nil).JSON()["displayName"]; got != "Sales" {
		t.Fatalf("a refused PATCH renamed the allotment to %.40v", got)
	}
	e.Must(200, "PATCH", base+"/allotments/"+w.a, w.admin, map[string]any{"displayName": strings.Repeat("a", 256)})
}
