package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"allot/licensing"
)

// The "What if?" buttons: the findings page's tries the fixes, the group
// license form's tries an assignment; the page shows the difference and
// nothing changes. A form without its CSRF token, and a delegated owner,
// are refused.
func TestWhatIfButtons(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	before := ""
	read(t, env, func(e *licensing.Engine) { before = dumpPools(e) })
	r := c.get("/admin/findings")
	mustContain(t, r, "What if all the fixes are applied?", "Rests on")
	r = c.form("/admin/findings", "/admin/whatif", url.Values{"op": {"applyFixes"}})
	if r.Status != 200 {
		t.Fatalf("what-if of the fixes = %d: %.300s", r.Status, r.Body)
	}
	mustContain(t, r, "What if the fixes are applied", "nothing was changed", "Lose a license", "Seats and cost", "Total")
	var group string
	read(t, env, func(e *licensing.Engine) {
		for _, id := range e.GroupIDs() {
			if len(e.GroupLicenses(id)) > 0 {
				group = id
				break
			}
		}
	})
	r = c.form("/admin/groups/"+group, "/admin/whatif", url.Values{"op": {"setGroupLicenses"}, "group": {group}, "sku": {"SPE_E5"}})
	if r.Status != 200 {
		t.Fatalf("what-if of a group license = %d: %.300s", r.Status, r.Body)
	}
	mustContain(t, r, "What if SPE_E5 is assigned to the group", "Start waiting for a seat")
	read(t, env, func(e *licensing.Engine) {
		if dumpPools(e) != before {
			t.Fatal("a what-if changed the tenant")
		}
	})
	if r := c.post("/admin/whatif", url.Values{"op": {"applyFixes"}}); r.Status != http.StatusForbidden {
		t.Fatalf("without CSRF = %d", r.Status)
	}
	if r := c.form("/admin/findings", "/admin/whatif", url.Values{"op": {"explode"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown op = %d", r.Status)
	}
}

func dumpPools(e *licensing.Engine) string {
	s := ""
	for _, p := range e.Pools() {
		s += p.SKU.PartNumber + " " + itoa(p.Consumed) + " " + itoa(p.Waiting) + " " + itoa(p.Units.Total()) + "\n"
	}
	return s
}
