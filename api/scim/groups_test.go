package scim_test

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"allot/licensing"
	"allot/tenant"
)

func TestCreateAndGetGroup(t *testing.T) {
	w := setup(t)
	u1 := w.createUser("u1@contoso.example", map[string]any{"displayName": "User One"})
	u2 := w.createUser("u2@contoso.example")
	r := w.scim(201, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"externalId": "g-ext", "displayName": "Sales", "members": []any{map[string]any{"value": u1}, map[string]any{"value": u2, "display": "ignored"}}})
	g := obj(t, r)
	id := g["id"].(string)
	if !strings.HasSuffix(r.Header.Get("Location"), "/scim/v2/Groups/"+id) || r.Header.Get("ETag") == "" {
		t.Fatalf("headers %v", r.Header)
	}
	if g["displayName"] != "Sales" || g["externalId"] != "g-ext" || len(g["members"].([]any)) != 2 {
		t.Fatalf("group %v", g)
	}
	var m1 map[string]any
	for _, m := range g["members"].([]any) {
		if m.(map[string]any)["value"] == u1 {
			m1 = m.(map[string]any)
		}
	}
	if m1["display"] != "User One" || m1["type"] != "User" || !strings.HasSuffix(m1["$ref"].(string), "/Users/"+u1) {
		t.Fatalf("member %v", m1)
	}
	var eg licensing.Group
	w.tn.Read(func(s *tenant.State) { eg, _ = s.Engine.Group(id) })
	if !eg.SecurityEnabled || eg.DisplayName != "Sales" {
		t.Fatalf("engine group %+v", eg)
	}
	// The user shows its groups.
	u := obj(t, w.scim(200, "GET", "/Users/"+u1, nil))
	if gs := u["groups"].([]any); len(gs) != 1 || gs[0].(map[string]any)["value"] != id || gs[0].(map[string]any)["display"] != "Sales" {
		t.Fatalf("user groups %v", u["groups"])
	}
	// excludedAttributes=members, as Entra asks.
	g = obj(t, w.scim(200, "GET", "/Groups/"+id+"?excludedAttributes=members", nil))
	if _, ok := g["members"]; ok || g["displayName"] != "Sales" {
		t.Fatalf("excluded members: %v", g)
	}
	g = obj(t, w.scim(200, "GET", "/Groups/"+id+"?attributes=members.value", nil))
	if !reflect.DeepEqual(g["members"], []any{map[string]any{"value": sorted(u1, u2)[0]}, map[string]any{"value": sorted(u1, u2)[1]}}) || g["displayName"] != nil {
		t.Fatalf("attributes members.value: %v", g)
	}
}

func TestCreateGroupRefusesBadMembersAndChangesNothing(t *testing.T) {
	w := setup(t)
	scimError(t, w.scim(400, "POST", "/Groups", map[string]any{"displayName": "G", "members": []any{map[string]any{"value": "nobody"}}}), "400", "invalidValue")
	scimError(t, w.scim(400, "POST", "/Groups", map[string]any{"members": []any{}}), "400", "invalidValue")
	if n := obj(t, w.scim(200, "GET", "/Groups", nil))["totalResults"]; n != float64(0) {
		t.Fatalf("%v groups", n)
	}
}

func TestListGroups(t *testing.T) {
	w := setup(t)
	u := w.createUser("u@contoso.example")
	a := w.createGroup("Alpha", u)
	b := w.createGroup("Beta")
	w.scim(200, "PUT", "/Groups/"+b, map[string]any{"displayName": "Beta", "externalId": "ext-b"})
	cases := map[string][]string{
		`displayName eq "alpha"`:                  {a},
		`externalId eq "ext-b"`:                   {b},
		`members[value eq "` + u + `"]`:           {a},
		`members.value eq "` + u + `"`:            {a},
		`not (members pr)`:                        {b},
		`displayName sw "A" or id eq "` + b + `"`: sorted(a, b),
	}
	for f, want := range cases {
		got := obj(t, w.scim(200, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(f), nil))
		if !reflect.DeepEqual(ids(got), want) {
			t.Errorf("%s: %v, want %v", f, ids(got), want)
		}
		for _, r := range got["Resources"].([]any) {
			if _, ok := r.(map[string]any)["members"]; ok {
				t.Errorf("%s: members not excluded", f)
			}
		}
	}
	p := obj(t, w.scim(200, "GET", "/Groups?startIndex=2&count=1", nil))
	if !reflect.DeepEqual(ids(p), sorted(a, b)[1:]) || p["totalResults"] != float64(2) {
		t.Errorf("page %v", p)
	}
}

func TestPatchGroupMembers(t *testing.T) {
	w := setup(t)
	u1, u2, u3 := w.createUser("u1@contoso.example"), w.createUser("u2@contoso.example"), w.createUser("u3@contoso.example")
	g := w.createGroup("G")
	r := w.scim(204, "PATCH", "/Groups/"+g, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": u1}, map[string]any{"value": u2}}}}})
	if r.Header.Get("ETag") == "" || len(r.Body) != 0 {
		t.Fatalf("204: %v %s", r.Header, r.Body)
	}
	if got := w.members(g); !reflect.DeepEqual(got, sorted(u1, u2)) {
		t.Fatalf("members %v", got)
	}
	// Adding an existing member again is a no-op, not an error (retries).
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+u1+`"}]}]}`)
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"remove","path":"members[value eq \"`+u1+`\"]"}]}`)
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"remove","path":"members[value eq \"`+u1+`\"]"}]}`)
	if got := w.members(g); !reflect.DeepEqual(got, []string{u2}) {
		t.Fatalf("after remove %v", got)
	}
	// Replace the whole list, with the group back in the answer.
	body := obj(t, w.scim(200, "PATCH", "/Groups/"+g+"?attributes=members", `{"Operations":[{"op":"replace","path":"members","value":[{"value":"`+u3+`"},{"value":"`+u1+`"}]}]}`))
	if got := w.members(g); !reflect.DeepEqual(got, sorted(u1, u3)) || len(body["members"].([]any)) != 2 {
		t.Fatalf("after replace %v, body %v", got, body)
	}
	// Rename and remove all.
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"replace","path":"displayName","value":"H"},{"op":"remove","path":"members"}]}`)
	if got := w.members(g); len(got) != 0 {
		t.Fatalf("after remove all %v", got)
	}
	if obj(t, w.scim(200, "GET", "/Groups/"+g, nil))["displayName"] != "H" {
		t.Fatal("rename lost")
	}
	// An unknown member is refused, and nothing of the request is applied.
	scimError(t, w.scim(400, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+u1+`"},{"value":"nobody"}]}]}`), "400", "invalidValue")
	if got := w.members(g); len(got) != 0 {
		t.Fatalf("partial add %v", got)
	}
}

func TestGroupsNestAndMayNotContainThemselves(t *testing.T) {
	w := setup(t)
	inner := w.createGroup("Inner")
	outer := w.createGroup("Outer", inner)
	scimError(t, w.scim(400, "PATCH", "/Groups/"+inner, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+outer+`"}]}]}`), "400", "invalidValue")
	scimError(t, w.scim(400, "PATCH", "/Groups/"+inner, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+inner+`"}]}]}`), "400", "invalidValue")
	g := obj(t, w.scim(200, "GET", "/Groups/"+outer, nil))
	if m := g["members"].([]any)[0].(map[string]any); m["value"] != inner || m["type"] != "Group" {
		t.Fatalf("nested member %v", m)
	}
}

func TestDynamicGroupMembersCannotBeChangedThroughSCIM(t *testing.T) {
	w := setup(t)
	u := w.createUser("u@contoso.example")
	w.do(func(tx *tenantTx) error {
		return tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "dyn", DisplayName: "Dynamic", SecurityEnabled: true,
			GroupTypes: []string{"DynamicMembership"}, MembershipRule: `user.department -eq "X"`, MembershipRuleProcessingState: "On"})
	})
	scimError(t, w.scim(400, "PATCH", "/Groups/dyn", `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+u+`"}]}]}`), "400", "mutability")
	w.scim(204, "PATCH", "/Groups/dyn", `{"Operations":[{"op":"replace","path":"displayName","value":"Still dynamic"}]}`)
}

func TestReplaceGroupWithPUT(t *testing.T) {
	w := setup(t)
	u1, u2 := w.createUser("u1@contoso.example"), w.createUser("u2@contoso.example")
	g := w.createGroup("G", u1)
	r := obj(t, w.scim(200, "PUT", "/Groups/"+g, map[string]any{"displayName": "G2", "externalId": "x", "members": []any{map[string]any{"value": u2}}}))
	if r["displayName"] != "G2" || r["externalId"] != "x" || !reflect.DeepEqual(w.members(g), []string{u2}) {
		t.Fatalf("PUT %v, members %v", r, w.members(g))
	}
	r = obj(t, w.scim(200, "PUT", "/Groups/"+g, map[string]any{"displayName": "G2"}))
	if r["externalId"] != nil || len(w.members(g)) != 0 {
		t.Fatalf("PUT without members %v", r)
	}
}

func TestGroupETags(t *testing.T) {
	w := setup(t)
	u := w.createUser("u@contoso.example")
	g := w.createGroup("G")
	tag := w.scim(200, "GET", "/Groups/"+g, nil).Header.Get("ETag")
	w.scim(304, "GET", "/Groups/"+g, nil, "If-None-Match: "+tag)
	r := w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+u+`"}]}]}`, "If-Match: "+tag)
	if r.Header.Get("ETag") == tag || r.Header.Get("ETag") != w.scim(200, "GET", "/Groups/"+g, nil).Header.Get("ETag") {
		t.Fatalf("ETag after member add: %s (was %s)", r.Header.Get("ETag"), tag)
	}
	scimError(t, w.scim(412, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"replace","path":"displayName","value":"X"}]}`, "If-Match: "+tag), "412", "")
	scimError(t, w.scim(412, "PUT", "/Groups/"+g, map[string]any{"displayName": "X"}, "If-Match: "+tag), "412", "")
	scimError(t, w.scim(412, "DELETE", "/Groups/"+g, nil, "If-Match: "+tag), "412", "")
	// A membership change through the engine (Graph) changes the version.
	before := w.scim(200, "GET", "/Groups/"+g, nil).Header.Get("ETag")
	w.do(func(tx *tenantTx) error { return tx.Engine.RemoveMembers(tx.Op, g, []string{u}) })
	if after := w.scim(200, "GET", "/Groups/"+g, nil).Header.Get("ETag"); after == before || after != tag {
		t.Fatalf("ETag after engine change %s (before %s, empty group %s)", after, before, tag)
	}
	// externalId alone changes it as well.
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"externalId","value":"e"}]}`)
	if w.scim(200, "GET", "/Groups/"+g, nil).Header.Get("ETag") == tag {
		t.Fatal("externalId did not change the ETag")
	}
}

func TestDeleteGroup(t *testing.T) {
	w := setup(t)
	u := w.createUser("u@contoso.example")
	g := w.createGroup("G", u)
	w.scim(204, "DELETE", "/Groups/"+g, nil)
	w.scim(404, "GET", "/Groups/"+g, nil)
	if r := obj(t, w.scim(200, "GET", "/Users/"+u, nil)); r["groups"] != nil {
		t.Fatalf("user still in a deleted group: %v", r["groups"])
	}
	scimError(t, w.scim(404, "DELETE", "/Groups/"+g, nil), "404", "")
}

// Groups are listed by id through the directory read model: every offset
// page (startIndex 1-based, count 0 to beyond the end) is the slice of the
// id-ordered matches, and totalResults counts them all, with and without a
// filter (walked) and with an id lookup (collected).
func TestGroupPagesAreSlicesOfTheIDOrder(t *testing.T) {
	w := setup(t)
	var all []string
	for i := range 7 {
		all = append(all, w.createGroup(fmt.Sprintf("P%d", i)))
	}
	slices.Sort(all)
	for _, f := range []struct {
		filter string
		want   []string
	}{
		{"", all},
		{`displayName sw "P"`, all},
		{`id eq "` + all[3] + `" or id eq "` + all[1] + `" or id eq "missing"`, []string{all[1], all[3]}},
	} {
		for start := 0; start <= 9; start++ {
			for _, count := range []int{0, 1, 2, 3, 8} {
				q := fmt.Sprintf("/Groups?excludedAttributes=members&startIndex=%d&count=%d", start, count)
				if f.filter != "" {
					q += "&filter=" + url.QueryEscape(f.filter)
				}
				p := obj(t, w.scim(200, "GET", q, nil))
				from := min(max(start, 1)-1, len(f.want))
				want := f.want[from:min(from+count, len(f.want))]
				if got := ids(p); !slices.Equal(got, want) || p["totalResults"] != float64(len(f.want)) || p["itemsPerPage"] != float64(len(want)) {
					t.Fatalf("%s: %v (total %v), want %v of %d", q, got, p["totalResults"], want, len(f.want))
				}
			}
		}
	}
}
