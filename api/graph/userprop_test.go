package graph_test

import (
	"net/url"
	"slices"
	"testing"

	"allot/userprop"
)

// sampleValue is a valid value of a registry String or Date property.
func sampleValue(p *userprop.Property) string {
	switch p.Name {
	case "userPrincipalName":
		return "renamed@contoso.example"
	case "usageLocation":
		return "DE"
	case "userType":
		return "Guest"
	case "kind":
		return "room"
	case "mail":
		return "someone@contoso.example"
	}
	if p.Type == userprop.Date {
		return "2024-05-01T00:00:00Z"
	}
	return "v-" + p.Name
}

// Every plain property of the user-property registry is written by PATCH,
// returned by $select and, where the registry says so, found by $filter
// and refused as read-only.
func TestEveryRegistryPropertyIsWrittenReadAndFiltered(t *testing.T) {
	f := newFixture(t)
	id := f.user("reg@contoso.example", "Reg Example")
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Type != userprop.String && p.Type != userprop.Date {
			continue
		}
		if p.ReadOnly {
			f.Must(400, "PATCH", "/v1.0/users/"+id, f.admin, map[string]any{p.Name: "x"})
			continue
		}
		v := sampleValue(p)
		f.Must(204, "PATCH", "/v1.0/users/"+id, f.admin, map[string]any{p.Name: v})
		got := f.Must(200, "GET", "/v1.0/users/"+id+"?$select="+p.Name, f.admin, nil).JSON()[p.Name]
		if got != v {
			t.Errorf("%s: PATCH %q, GET returns %v", p.Name, v, got)
		}
		if p.Filter == userprop.NoFilter || p.Type == userprop.Date {
			continue
		}
		q := url.Values{"$filter": {p.Name + " eq '" + v + "'"}, "$select": {"id"}}
		r := f.Must(200, "GET", "/v1.0/users?"+q.Encode(), f.admin, nil)
		if ids := field(r, "id"); !slices.Contains(ids, id) {
			t.Errorf("%s: $filter eq %q finds %v, not the user", p.Name, v, ids)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d filterable properties tested", n)
	}
}

// employeeId (the registry's proof): written through Graph, it is the SCIM
// employee number's source too; here Graph's side: set on create, listed
// by $filter startsWith.
func TestEmployeeIDOnCreateAndStartsWith(t *testing.T) {
	f := newFixture(t)
	id := f.user("emp@contoso.example", "Emp Example", "employeeId", "E12345")
	f.user("other@contoso.example", "Other Example", "employeeId", "F1")
	q := url.Values{"$filter": {"startsWith(employeeId,'E12')"}, "$select": {"id,employeeId"}}
	r := f.Must(200, "GET", "/v1.0/users?"+q.Encode(), f.admin, nil)
	if got := field(r, "id"); !slices.Equal(got, []string{id}) {
		t.Fatalf("startsWith(employeeId,'E12') = %v, want [%s]", got, id)
	}
	if got := field(r, "employeeId"); !slices.Equal(got, []string{"E12345"}) {
		t.Fatalf("employeeId = %v", got)
	}
}
