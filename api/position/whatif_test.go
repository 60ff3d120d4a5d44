package positionapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	positionapi "allot/api/position"
	"allot/catalog"
	"allot/licensing"
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

// A what-if of the position's fixes starts from the position the API
// computed last when it is of the same copy of the tenant, day and window
// (a position computed once per commit, not once per what-if), and
// answers as it does from a position computed for it.
func TestWhatIfReusesThePositionOfTheSameCommit(t *testing.T) {
	w := setup(t)
	w.putPrices(t)
	fixes := map[string]any{"commands": []map[string]any{{"op": "applyFixes"}}}
	answer := func(path string) string {
		r := w.e.Must(200, "POST", path, w.reader, fixes).JSON()
		b, err := json.Marshal([]any{r["gains"], r["losses"], r["startsWaiting"], r["skipped"], r["before"], r["after"], len(r["expanded"].([]any))})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	n := positionapi.Computed()
	count := func(want int64, what string) {
		t.Helper()
		if got := positionapi.Computed() - n; got != want {
			t.Fatalf("%s: %d positions computed, want %d", what, got, want)
		}
	}
	w.e.Must(200, "GET", "/allot/v1/position", w.reader, nil)
	count(1, "GET /position")
	reused := answer("/allot/v1/whatif")
	count(1, "a what-if after GET /position")
	if !strings.Contains(reused, "off") {
		t.Fatalf("the disabled account's seat is not in the fixes: %s", reused)
	}
	answer("/allot/v1/whatif?windowDays=7")
	count(2, "a what-if with another window")
	positionapi.ForgetPosition()
	if fresh := answer("/allot/v1/whatif"); fresh != reused {
		t.Fatalf("from the kept position:\n%s\nfrom a new one:\n%s", reused, fresh)
	}
	count(3, "a what-if after the position was dropped")
	answer("/allot/v1/whatif")
	count(3, "a second what-if of the same commit")
	// A change: the next what-if computes the position of the new state.
	if err := w.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: time.Now()}, func(tx *tenant.Tx) error {
		return tx.Engine.AssignUserLicenses(tx.Op, "ann", nil, []string{sku(t, "SPE_E3")})
	}); err != nil {
		t.Fatal(err)
	}
	changed := answer("/allot/v1/whatif")
	count(4, "a what-if after a change")
	if changed == reused {
		t.Fatal("the what-if after a change answers as before it")
	}
}

func sku(t *testing.T, part string) string {
	t.Helper()
	s, ok := catalog.Default().SKU(part)
	if !ok {
		t.Fatalf("no %s", part)
	}
	return s.ID
}
