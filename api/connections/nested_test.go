package connections_test

import (
	"testing"
)

// TestNestedGroupsSyncTransitively: a group that is a member of another
// comes as a member (as Graph's /members lists it), so allot answers
// /transitiveMembers as Microsoft 365 does — after the first sync and
// after a delta sync that changes the inner group — and a connection
// made without a schedule syncs hourly.
func TestNestedGroupsSyncTransitively(t *testing.T) {
	w := newWorld(t, 0)
	ann, bob, cyd := w.ruser("ann@fabrikam.example"), w.ruser("bob@fabrikam.example"), w.ruser("cyd@fabrikam.example")
	outer, inner := w.rgroup(w.remote, w.radmin, "All staff"), w.rgroup(w.remote, w.radmin, "Sales")
	addMember(w.remote, w.radmin, outer, ann)
	addMember(w.remote, w.radmin, outer, inner)
	addMember(w.remote, w.radmin, inner, bob)
	conn := w.connect(false)
	if v := w.local.Must(200, "GET", "/allot/v1/connections/"+conn, w.ladmin, nil).JSON(); v["syncEvery"] != "1h0m0s" {
		t.Fatalf("default syncEvery: %v", v["syncEvery"])
	}
	transitive := func(local bool, g string) string {
		t.Helper()
		e, tok := w.remote, w.radmin
		if local {
			e, tok = w.local, w.ladmin
		}
		var ms struct{ Value []struct{ ID string } }
		e.Must(200, "GET", "/v1.0/groups/"+g+"/transitiveMembers?$select=id", tok, nil).Decode(t, &ms)
		var ids []string
		for _, m := range ms.Value {
			ids = append(ids, m.ID)
		}
		return sorted(ids)
	}
	check := func(step string, want []string) {
		t.Helper()
		r, l := transitive(false, outer), transitive(true, outer)
		if r != sorted(want) || l != r {
			t.Fatalf("%s: transitive members of the outer group: local %s, remote %s, want %s", step, l, r, sorted(want))
		}
	}
	w.sync(conn)
	check("first sync", []string{ann, inner, bob})
	addMember(w.remote, w.radmin, inner, cyd)
	removeMember(w.remote, w.radmin, inner, bob)
	if res := w.sync(conn)["result"].(map[string]any); res["kind"] != "delta" {
		t.Fatalf("second sync: %v", res)
	}
	check("delta sync", []string{ann, inner, cyd})
}
