package connections_test

import (
	"strings"
	"sync/atomic"
	"testing"

	"allot/m365"
	"allot/tenant"
)

// TestApplyStopsAtTheFirstRefusal: allot manages SPE_E3 through an allot
// group of four synced users, one of whom (dee) holds it in Microsoft 365
// by Entra's own direct assignment, as she holds ENTERPRISEPACK. The plan
// has a call for each of the three others and none for dee. Microsoft 365
// refuses the second call: apply answers 409 with the call it refused and
// the one applied before it, sends nothing after it, audits both, keeps
// no record of the refused call; Microsoft 365 then holds exactly the
// first call's license beside Entra's own, and the next plan is the two
// calls left. Once Graph accepts them, apply finishes and a plan is
// empty. Members leaving the allot group: allot removes what it assigned
// and never Entra's own licenses (dee's SPE_E3 and ENTERPRISEPACK stay).
func TestApplyStopsAtTheFirstRefusal(t *testing.T) {
	w := newWorld(t, 0)
	ids := map[string]string{}
	for _, n := range []string{"ann", "bob", "cyd", "dee"} {
		ids[n] = w.ruser(n + "@fabrikam.example")
	}
	w.remote.Must(200, "POST", "/v1.0/users/"+ids["dee"]+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{
		map[string]any{"skuId": e3, "disabledPlans": []string{}}, map[string]any{"skuId": o365E3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	conn := w.connect(true)
	w.sync(conn)
	pilot := w.rgroup(w.local, w.ladmin, "allot E3 pilot")
	w.local.Must(202, "POST", "/v1.0/groups/"+pilot+"/assignLicense", w.ladmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	for _, n := range []string{"ann", "bob", "cyd", "dee"} {
		addMember(w.local, w.ladmin, pilot, ids[n])
	}
	plan := func() m365.PlanResult {
		t.Helper()
		var p m365.PlanResult
		w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &p)
		return p
	}
	first := plan()
	if len(first.Calls) != 3 {
		t.Fatalf("plan: %+v, want a call for ann, bob and cyd", first)
	}
	for _, c := range first.Calls {
		if c.UserID == ids["dee"] || len(c.Add) != 1 || !strings.EqualFold(c.Add[0].SKUID, e3) || len(c.Remove) != 0 {
			t.Fatalf("plan call %+v", c)
		}
	}

	refuseTheSecondCall(t, w, conn, first, ids["dee"])
	left := plan()
	if len(left.Calls) != 2 || left.Calls[0].UserID != first.Calls[1].UserID || left.Calls[1].UserID != first.Calls[2].UserID {
		t.Fatalf("plan after the refusal: %+v, want the two calls left", left)
	}

	// Graph accepts them now.
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	if p := plan(); len(p.Calls) != 0 {
		t.Fatalf("plan after the second apply: %+v", p)
	}
	if held := remoteHolders(t, w, e3); held != sorted([]string{ids["ann"], ids["bob"], ids["cyd"], ids["dee"]}) {
		t.Fatalf("SPE_E3 in Microsoft 365: %s", held)
	}

	// ann and dee leave the allot group: ann's seat (allot's) is removed,
	// dee's (Entra's) is not, nor her ENTERPRISEPACK.
	removeMember(w.local, w.ladmin, pilot, ids["ann"])
	removeMember(w.local, w.ladmin, pilot, ids["dee"])
	p := plan()
	if len(p.Calls) != 1 || p.Calls[0].UserID != ids["ann"] || len(p.Calls[0].Remove) != 1 || len(p.Calls[0].Add) != 0 {
		t.Fatalf("plan after ann and dee left: %+v, want ann's SPE_E3 removed only", p)
	}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	if held := remoteHolders(t, w, e3); held != sorted([]string{ids["bob"], ids["cyd"], ids["dee"]}) {
		t.Fatalf("SPE_E3 in Microsoft 365 after ann and dee left: %s", held)
	}
	if held := remoteHolders(t, w, o365E3); held != ids["dee"] {
		t.Fatalf("ENTERPRISEPACK in Microsoft 365: %s, want dee's own", held)
	}
	w.sync(conn)
	if p := plan(); len(p.Calls) != 0 {
		t.Fatalf("plan after a sync: %+v", p)
	}
}

// refuseTheSecondCall applies the plan first while Graph refuses its
// second assignLicense: apply answers 409 with the call applied and the
// one refused, nothing after it reaches Graph, both are audited, only the
// first call's record is kept and Microsoft 365 holds its license beside
// dee's own.
func refuseTheSecondCall(t *testing.T, w *world, conn string, first m365.PlanResult, dee string) {
	t.Helper()
	// Graph refuses the second assignLicense.
	var assigns atomic.Int64
	refuseSecond := func(uri string) bool {
		return strings.HasSuffix(uri, "/assignLicense") && assigns.Add(1) == 2
	}
	w.proxy.refuse.Store(&refuseSecond)
	r := w.local.Call("POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	var res m365.ApplyResult
	r.Decode(t, &res)
	if r.Status != 409 || len(res.Applied) != 1 || res.Stopped == nil || res.Stopped.UserID != first.Calls[1].UserID ||
		res.Applied[0].UserID != first.Calls[0].UserID || !strings.Contains(res.Error, "Refused by the test's proxy") {
		t.Fatalf("apply with a refusal: %d %s", r.Status, r.Body)
	}
	if n := assigns.Load(); n != 2 {
		t.Fatalf("%d assignLicense calls reached Graph, want 2 (nothing after the refusal)", n)
	}
	held := remoteHolders(t, w, e3)
	if want := first.Calls[0].UserID + "," + dee; held != sorted(strings.Split(want, ",")) {
		t.Fatalf("SPE_E3 in Microsoft 365 after the refusal: %s, want the first call's user and dee", held)
	}
	audit := w.local.Must(200, "GET", "/allot/v1/audit?top=50", w.ladmin, nil).JSON()["value"].([]any)
	actions := map[string]int{}
	for _, e := range audit {
		actions[e.(map[string]any)["action"].(string)]++
	}
	if actions["Apply license to Microsoft 365"] != 1 || actions["Apply license to Microsoft 365 refused"] != 1 {
		t.Fatalf("audit after the refusal: %v", actions)
	}
	if recs := appliedRecords(t, w); len(recs) != 1 || !strings.Contains(recs[0], first.Calls[0].UserID) {
		t.Fatalf("allot's records of what it applied: %v, want the first call's only", recs)
	}
	w.proxy.refuse.Store(nil)
}

// remoteHolders lists (sorted, comma-separated) the remote's users who
// hold a product.
func remoteHolders(t *testing.T, w *world, sku string) string {
	t.Helper()
	var out []string
	for id, line := range directory(t, w.remote, w.radmin, nil).Users {
		if strings.Contains(strings.Split(line, "|")[5], strings.ToLower(sku)) {
			out = append(out, id)
		}
	}
	return sorted(out)
}

// appliedRecords lists the local tenant's records of licenses allot
// applied to Microsoft 365.
func appliedRecords(t *testing.T, w *world) []string {
	tn, ok := w.local.RT.Get(w.lid)
	if !ok {
		t.Fatal("no local tenant")
	}
	var out []string
	tn.Read(func(s *tenant.State) { out = s.IDs(m365.KindApplied) })
	return out
}

// TestApplyWithoutAnAnswer: an assignLicense whose answer never comes
// (the connection dropped) stops the apply with its pending record kept.
// When Graph did carry it out, the next plan reads Microsoft 365, has
// nothing to do, and the license stays allot's — removed by allot when
// the decision changes; when Graph did not, the next plan makes the call
// again. Nothing is lost and nothing assigned twice.
func TestApplyWithoutAnAnswer(t *testing.T) {
	w := newWorld(t, 0)
	ann, bob := w.ruser("ann@fabrikam.example"), w.ruser("bob@fabrikam.example")
	conn := w.connect(true)
	w.sync(conn)
	pilot := w.rgroup(w.local, w.ladmin, "allot E3 pilot")
	w.local.Must(202, "POST", "/v1.0/groups/"+pilot+"/assignLicense", w.ladmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	plan := func() m365.PlanResult {
		t.Helper()
		var p m365.PlanResult
		w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &p)
		return p
	}
	for _, how := range []string{"after", "before"} {
		user := ann
		if how == "before" {
			user = bob
		}
		addMember(w.local, w.ladmin, pilot, user)
		drop := func(uri string) string {
			if strings.HasSuffix(uri, "/assignLicense") {
				return how
			}
			return ""
		}
		w.proxy.noAnswer.Store(&drop)
		if r := w.local.Call("POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil); r.Status/100 != 5 {
			t.Fatalf("%s: apply without an answer: %d %s", how, r.Status, r.Body)
		}
		w.proxy.noAnswer.Store(nil)
		if recs := appliedRecords(t, w); len(recs) != 1 && how == "after" || len(recs) != 2 && how == "before" {
			t.Fatalf("%s: records %v: the pending record was not kept", how, recs)
		}
		p := plan()
		switch {
		case how == "after" && len(p.Calls) != 0:
			t.Fatalf("Graph carried the call out, yet the plan is %+v", p)
		case how == "before" && (len(p.Calls) != 1 || p.Calls[0].UserID != bob || len(p.Calls[0].Add) != 1):
			t.Fatalf("Graph never got the call, yet the plan is %+v", p)
		}
		w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	}
	if held := remoteHolders(t, w, e3); held != sorted([]string{ann, bob}) {
		t.Fatalf("SPE_E3 in Microsoft 365: %s, want ann's and bob's", held)
	}
	// ann's license (pending when its answer was lost) is allot's: it goes
	// when she leaves the group.
	removeMember(w.local, w.ladmin, pilot, ann)
	if p := plan(); len(p.Calls) != 1 || p.Calls[0].UserID != ann || len(p.Calls[0].Remove) != 1 {
		t.Fatalf("plan after ann left: %+v", p)
	}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	if held := remoteHolders(t, w, e3); held != bob {
		t.Fatalf("SPE_E3 in Microsoft 365: %s, want bob's", held)
	}
	if p := plan(); len(p.Calls) != 0 {
		t.Fatalf("final plan: %+v", p)
	}
}
