package connections_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/position"
	"allot/prices"
	"allot/tenant"
	"allot/usage"
)

// signInActivities is each user's signInActivity as a tenant's Graph
// serves it, by user id.
func signInActivities(t *testing.T, w *world, remote bool) map[string]string {
	t.Helper()
	env, tok := w.local, w.ladmin
	if remote {
		env, tok = w.remote, w.radmin
	}
	var us struct {
		Value []struct {
			ID             string          `json:"id"`
			SignInActivity json.RawMessage `json:"signInActivity"`
		}
	}
	env.Must(200, "GET", "/v1.0/users?$select=id,signInActivity&$top=999", tok, nil).Decode(t, &us)
	out := map[string]string{}
	for _, u := range us.Value {
		out[u.ID] = string(u.SignInActivity)
	}
	return out
}

// findingsOf is the local tenant's usage findings of a kind, by user id.
func findingsOf(t *testing.T, w *world, kind string) map[string]bool {
	t.Helper()
	tn, ok := w.local.RT.Get(w.lid)
	if !ok {
		t.Fatal("no local tenant")
	}
	out := map[string]bool{}
	tn.Read(func(s *tenant.State) {
		pl, _, err := prices.Of(s)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		p := position.Compute(position.Input{Engine: s.Engine, Usage: usage.Of(s), Prices: pl, AsOf: usage.DayOf(now), Now: now})
		for _, f := range p.AllFindings() {
			if f.Kind == kind && f.UserID != "" {
				out[f.UserID] = true
			}
		}
	})
	return out
}

// TestSyncFeedsActivation: the first sync brings the users' signInActivity
// into allot's usage and their grant dates into the seats, so the
// activation findings are right from the first day — a seat granted 60
// days ago in Microsoft 365 and never used is never-activated, one whose
// user last signed in 50 days ago is idle, one used two days ago is
// neither — and the local signInActivity equals the remote's. A sign-in
// is not a directory change: a delta sync does not see it, the reports
// sync (which reads every user's signInActivity) does; the sign-ins read
// again change nothing.
func TestSyncFeedsActivation(t *testing.T) {
	var back atomic.Int64 // how far the remote's clock is behind (a tenant's commands never go back in time)
	back.Store(int64(60 * 24 * time.Hour))
	w := newWorldAt(t, 0, func() time.Time { return time.Now().Add(-time.Duration(back.Load())) })
	users := map[string]string{}
	for _, name := range []string{"ann", "bob", "cyd"} {
		users[name] = w.ruser(name + "@fabrikam.example")
		w.remote.Must(200, "POST", "/v1.0/users/"+users[name]+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	}
	users["dee"] = w.ruser("dee@fabrikam.example") // unlicensed, signs in
	back.Store(0)
	day := func(n int) string {
		return time.Now().UTC().AddDate(0, 0, -n).Truncate(time.Second).Format(time.RFC3339)
	}
	signIn := func(id, user, at string, interactive bool) string {
		return fmt.Sprintf(`{"id":%q,"user":%q,"at":%q,"interactive":%v}`, id, user, at, interactive)
	}
	w.remote.Must(200, "POST", "/allot/v1/signins", w.radmin, strings.Join([]string{
		signIn("s1", users["bob"], day(2), true), signIn("s2", users["bob"], day(1), false),
		signIn("s3", users["cyd"], day(50), true), signIn("s4", users["dee"], day(3), false)}, "\n"))

	conn := w.connect(false)
	res := w.sync(conn)["result"].(map[string]any)
	if res["kind"] != "full" || res["signIns"] != float64(4) {
		t.Fatalf("first sync: %v, want a full sync giving 4 sign-ins (bob's last interactive and last non-interactive, cyd's and dee's last)", res)
	}
	remote := signInActivities(t, w, true)
	if !strings.Contains(remote[users["cyd"]], day(50)[:10]) || !strings.Contains(remote[users["dee"]], day(3)[:10]) {
		t.Fatalf("the remote serves no sign-ins (the comparison would prove nothing): %v", remote)
	}
	equalMaps(t, "signInActivity after the first sync", signInActivities(t, w, false), remote)
	equalMaps(t, "grant date", grantDates(t, w.local.RT, w.lid, nil), grantDates(t, w.remote.RT, w.rid, nil))
	never, idle := findingsOf(t, w, position.NeverActivated), findingsOf(t, w, position.Idle)
	if !never[users["ann"]] || never[users["bob"]] || never[users["cyd"]] {
		t.Errorf("never-activated after the first sync: %v, want ann's seat only", never)
	}
	if !idle[users["cyd"]] || idle[users["bob"]] || idle[users["ann"]] {
		t.Errorf("idle after the first sync: %v, want cyd's seat only", idle)
	}

	// ann signs in: not a directory change, so the delta sync reads no
	// user; the reports sync reads every user's signInActivity.
	w.remote.Must(200, "POST", "/allot/v1/signins", w.radmin, signIn("s5", users["ann"], day(1), true))
	if res := w.sync(conn)["result"].(map[string]any); res["kind"] != "delta" || res["users"] != float64(0) {
		t.Fatalf("second sync: %v, want a delta sync that read no user", res)
	}
	reps := w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/reports?wait=true", w.ladmin, nil).JSON()["result"].(map[string]any)["reports"].([]any)
	last := reps[len(reps)-1].(map[string]any)
	if last["report"] != "signInActivity" || last["rows"] != float64(4) || last["accepted"] != float64(5) {
		t.Fatalf("the reports sync's signInActivity: %v, want 4 users read giving 5 sign-ins (ann's new one, the others known)", last)
	}
	equalMaps(t, "signInActivity after the reports sync", signInActivities(t, w, false), signInActivities(t, w, true))
	if never := findingsOf(t, w, position.NeverActivated); never[users["ann"]] {
		t.Errorf("ann signed in and is still never-activated: %v", never)
	}
}
