package positionapi_test

import (
	"strings"
	"testing"

	"allot/tenant"
)

// POST /allot/v1/whatif answers the difference and changes nothing; bad
// input is 400; a reader may ask, an allotment owner may not.
func TestWhatIfAnswersTheDifferenceAndChangesNothing(t *testing.T) {
	w := setup(t)
	w.putPrices(t)
	state := func() string {
		var b strings.Builder
		w.tn.Read(func(s *tenant.State) {
			for _, id := range []string{"ann", "bob", "off", "carl"} {
				for _, l := range s.Engine.Licenses(id) {
					b.WriteString(id + " " + l.SKUID)
					if l.Held {
						b.WriteString(" held")
					}
					b.WriteString("\n")
				}
			}
			for _, p := range s.Engine.Pools() {
				b.WriteString(p.SKU.PartNumber + " " + string(rune('0'+p.Units.Enabled)) + "\n")
			}
		})
		return b.String()
	}
	before := state()
	r := w.e.Must(200, "POST", "/allot/v1/whatif", w.reader, map[string]any{"commands": []map[string]any{
		{"op": "setUserLicenses", "userId": "ann", "removeLicenses": []string{"SPE_E3"}},
		{"op": "changeUnits", "sku": "SPE_E5", "by": -4},
		{"op": "applyFixes", "kinds": []string{"disabledHoldingLicense"}},
	}}).JSON()
	if state() != before {
		t.Fatal("a what-if changed the tenant")
	}
	losses := map[string]bool{}
	for _, c := range r["losses"].([]any) {
		m := c.(map[string]any)
		losses[m["userId"].(string)+" "+m["skuPartNumber"].(string)] = true
	}
	if !losses["ann SPE_E3"] || !losses["off SPE_E3"] {
		t.Fatalf("losses %v (%v)", losses, r)
	}
	cmds := r["commands"].([]any)
	if e := cmds[1].(map[string]any)["error"]; e != nil {
		t.Fatalf("E5 from 5 to 1 units with 1 seat held: %v", e)
	}
	b, a := r["before"].(map[string]any)["totals"].(map[string]any), r["after"].(map[string]any)["totals"].(map[string]any)
	// E5: 4 units fewer at 57 a month.
	if r["currency"] != "USD" || b["monthlyCost"].(float64)-a["monthlyCost"].(float64) != 4*57 {
		t.Fatalf("costs before %v after %v", b, a)
	}
	w.e.Must(400, "POST", "/allot/v1/whatif", w.admin, `{"commands":[]}`)
	w.e.Must(400, "POST", "/allot/v1/whatif", w.admin, `{"commands":[{"op":"explode"}]}`)
	w.e.Must(400, "POST", "/allot/v1/whatif", w.admin, `{"commands":[{"op":"changeUnits","sku":"SPE_E3"}]}`)
	w.e.Must(400, "POST", "/allot/v1/whatif?asOf=tomorrow", w.admin, `{"commands":[{"op":"applyFixes"}]}`)
	w.e.Must(403, "POST", "/allot/v1/whatif", w.userAdmin, `{"commands":[{"op":"applyFixes"}]}`)
	w.e.Must(404, "POST", "/allot/v1/whatif", w.owner, `{"commands":[{"op":"applyFixes"}]}`)
	if state() != before {
		t.Fatal("a refused what-if changed the tenant")
	}
}
