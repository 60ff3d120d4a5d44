package connections_test

import (
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/m365"
	"allot/tenant"
)

// grantDates returns each held license's grant date (to the second) of a
// tenant's users, by "userId/skuId".
func grantDates(t *testing.T, rt interface {
	Get(string) (*tenant.Tenant, bool)
}, tenantID string, keep func(string) bool) map[string]time.Time {
	tt, ok := rt.Get(tenantID)
	if !ok {
		t.Fatalf("no tenant %s", tenantID)
	}
	out := map[string]time.Time{}
	tt.Read(func(s *tenant.State) {
		s.Engine.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
			if keep != nil && !keep(u.ID) {
				return true
			}
			for i := 0; i < ls.Len(); i++ {
				if l := ls.At(i); l.Held {
					out[u.ID+"/"+l.SKUID] = l.GrantDate().Truncate(time.Second)
				}
			}
			return true
		})
	})
	return out
}

func equalMaps[V comparable](t *testing.T, what string, got, want map[string]V) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s %s: local %v, remote %v", what, k, g, v)
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s %s: local has %v, remote has nothing", what, k, v)
		}
	}
}

// TestSyncPlanApply runs the connector against a second allot acting as
// the Microsoft tenant, through a proxy that throttles every third
// request: after each sync the local directory, licenses and grant dates
// equal the remote's; after apply the remote's licenses equal allot's
// decision and a second plan is empty.
func TestSyncPlanApply(t *testing.T) {
	w := newWorld(t, 3)
	// The remote tenant: a licensed group, a direct license, users.
	u1 := w.ruser("ann@fabrikam.example", "department", "Sales")
	u2 := w.ruser("bob@fabrikam.example")
	u3 := w.ruser("cyd@fabrikam.example")
	u4 := w.ruser("dee@fabrikam.example")
	u5 := w.ruser("eve@fabrikam.example")
	g := w.rgroup(w.remote, w.radmin, "E3 users")
	w.remote.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	addMember(w.remote, w.radmin, g, u1)
	addMember(w.remote, w.radmin, g, u2)
	w.remote.Must(200, "POST", "/v1.0/users/"+u3+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	time.Sleep(1100 * time.Millisecond) // local grants come a second later: grant dates must come from the remote

	conn := w.connect(true)
	if r := w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/test", w.ladmin, nil); r.JSON()["ok"] != true {
		t.Fatalf("test: %s", r.Body)
	}
	w.sync(conn)
	checkSynced(t, w, "first sync")
	t.Logf("first sync: %d requests through the proxy, %d throttled, %d tokens issued", w.proxy.n.Load(), w.proxy.throttled.Load(), w.tokens.issued.Load())
	if w.proxy.throttled.Load() == 0 || w.waits.Load() == 0 {
		t.Fatalf("the proxy throttled %d requests, the client waited %d s: the test did not exercise throttling", w.proxy.throttled.Load(), w.waits.Load())
	}

	// Changes in the remote; a second sync follows them.
	removeMember(w.remote, w.radmin, g, u2)
	addMember(w.remote, w.radmin, g, u4)
	w.remote.Must(204, "DELETE", "/v1.0/users/"+u5, w.radmin, nil)
	w.remote.Must(204, "PATCH", "/v1.0/users/"+u1, w.radmin, map[string]any{"department": "Marketing", "displayName": "Ann B."})
	w.remote.Must(200, "POST", "/v1.0/users/"+u3+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{}, "removeLicenses": []string{o365E3}})
	u6 := w.ruser("fay@fabrikam.example")
	before := w.proxy.n.Load()
	res := w.sync(conn)["result"].(map[string]any)
	// Changed: u1 (properties), u2 and u4 (their inherited licenses), u3
	// (its direct license), u6 (new); u5 is removed.
	if res["kind"] != "delta" || res["users"].(float64) != 5 {
		t.Fatalf("second sync: %v, want a delta sync reading the 5 changed users", res)
	}
	t.Logf("delta sync: %d requests", w.proxy.n.Load()-before)
	checkSynced(t, w, "second sync")
	if r := w.local.Call("GET", "/v1.0/users/"+u5, w.ladmin, nil); r.Status != 404 {
		t.Errorf("a user deleted in Microsoft 365 is still in allot: %d", r.Status)
	}

	syncedPropertiesReadOnly(t, w, u1, g)
	planAndApply(t, w, conn, []string{u1, u2, u3, u4, u6})
}

// checkSynced: the local directory, licenses and grant dates of the users
// and groups the remote has equal the remote's.
func checkSynced(t *testing.T, w *world, step string) {
	t.Helper()
	rd := directory(t, w.remote, w.radmin, nil)
	ld := directory(t, w.local, w.ladmin, func(id string) bool { _, ok := rd.Users[id]; return ok })
	if len(rd.Users) < 4 || len(rd.Groups) < 1 {
		t.Fatalf("%s: the remote has %d users and %d groups", step, len(rd.Users), len(rd.Groups))
	}
	t.Logf("%s: %d users, %d groups compared: %v", step, len(rd.Users), len(rd.Groups), rd.Groups)
	equalMaps(t, step+": user", ld.Users, rd.Users)
	lg := map[string]string{}
	for id, v := range ld.Groups {
		if _, ok := rd.Groups[id]; ok {
			lg[id] = v
		}
	}
	equalMaps(t, step+": group", lg, rd.Groups)
	equalMaps(t, step+": grant date", grantDates(t, w.local.RT, w.lid, func(id string) bool { _, ok := rd.Users[id]; return ok }),
		grantDates(t, w.remote.RT, w.rid, nil))
}

// syncedPropertiesReadOnly: Entra-owned properties of a synced user (u1)
// and group (g) are read-only.
func syncedPropertiesReadOnly(t *testing.T, w *world, u1, g string) {
	r := w.local.Call("PATCH", "/v1.0/users/"+u1, w.ladmin, map[string]any{"displayName": "Not Ann"})
	if r.Status != 400 || !strings.Contains(r.ErrorMessage(), "synced from Microsoft Entra") {
		t.Fatalf("PATCH of a synced user's displayName: %d %s", r.Status, r.Body)
	}
	r = w.local.Call("PATCH", "/v1.0/groups/"+g, w.ladmin, map[string]any{"description": "x"})
	if r.Status != 400 {
		t.Fatalf("PATCH of a synced group's description: %d %s", r.Status, r.Body)
	}
}

// planAndApply: allot manages a group of its own: ENTERPRISEPACK (2
// units) for u2, u4 and u6 (users[1], [3], [4]) in the order they join:
// two get seats, u6 waits; the plan says so, apply makes the remote hold
// what allot decided, and a sync after it keeps the decision; a member
// leaving frees the seat for u6.
func planAndApply(t *testing.T, w *world, conn string, users []string) {
	u2, u4, u6 := users[1], users[3], users[4]
	a := w.rgroup(w.local, w.ladmin, "allot pilot")
	w.local.Must(202, "POST", "/v1.0/groups/"+a+"/assignLicense", w.ladmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	for _, u := range []string{u2, u4, u6} {
		addMember(w.local, w.ladmin, a, u)
	}
	var plan m365.PlanResult
	w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &plan)
	if len(plan.Calls) != 2 || plan.Calls[0].Why == nil {
		t.Fatalf("plan: %+v", plan)
	}
	for _, c := range plan.Calls {
		if c.UserID == u6 || len(c.Add) != 1 || !strings.EqualFold(c.Add[0].SKUID, o365E3) || len(c.Remove) != 0 {
			t.Fatalf("plan call: %+v", c)
		}
	}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &plan)
	if len(plan.Calls) != 0 {
		t.Fatalf("a second plan after apply: %+v", plan)
	}
	holders := func(env interface {
		Get(string) (*tenant.Tenant, bool)
	}, id string) map[string]bool {
		out := map[string]bool{}
		tt, _ := env.Get(id)
		tt.Read(func(s *tenant.State) {
			for _, u := range users {
				if l, ok := s.Engine.License(u, o365E3); ok && l.Usable() {
					out[u] = true
				}
			}
		})
		return out
	}
	equalMaps(t, "ENTERPRISEPACK after apply", holders(w.remote.RT, w.rid), holders(w.local.RT, w.lid))

	// A sync after apply keeps allot's decision (its own assignments are
	// not taken for Entra's), and a member leaving frees the seat for u6.
	w.sync(conn)
	removeMember(w.local, w.ladmin, a, u2)
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &plan)
	if len(plan.Calls) != 0 {
		t.Fatalf("a plan after the second apply: %+v", plan)
	}
	got := holders(w.remote.RT, w.rid)
	if got[u2] || !got[u4] || !got[u6] {
		t.Fatalf("remote ENTERPRISEPACK holders after u2 left the allot group: %v", got)
	}
	equalMaps(t, "ENTERPRISEPACK after the second apply", got, holders(w.local.RT, w.lid))
}
