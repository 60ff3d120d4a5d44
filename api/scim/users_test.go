package scim_test

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"allot/userprop"
)

const enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// fullUser is a user with every attribute allot maps.
var fullUser = map[string]any{
	"schemas":    []string{"urn:ietf:params:scim:schemas:core:2.0:User", enterprise},
	"externalId": "ext-bjensen",
	"userName":   "bjensen@contoso.example",
	"name": map[string]any{"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara",
		"middleName": "Jane", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
	"displayName":       "Babs Jensen",
	"nickName":          "Babs",
	"title":             "Tour Guide",
	"userType":          "Employee",
	"preferredLanguage": "en-US",
	"locale":            "en-US",
	"timezone":          "America/Los_Angeles",
	"active":            true,
	"password":          "t1meMa$heen",
	"emails":            []any{map[string]any{"value": "bjensen@example.com", "type": "work", "primary": true}, map[string]any{"value": "babs@jensen.org", "type": "home"}},
	"phoneNumbers":      []any{map[string]any{"value": "555-555-5555", "type": "work"}, map[string]any{"value": "555-555-4444", "type": "mobile"}, map[string]any{"value": "555-1", "type": "pager"}},
	"addresses": []any{map[string]any{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood", "region": "CA",
		"postalCode": "91608", "country": "US", "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true},
		map[string]any{"type": "home", "locality": "Anytown"}},
	enterprise: map[string]any{"employeeNumber": "701984", "costCenter": "4130", "organization": "Universal Studios",
		"division": "Theme Park", "department": "Tour Operations", "manager": map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "ignored"}},
}

func TestCreateUserMapsEveryAttributeToTheDirectoryUser(t *testing.T) {
	w := setup(t)
	r := w.scim(201, "POST", "/Users", fullUser)
	got := obj(t, r)
	id := got["id"].(string)
	if r.Header.Get("Location") == "" || !strings.HasSuffix(r.Header.Get("Location"), "/scim/v2/Users/"+id) {
		t.Fatalf("Location %q", r.Header.Get("Location"))
	}
	if et := r.Header.Get("ETag"); !strings.HasPrefix(et, `W/"`) || got["meta"].(map[string]any)["version"] != et {
		t.Fatalf("ETag %q, meta %v", et, got["meta"])
	}
	u, ok := w.user(id)
	if !ok {
		t.Fatal("user not in the engine")
	}
	checks := map[string][2]string{
		"userPrincipalName": {u.UserPrincipalName, "bjensen@contoso.example"},
		"givenName":         {u.GivenName(), "Barbara"},
		"surname":           {u.Surname(), "Jensen"},
		"displayName":       {u.DisplayName, "Babs Jensen"},
		"jobTitle":          {u.JobTitle(), "Tour Guide"},
		"mail":              {u.Mail(), "bjensen@example.com"},
		"country":           {u.Country(), "US"},
		"usageLocation":     {u.UsageLocation, "US"},
		"city":              {u.City(), "Hollywood"},
		"department":        {u.Department(), "Tour Operations"},
		"employeeId":        {u.EmployeeID(), "701984"},
		"companyName":       {u.CompanyName(), "Universal Studios"},
		"userType":          {u.UserType, "Member"},
		"externalid":        {u.Attributes["externalid"], "ext-bjensen"},
		"manager":           {u.Attributes["manager"], "26118915-6090-4610-87e4-49d8ca9f808d"},
		"preferredlanguage": {u.Attributes["preferredlanguage"], "en-US"},
		"state":             {u.Attributes["state"], "CA"},
		"postalcode":        {u.Attributes["postalcode"], "91608"},
		"streetaddress":     {u.Attributes["streetaddress"], "100 Universal City Plaza"},
		"mobilephone":       {u.Attributes["mobilephone"], "555-555-4444"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if !u.AccountEnabled || !reflect.DeepEqual(u.OtherMails(), []string{"babs@jensen.org"}) {
		t.Errorf("accountEnabled %v otherMails %v", u.AccountEnabled, u.OtherMails())
	}
	// What was sent comes back (but the password, and read-only manager.displayName of an unknown manager).
	back := obj(t, w.scim(200, "GET", "/Users/"+id, nil))
	for _, k := range []string{"externalId", "userName", "name", "displayName", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone", "active"} {
		if !reflect.DeepEqual(back[k], roundTrip(t, fullUser[k])) {
			t.Errorf("%s: got %v, want %v", k, back[k], fullUser[k])
		}
	}
	if _, ok := back["password"]; ok {
		t.Error("password returned")
	}
	ent := back[enterprise].(map[string]any)
	if ent["department"] != "Tour Operations" || ent["costCenter"] != "4130" || ent["division"] != "Theme Park" ||
		ent["manager"].(map[string]any)["value"] != "26118915-6090-4610-87e4-49d8ca9f808d" {
		t.Errorf("enterprise extension %v", ent)
	}
	if len(back["phoneNumbers"].([]any)) != 3 || len(back["addresses"].([]any)) != 2 || len(back["emails"].([]any)) != 2 {
		t.Errorf("multi-valued: %v %v %v", back["phoneNumbers"], back["addresses"], back["emails"])
	}
	schemas := back["schemas"].([]any)
	if !slices.Contains(schemas, any(enterprise)) || !slices.Contains(schemas, any("urn:ietf:params:scim:schemas:extension:allot:2.0:User")) {
		t.Errorf("schemas %v", schemas)
	}
	meta := back["meta"].(map[string]any)
	if meta["resourceType"] != "User" || meta["created"] == nil || meta["lastModified"] == nil || !strings.HasSuffix(meta["location"].(string), "/Users/"+id) {
		t.Errorf("meta %v", meta)
	}
}

func roundTrip(t testing.TB, v any) any {
	m := obj(t, apitestResponse(map[string]any{"v": v}))
	return m["v"]
}

func TestDuplicateUserNameIsAUniquenessConflict(t *testing.T) {
	w := setup(t)
	w.createUser("dup@contoso.example")
	r := w.scim(409, "POST", "/Users", map[string]any{"userName": "DUP@contoso.example"})
	scimError(t, r, "409", "uniqueness")
	other := w.createUser("other@contoso.example")
	r = w.scim(409, "PATCH", "/Users/"+other, `{"Operations":[{"op":"replace","path":"userName","value":"dup@contoso.example"}]}`)
	scimError(t, r, "409", "uniqueness")
}

func TestCreateUserRefusesBadRequests(t *testing.T) {
	w := setup(t)
	scimError(t, w.scim(400, "POST", "/Users", map[string]any{"displayName": "no userName"}), "400", "invalidValue")
	scimError(t, w.scim(400, "POST", "/Users", `{"userName": `), "400", "invalidSyntax")
	scimError(t, w.scim(400, "POST", "/Users", map[string]any{"userName": "a@b", "active": "perhaps"}), "400", "invalidValue")
	scimError(t, w.scim(400, "POST", "/Users", map[string]any{"userName": "a@b", "urn:ietf:params:scim:schemas:extension:allot:2.0:User": map[string]any{"usageLocation": "USA"}}), "400", "invalidValue")
	// application/json is accepted as well.
	r := w.Call("POST", base+"/Users", w.token, map[string]any{"userName": "json@contoso.example"})
	if r.Status != 201 {
		t.Fatalf("application/json: %d %s", r.Status, r.Body)
	}
}

func TestGetUnknownUserIs404(t *testing.T) {
	w := setup(t)
	scimError(t, w.scim(404, "GET", "/Users/00000000-0000-4000-8000-000000000000", nil), "404", "")
	scimError(t, w.scim(404, "PATCH", "/Users/nope", `{"Operations":[{"op":"replace","path":"title","value":"x"}]}`), "404", "")
	scimError(t, w.scim(404, "DELETE", "/Users/nope", nil), "404", "")
}

func TestListUsersFiltersPagesAndProjects(t *testing.T) {
	w := setup(t)
	var all []string
	for i, name := range []string{"ann", "bob", "cid", "dan", "eve"} {
		dept := "Sales"
		if i%2 == 1 {
			dept = "Legal"
		}
		all = append(all, w.createUser(name+"@contoso.example", map[string]any{
			"externalId": "ext-" + name, "displayName": strings.ToUpper(name),
			"emails":   []any{map[string]any{"type": "work", "value": name + "@mail.example"}},
			"active":   i != 4,
			enterprise: map[string]any{"department": dept}}))
	}
	list := func(query string) map[string]any {
		t.Helper()
		return obj(t, w.scim(200, "GET", "/Users?"+query, nil))
	}
	q := func(f string) string { return "filter=" + url.QueryEscape(f) }
	cases := []struct {
		query string
		want  []string
	}{
		{q(`userName eq "BOB@contoso.example"`), []string{all[1]}},
		{q(`externalId eq "ext-cid"`), []string{all[2]}},
		{q(`externalId eq "EXT-CID"`), nil},
		{q(`id eq "` + all[3] + `"`), []string{all[3]}},
		{q(`userName eq "ann@contoso.example" or userName eq "eve@contoso.example"`), sorted(all[0], all[4])},
		{q(`userName eq "ann@contoso.example" and active eq true`), []string{all[0]}},
		{q(`active eq false`), []string{all[4]}},
		{q(`displayName sw "D" or displayName ew "N"`), []string{all[0], all[3]}},
		{q(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "legal"`), []string{all[1], all[3]}},
		{q(`emails[type eq "work" and value co "cid@"]`), []string{all[2]}},
		{q(`emails.value ew "@mail.example" and not (userName sw "a" or userName sw "b")`), []string{all[2], all[3], all[4]}},
		{q(`userName gt "bob@contoso.example" and userName le "dan@contoso.example"`), []string{all[2], all[3]}},
		{q(`title pr`), nil},
		{q(`meta.created pr`), all},
		{"", all},
	}
	for _, c := range cases {
		got := list(c.query)
		if !reflect.DeepEqual(ids(got), c.want) || int(got["totalResults"].(float64)) != len(c.want) {
			t.Errorf("%s: got %v (total %v), want %v", c.query, ids(got), got["totalResults"], c.want)
		}
	}
	// Paging: startIndex is 1-based, totalResults counts every match.
	p := list("startIndex=2&count=2")
	if !reflect.DeepEqual(ids(p), all[1:3]) || p["totalResults"] != float64(5) || p["itemsPerPage"] != float64(2) || p["startIndex"] != float64(2) {
		t.Errorf("page: %v", p)
	}
	p = list(q(`active eq true`) + "&startIndex=4&count=10")
	if !reflect.DeepEqual(ids(p), all[3:4]) || p["totalResults"] != float64(4) {
		t.Errorf("filtered page: %v", p)
	}
	p = list("count=0")
	if len(ids(p)) != 0 || p["totalResults"] != float64(5) {
		t.Errorf("count=0: %v", p)
	}
	p = list("startIndex=0&count=-3")
	if p["startIndex"] != float64(1) || len(ids(p)) != 0 {
		t.Errorf("clamped: %v", p)
	}
	if p := list("startIndex=9"); len(ids(p)) != 0 || p["totalResults"] != float64(5) {
		t.Errorf("past the end: %v", p)
	}
	// attributes: only those (plus id and schemas); sub-attributes and extension attributes by URN.
	p = list(q(`userName eq "ann@contoso.example"`) + "&attributes=userName,emails.value," + url.QueryEscape(enterprise+":department"))
	r := p["Resources"].([]any)[0].(map[string]any)
	want := map[string]any{"id": all[0], "schemas": r["schemas"], "userName": "ann@contoso.example",
		"emails": []any{map[string]any{"value": "ann@mail.example"}}, enterprise: map[string]any{"department": "Sales"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("attributes: %v", r)
	}
	p = list(q(`userName eq "ann@contoso.example"`) + "&excludedAttributes=emails,meta,id,name.givenName")
	r = p["Resources"].([]any)[0].(map[string]any)
	if _, ok := r["emails"]; ok || r["meta"] != nil || r["id"] != all[0] || r["userName"] == nil {
		t.Errorf("excludedAttributes: %v", r)
	}
	// POST .search takes the same in a body.
	s := obj(t, w.scim(200, "POST", "/Users/.search", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
		"filter": `active eq true`, "attributes": []string{"userName"}, "startIndex": 1, "count": 2}))
	if !reflect.DeepEqual(ids(s), all[:2]) || s["totalResults"] != float64(4) {
		t.Errorf(".search: %v", s)
	}
}

func sorted(xs ...string) []string { slices.Sort(xs); return xs }

func TestListUsersRefusesBadQueries(t *testing.T) {
	w := setup(t)
	for _, q := range []string{`userName eq`, `userName zz "x"`, `nope eq "x"`, `name eq "x"`, `(userName pr`} {
		scimError(t, w.scim(400, "GET", "/Users?filter="+url.QueryEscape(q), nil), "400", "invalidFilter")
	}
	scimError(t, w.scim(400, "GET", "/Users?startIndex=x", nil), "400", "invalidValue")
	scimError(t, w.scim(400, "GET", "/Users?count=1.5", nil), "400", "invalidValue")
}

func TestReplaceUserWithPUT(t *testing.T) {
	w := setup(t)
	id := w.createUser("put@contoso.example", map[string]any{"title": "Engineer", "nickName": "P", "externalId": "e1"})
	r := obj(t, w.scim(200, "PUT", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"id": "ignored", "userName": "put2@contoso.example", "displayName": "Put Two", "externalId": "e1"}))
	if r["id"] != id || r["userName"] != "put2@contoso.example" || r["title"] != nil || r["nickName"] != nil || r["active"] != true {
		t.Fatalf("PUT: %v", r)
	}
	u, _ := w.user(id)
	if u.JobTitle() != "" || u.DisplayName != "Put Two" || !u.AccountEnabled {
		t.Fatalf("engine: %+v", u)
	}
}

func TestPatchUser(t *testing.T) {
	w := setup(t)
	id := w.createUser("patch@contoso.example", map[string]any{"name": map[string]any{"givenName": "Pat", "familyName": "Smith"}})
	r := obj(t, w.scim(200, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{
			map[string]any{"op": "add", "path": "title", "value": "Manager"},
			map[string]any{"op": "replace", "path": "name.familyName", "value": "Jones"},
			map[string]any{"op": "add", "path": `emails[type eq "work"].value`, "value": "pat@mail.example"},
			map[string]any{"op": "add", "value": map[string]any{enterprise: map[string]any{"department": "R&D"}}},
			map[string]any{"op": "replace", "path": "active", "value": false},
		}}))
	if r["title"] != "Manager" || r["name"].(map[string]any)["familyName"] != "Jones" || r["active"] != false {
		t.Fatalf("PATCH: %v", r)
	}
	u, _ := w.user(id)
	if u.JobTitle() != "Manager" || u.Surname() != "Jones" || u.Mail() != "pat@mail.example" || u.Department() != "R&D" || u.AccountEnabled {
		t.Fatalf("engine: %+v", u)
	}
	w.scim(200, "PATCH", "/Users/"+id, `{"Operations":[{"op":"remove","path":"title"},{"op":"remove","path":"emails[type eq \"work\"]"}]}`)
	if u, _ = w.user(id); u.JobTitle() != "" || u.Mail() != "" {
		t.Fatalf("remove: %+v", u)
	}
	scimError(t, w.scim(400, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"groups","value":[]}]}`), "400", "mutability")
	scimError(t, w.scim(400, "PATCH", "/Users/"+id, `{"Operations":[{"op":"remove","path":"userName"}]}`), "400", "invalidValue")
	scimError(t, w.scim(400, "PATCH", "/Users/"+id, `{"Operations":[{"op":"add","path":"emails[type eq ","value":"x"}]}`), "400", "invalidPath")
}

func TestDeleteUser(t *testing.T) {
	w := setup(t)
	id := w.createUser("gone@contoso.example")
	w.scim(204, "DELETE", "/Users/"+id, nil)
	w.scim(404, "GET", "/Users/"+id, nil)
	if _, ok := w.user(id); ok {
		t.Fatal("still in the engine")
	}
}

func TestETagsGuardWrites(t *testing.T) {
	w := setup(t)
	id := w.createUser("etag@contoso.example")
	r := w.scim(200, "GET", "/Users/"+id, nil)
	tag := r.Header.Get("ETag")
	w.scim(304, "GET", "/Users/"+id, nil, "If-None-Match: "+tag)
	r = w.scim(200, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"title","value":"A"}]}`, "If-Match: "+tag)
	newTag := r.Header.Get("ETag")
	if newTag == tag || obj(t, r)["meta"].(map[string]any)["version"] != newTag {
		t.Fatalf("ETag did not change: %s %s", tag, newTag)
	}
	scimError(t, w.scim(412, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"title","value":"B"}]}`, "If-Match: "+tag), "412", "")
	scimError(t, w.scim(412, "PUT", "/Users/"+id, map[string]any{"userName": "etag@contoso.example"}, "If-Match: "+tag), "412", "")
	scimError(t, w.scim(412, "DELETE", "/Users/"+id, nil, "If-Match: "+tag), "412", "")
	// An unchanged PATCH keeps the version; If-Match: * matches any.
	r = w.scim(200, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"title","value":"A"}]}`, "If-Match: *")
	if r.Header.Get("ETag") != newTag {
		t.Fatalf("no-op changed the ETag")
	}
	// A change through another surface changes the ETag too.
	w.do(func(tx *tenantTx) error {
		u, _ := tx.Engine.User(id)
		u.SetText(userprop.Department, "Elsewhere")
		return tx.Engine.PutUser(tx.Op, u)
	})
	scimError(t, w.scim(412, "DELETE", "/Users/"+id, nil, "If-Match: "+newTag), "412", "")
	w.scim(204, "DELETE", "/Users/"+id, nil, `If-Match: "x", `+w.scim(200, "GET", "/Users/"+id, nil).Header.Get("ETag"))
}

func TestExternalIDLookupFollowsChanges(t *testing.T) {
	w := setup(t)
	id := w.createUser("ext@contoso.example", map[string]any{"externalId": "old"})
	find := func(ext string) []string {
		return ids(obj(t, w.scim(200, "GET", "/Users?filter="+url.QueryEscape(`externalId eq "`+ext+`"`), nil)))
	}
	if got := find("old"); !reflect.DeepEqual(got, []string{id}) {
		t.Fatalf("before: %v", got)
	}
	w.scim(200, "PATCH", "/Users/"+id, `{"Operations":[{"op":"replace","path":"externalId","value":"new"}]}`)
	if got := find("old"); len(got) != 0 {
		t.Fatalf("old still found: %v", got)
	}
	if got := find("new"); !reflect.DeepEqual(got, []string{id}) {
		t.Fatalf("new: %v", got)
	}
	w.scim(204, "DELETE", "/Users/"+id, nil)
	if got := find("new"); len(got) != 0 {
		t.Fatalf("deleted user found: %v", got)
	}
}
