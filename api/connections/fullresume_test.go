package connections_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/m365"
	"allot/tenant"
)

// TestFullSyncResumes: a first full sync stopped in the middle of its
// users (its context ends while it reads the third page, as a killed
// process stops) keeps the pages it applied with its cursor; the next sync
// goes on from there — it takes no new deltaLinks, reads neither the
// products nor the users' first pages again — and ends with the local
// users, groups, members, licenses and grant dates equal to the
// remote's. A delta sync afterwards follows a change made meanwhile.
func TestFullSyncResumes(t *testing.T) {
	w := newWorld(t, 0)
	w.remote.Subscribe(w.rid, "SPE_E3", 300)
	w.proxy.top.Store(40) // pages of 40 users or groups
	var users []string
	for i := range 200 {
		users = append(users, w.ruser(fmt.Sprintf("u%03d@fabrikam.example", i), "department", fmt.Sprintf("D%d", i%7)))
	}
	g := w.rgroup(w.remote, w.radmin, "E3 users")
	inner := w.rgroup(w.remote, w.radmin, "E3 inner")
	w.remote.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	for _, u := range append(users[:50:50], users[150:170]...) {
		addMember(w.remote, w.radmin, g, u)
	}
	addMember(w.remote, w.radmin, g, inner)
	for _, u := range users[60:70] {
		addMember(w.remote, w.radmin, inner, u)
	}
	for _, u := range users[100:110] {
		w.remote.Must(200, "POST", "/v1.0/users/"+u+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	}
	w.remote.Must(200, "POST", "/v1.0/users/"+users[120]+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	time.Sleep(1100 * time.Millisecond) // local grants come a second later: grant dates must come from the remote

	conn := w.connect(false)
	lt, _ := w.local.RT.Get(w.lid)
	// The first sync stops when it asks for the third page of users.
	ctx, cancel := context.WithCancel(context.Background())
	var userPages atomic.Int64
	stop := func(uri string) {
		if strings.HasPrefix(uri, "/v1.0/users?") && strings.Contains(uri, "userPrincipalName") && userPages.Add(1) == 3 {
			cancel()
		}
	}
	w.proxy.onURI.Store(&stop)
	_, err := m365.Sync(ctx, lt, w.mgr.Env, conn, nil, "test")
	w.proxy.onURI.Store(nil)
	cancel()
	if err == nil {
		t.Fatal("the sync stopped at the third page of users did not fail")
	}
	var st m365.SyncState
	var n int
	lt.Read(func(s *tenant.State) { st, n = m365.State(s, conn), s.Engine.UserCount() })
	if st.FullSync == nil || st.FullSync.Stage != "users" || st.FullSync.Users != 80 || st.FullSync.Groups != 2 || n != 80 {
		t.Fatalf("after the stopped sync: %d users in allot, progress %+v (want the users stage with 2 groups and 2 pages of 40 users applied)", n, st.FullSync)
	}
	if v := w.local.Must(200, "GET", "/allot/v1/connections/"+conn, w.ladmin, nil).JSON(); !strings.Contains(fmt.Sprint(v["sync"]), "fullSync:map[groupsApplied:2 stage:users usersApplied:80]") {
		t.Fatalf("the API does not show the full sync's progress: %v", v["sync"])
	}

	w.proxy.mu.Lock()
	from := len(w.proxy.uris)
	w.proxy.mu.Unlock()
	res := w.sync(conn)["result"].(map[string]any)
	if res["kind"] != "full" || res["resumed"] != true || res["users"] != float64(200) || res["groups"] != float64(2) {
		t.Fatalf("the sync after the stopped one: %v, want a full sync resumed, 200 users and 2 groups in all", res)
	}
	w.proxy.mu.Lock()
	resumed := append([]string(nil), w.proxy.uris[from:]...)
	w.proxy.mu.Unlock()
	for _, u := range resumed {
		if strings.Contains(u, "/delta") || strings.Contains(u, "/subscribedSkus") ||
			(strings.Contains(u, "/users?") && strings.Contains(u, "userPrincipalName") && !strings.Contains(u, "skiptoken")) {
			t.Errorf("the resumed sync started over: %s", u)
		}
	}
	t.Logf("the resumed sync: %d requests", len(resumed))

	check := func(step string) {
		t.Helper()
		rd := directory(t, w.remote, w.radmin, nil)
		ld := directory(t, w.local, w.ladmin, nil)
		equalMaps(t, step+": user", ld.Users, rd.Users)
		equalMaps(t, step+": group", ld.Groups, rd.Groups)
		equalMaps(t, step+": grant date", grantDates(t, w.local.RT, w.lid, nil), grantDates(t, w.remote.RT, w.rid, nil))
	}
	check("resumed full sync")

	// A user deleted and one added: the next sync is a delta from the
	// deltaLinks the full sync took first.
	w.remote.Must(204, "DELETE", "/v1.0/users/"+users[3], w.radmin, nil)
	w.ruser("late@fabrikam.example")
	if res := w.sync(conn)["result"].(map[string]any); res["kind"] != "delta" {
		t.Fatalf("the sync after the full one: %v", res)
	}
	check("delta sync")
}

// TestFullSyncFallbacks: a service that refuses users' signInActivity
// (400, as Graph does without Entra ID P1) gets a full sync without it;
// a stored nextLink the service no longer accepts starts its stage again
// from the first page; both end with the remote's directory.
func TestFullSyncFallbacks(t *testing.T) {
	w := newWorld(t, 0)
	w.proxy.top.Store(3)
	for i := range 10 {
		w.ruser(fmt.Sprintf("u%02d@fabrikam.example", i))
	}
	noSignIns := func(uri string) bool { return strings.Contains(uri, "signInActivity") }
	w.proxy.refuse.Store(&noSignIns)
	conn := w.connect(false)
	lt, _ := w.local.RT.Get(w.lid)
	ctx, cancel := context.WithCancel(context.Background())
	var pages atomic.Int64
	stop := func(uri string) string {
		// after the refused first page (answered before this is asked),
		// one page; the next is never answered, so that the sync stops
		// there whatever the timing (an answer racing the cancel could be
		// taken)
		if strings.HasPrefix(uri, "/v1.0/users?") && strings.Contains(uri, "userPrincipalName") && pages.Add(1) == 2 {
			cancel()
			return "before"
		}
		return ""
	}
	w.proxy.noAnswer.Store(&stop)
	if _, err := m365.Sync(ctx, lt, w.mgr.Env, conn, nil, "test"); err == nil {
		t.Fatal("the stopped sync did not fail")
	}
	cancel()
	w.proxy.noAnswer.Store(nil)
	var st m365.SyncState
	lt.Read(func(s *tenant.State) { st = m365.State(s, conn) })
	if st.FullSync == nil || st.FullSync.Stage != "users" || st.FullSync.Users != 3 {
		t.Fatalf("after the stopped sync: %+v", st.FullSync)
	}
	// The stored nextLink (the first users page with a skiptoken asked
	// for) is refused.
	var refused atomic.Int64
	refuseLink := func(uri string) bool {
		if strings.HasPrefix(uri, "/v1.0/users?") && strings.Contains(uri, "skiptoken") && refused.CompareAndSwap(0, 1) {
			return true
		}
		return noSignIns(uri)
	}
	w.proxy.refuse.Store(&refuseLink)
	res := w.sync(conn)["result"].(map[string]any)
	if res["kind"] != "full" || res["resumed"] != true || res["users"] != float64(10) || refused.Load() != 1 {
		t.Fatalf("the sync after the stopped one: %v (%d refused)", res, refused.Load())
	}
	lt.Read(func(s *tenant.State) { st = m365.State(s, conn) })
	if st.SignInActivity || st.FullSync != nil {
		t.Fatalf("state after the sync: signInActivity %v, fullSync %+v", st.SignInActivity, st.FullSync)
	}
	rd, ld := directory(t, w.remote, w.radmin, nil), directory(t, w.local, w.ladmin, nil)
	equalMaps(t, "user", ld.Users, rd.Users)
}

// TestDeltaSyncWithoutSignInsWhenRefused: a service that gave users'
// signInActivity to the full sync and refuses it later (the licence or the
// permission withdrawn) gets a delta sync without it, not a failed sync.
func TestDeltaSyncWithoutSignInsWhenRefused(t *testing.T) {
	w := newWorld(t, 0)
	var users []string
	for i := range 4 {
		users = append(users, w.ruser(fmt.Sprintf("s%02d@fabrikam.example", i)))
	}
	conn := w.connect(false)
	if res := w.sync(conn)["result"].(map[string]any); res["kind"] != "full" {
		t.Fatalf("the first sync: %v", res)
	}
	lt, _ := w.local.RT.Get(w.lid)
	var st m365.SyncState
	lt.Read(func(s *tenant.State) { st = m365.State(s, conn) })
	if !st.SignInActivity {
		t.Fatal("the full sync did not read signInActivity")
	}
	noSignIns := func(uri string) bool { return strings.Contains(uri, "signInActivity") }
	w.proxy.refuse.Store(&noSignIns)
	w.remote.Must(204, "PATCH", "/v1.0/users/"+users[1], w.radmin, map[string]any{"displayName": "Renamed"})
	res := w.sync(conn)
	if r, _ := res["result"].(map[string]any); r == nil || r["kind"] != "delta" {
		t.Fatalf("the sync after signInActivity was refused: %v", res)
	}
	lt.Read(func(s *tenant.State) { st = m365.State(s, conn) })
	if st.SignInActivity {
		t.Fatal("the state still says signInActivity is read")
	}
	rd, ld := directory(t, w.remote, w.radmin, nil), directory(t, w.local, w.ladmin, nil)
	equalMaps(t, "user", ld.Users, rd.Users)
}
