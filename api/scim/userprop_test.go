package scim_test

import (
	"testing"

	"allot/userprop"
)

// Every registry property with a SCIM mapping (package userprop,
// Property.SCIM) is written by a SCIM create to the directory user's
// property and read back at the same SCIM path.
func TestEveryRegistrySCIMMappingRoundTrips(t *testing.T) {
	w := setup(t)
	doc := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise}, "userName": "reg@contoso.example"}
	work := map[string]any{"type": "work"}
	want := map[*userprop.Property]string{}
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.SCIM.Attr == "" {
			continue
		}
		v := "s-" + p.Name
		if p.Name == "country" {
			v = "Denmark" // not a two-letter code: it does not set the usage location
		}
		want[p] = v
		c := doc
		if p.SCIM.Ext != "" {
			if c[p.SCIM.Ext] == nil {
				c[p.SCIM.Ext] = map[string]any{}
			}
			c = c[p.SCIM.Ext].(map[string]any)
		}
		switch {
		case p.SCIM.Type == "work" && p.SCIM.Attr == "addresses":
			work[p.SCIM.Sub] = v
			doc["addresses"] = []any{work}
		case p.SCIM.Type != "":
			t.Fatalf("%s: a SCIM type this test does not know: %v", p.Name, p.SCIM)
		case p.SCIM.Sub != "":
			if c[p.SCIM.Attr] == nil {
				c[p.SCIM.Attr] = map[string]any{}
			}
			c[p.SCIM.Attr].(map[string]any)[p.SCIM.Sub] = v
		default:
			c[p.SCIM.Attr] = v
		}
	}
	if len(want) < 10 {
		t.Fatalf("only %d SCIM mappings", len(want))
	}
	got := obj(t, w.scim(201, "POST", "/Users", doc))
	u, ok := w.user(got["id"].(string))
	if !ok {
		t.Fatal("user not in the engine")
	}
	for p, v := range want {
		if p.Get(&u) != v {
			t.Errorf("%s: SCIM %v %q, directory user has %q", p.Name, p.SCIM, v, p.Get(&u))
		}
		c := got
		if p.SCIM.Ext != "" {
			c, _ = got[p.SCIM.Ext].(map[string]any)
		}
		var back any
		switch {
		case p.SCIM.Type != "":
			for _, a := range c[p.SCIM.Attr].([]any) {
				if m := a.(map[string]any); m["type"] == p.SCIM.Type {
					back = m[p.SCIM.Sub]
				}
			}
		case p.SCIM.Sub != "":
			back = c[p.SCIM.Attr].(map[string]any)[p.SCIM.Sub]
		default:
			back = c[p.SCIM.Attr]
		}
		if back != v {
			t.Errorf("%s: SCIM %v reads back %v, want %q", p.Name, p.SCIM, back, v)
		}
	}
}
