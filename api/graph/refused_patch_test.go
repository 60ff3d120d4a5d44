package graph_test

import "testing"

// Issue 15 item 5: PATCH of a static group with membershipRule and
// members@odata.bind is refused (400) and adds no member.
func TestRefusedGroupPatchAddsNoMember(t *testing.T) {
	f := newFixture(t)
	g := f.group("Static")
	u := f.user("ann@contoso.example", "Ann")
	r := f.Call("PATCH", "/v1.0/groups/"+g, f.admin, map[string]any{"membershipRule": `user.city -eq "x"`,
		"members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + u}})
	if r.Status != 400 {
		t.Fatalf("PATCH: %d %s, want 400", r.Status, r.Body)
	}
	if got := field(f.Must(200, "GET", "/v1.0/groups/"+g+"/members", f.admin, nil), "id"); len(got) != 0 {
		t.Fatalf("the refused PATCH added members %v", got)
	}
}
