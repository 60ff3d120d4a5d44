package graph_test

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// list GETs a collection with query options (escaped here) and headers.
func (f *fixture) list(path string, opts map[string]string, headers ...string) (int, []string, map[string]any, string) {
	f.T.Helper()
	v := url.Values{}
	for k, x := range opts {
		v.Set(k, x)
	}
	r := f.Call("GET", path+"?"+v.Encode(), f.admin, nil, headers...)
	m := r.JSON()
	var ids []string
	if vals, ok := m["value"].([]any); ok {
		for _, x := range vals {
			o := x.(map[string]any)
			ids = append(ids, fmt.Sprint(o["userPrincipalName"]))
		}
	}
	return r.Status, ids, m, r.ErrorMessage()
}

func TestUserFiltersAnswerLikeGraph(t *testing.T) {
	f := newFixture(t)
	f.Must(201, "POST", "/v1.0/domains", f.admin, map[string]any{"id": "fabrikam.example"})
	ann := f.user("ann@contoso.example", "Ann Archer", "department", "Sales", "mail", "ann@contoso.example", "city", "Oslo")
	f.user("bob@contoso.example", "Bob Baker", "department", "Sales", "userType", "Guest")
	f.user("carl@fabrikam.example", "Carl Carter", "department", "IT")
	f.user("dora@contoso.example", "Dora Dunn")
	f.Must(204, "PATCH", "/v1.0/users/dora@contoso.example", f.admin, map[string]any{"proxyAddresses": []string{"SMTP:dora@contoso.example", "smtp:dd@fabrikam.example"},
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute1": "x1"}})
	f.Must(200, "POST", "/v1.0/users/"+ann+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3}}, "removeLicenses": []any{}})
	f.Must(200, "POST", "/v1.0/users/bob@contoso.example/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})

	eventual := "ConsistencyLevel: eventual"
	cases := []struct {
		filter   string
		advanced bool
		want     string // comma-separated UPNs, sorted
	}{
		{"displayName eq 'ann archer'", false, "ann@contoso.example"},
		{"userPrincipalName eq 'BOB@contoso.example'", false, "bob@contoso.example"},
		{"id eq '" + ann + "'", false, "ann@contoso.example"},
		{"mail eq 'ann@contoso.example'", false, "ann@contoso.example"},
		{"startsWith(displayName,'c')", false, "carl@fabrikam.example"},
		{"startsWith(userPrincipalName,'d') or department eq 'IT'", false, "carl@fabrikam.example,dora@contoso.example"},
		{"department eq 'Sales' and userType eq 'Guest'", false, "bob@contoso.example"},
		{"department in ('IT', 'Sales')", false, "ann@contoso.example,bob@contoso.example,carl@fabrikam.example"},
		{"(department eq 'IT' or city eq 'Oslo') and accountEnabled eq true", false, "ann@contoso.example,carl@fabrikam.example"},
		{"assignedLicenses/any(x:x/skuId eq " + o365E3 + ")", false, "ann@contoso.example"},
		{"assignedLicenses/any(x:x/skuId eq " + e3 + ") or assignedLicenses/any(x:x/skuId eq " + o365E3 + ")", false, "ann@contoso.example,bob@contoso.example"},
		{"proxyAddresses/any(p:startsWith(p,'smtp:dd'))", false, "dora@contoso.example"},
		{"department ne 'Sales'", true, "carl@fabrikam.example,dora@contoso.example"},
		{"not(startsWith(displayName,'a'))", true, "bob@contoso.example,carl@fabrikam.example,dora@contoso.example"},
		{"endsWith(userPrincipalName,'@fabrikam.example')", true, "carl@fabrikam.example"},
		{"assignedLicenses/$count eq 0", true, "carl@fabrikam.example,dora@contoso.example"},
		{"not(assignedLicenses/any(x:x/skuId eq " + o365E3 + "))", true, "bob@contoso.example,carl@fabrikam.example,dora@contoso.example"},
		{"city eq null", true, "bob@contoso.example,carl@fabrikam.example,dora@contoso.example"},
		{"onPremisesExtensionAttributes/extensionAttribute1 eq 'x1'", true, "dora@contoso.example"},
	}
	for _, c := range cases {
		opts := map[string]string{"$filter": c.filter}
		var hdr []string
		if c.advanced {
			opts["$count"] = "true"
			hdr = []string{eventual}
		}
		status, ids, body, msg := f.list("/v1.0/users", opts, hdr...)
		sort.Strings(ids)
		if status != 200 || strings.Join(ids, ",") != c.want {
			t.Errorf("%s: %d %v (%s), want %s", c.filter, status, ids, msg, c.want)
			continue
		}
		if c.advanced && int(body["@odata.count"].(float64)) != len(ids) {
			t.Errorf("%s: @odata.count %v, want %d", c.filter, body["@odata.count"], len(ids))
		}
		if c.advanced {
			// Without the advanced query parameters Graph refuses.
			status, _, body, msg := f.list("/v1.0/users", map[string]string{"$filter": c.filter})
			if status != 400 || body["error"].(map[string]any)["code"] != "Request_UnsupportedQuery" || !strings.Contains(msg, "Try adding $count=true query parameter and ConsistencyLevel:eventual header") {
				t.Errorf("%s without advanced parameters: %d %s", c.filter, status, msg)
			}
		}
	}
	bad := []struct {
		opts    map[string]string
		headers []string
		code    string
		msg     string
	}{
		{map[string]string{"$filter": "shoeSize eq 42"}, nil, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'shoeSize' of resource 'User'."},
		{map[string]string{"$filter": "startsWith(department"}, nil, "BadRequest", "Invalid filter clause"},
		{map[string]string{"$filter": "accountEnabled eq 'yes'"}, nil, "BadRequest", "A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."},
		{map[string]string{"$filter": "contains(displayName,'a')"}, nil, "Request_UnsupportedQuery", "displayName"},
		{map[string]string{"$top": "1000"}, nil, "Request_UnsupportedQuery", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{map[string]string{"$top": "0"}, nil, "Request_UnsupportedQuery", "Invalid page size specified: '0'."},
		{map[string]string{"$skip": "5"}, nil, "Request_BadRequest", "'$skip' is not supported by the service."},
		{map[string]string{"$expand": "manager"}, nil, "Request_BadRequest", "'$expand' is not supported by the service."},
		{map[string]string{"$search": `"displayName:ann"`}, nil, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"},
		{map[string]string{"$orderby": "department"}, nil, "Request_UnsupportedQuery", "Sorting not supported for current query."},
		{map[string]string{"$orderby": "displayName", "$filter": "department eq 'IT'"}, nil, "Request_UnsupportedQuery", "Sorting not supported for current query."},
		{map[string]string{"$skiptoken": "garbage!"}, nil, "Request_BadRequest", "skip token is not valid"},
	}
	for _, c := range bad {
		status, _, body, msg := f.list("/v1.0/users", c.opts, c.headers...)
		code, _ := body["error"].(map[string]any)["code"].(string)
		if status != 400 || code != c.code || !strings.Contains(msg, c.msg) {
			t.Errorf("%v: %d %s %q, want 400 %s %q", c.opts, status, code, msg, c.code, c.msg)
		}
	}
	// $search, $orderby and $count.
	status, ids, body, _ := f.list("/v1.0/users", map[string]string{"$search": `"displayName:bak" OR "displayName:dunn"`, "$count": "true", "$orderby": "displayName desc"}, eventual)
	if status != 200 || strings.Join(ids, ",") != "dora@contoso.example,bob@contoso.example" || body["@odata.count"].(float64) != 2 {
		t.Errorf("$search: %d %v %v", status, ids, body["@odata.count"])
	}
	_, ids, _, _ = f.list("/v1.0/users", map[string]string{"$orderby": "userPrincipalName desc"})
	if strings.Join(ids, ",") != "dora@contoso.example,carl@fabrikam.example,bob@contoso.example,ann@contoso.example" {
		t.Errorf("$orderby: %v", ids)
	}
	// $count=true without ConsistencyLevel is ignored, as Graph does.
	_, _, body, _ = f.list("/v1.0/users", map[string]string{"$count": "true"})
	if _, ok := body["@odata.count"]; ok {
		t.Errorf("@odata.count without ConsistencyLevel: %v", body)
	}
	_, _, body, _ = f.list("/v1.0/users", map[string]string{"$count": "true"}, eventual)
	if body["@odata.count"].(float64) != 4 {
		t.Errorf("@odata.count: %v", body["@odata.count"])
	}
}

func TestPagingThroughUsersWhileWritesHappen(t *testing.T) {
	f := newFixture(t)
	const n = 120
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		ids[f.user(fmt.Sprintf("u%03d@contoso.example", i), fmt.Sprintf("User %03d", i))] = true
	}
	for _, order := range []string{"", "displayName", "displayName desc", "userPrincipalName"} {
		seen := map[string]int{}
		deleted := map[string]bool{}
		link := "/v1.0/users?$top=7&$select=id,displayName"
		if order != "" {
			link += "&$orderby=" + url.QueryEscape(order)
		}
		pages := 0
		for link != "" {
			r := f.Must(200, "GET", link, f.admin, nil)
			for _, v := range values(r) {
				seen[v["id"].(string)]++
			}
			// Writes between pages: a new user, a deleted user not yet
			// seen, and a rename of a user already seen.
			extra := f.user(fmt.Sprintf("new-%s-%d@contoso.example", strings.ReplaceAll(order, " ", ""), pages), fmt.Sprintf("New %d", pages))
			_ = extra
			for id := range ids {
				if seen[id] == 0 && !deleted[id] {
					f.Must(204, "DELETE", "/v1.0/users/"+id, f.admin, nil)
					deleted[id] = true
					break
				}
			}
			pages++
			next, _ := r.JSON()["@odata.nextLink"].(string)
			if next != "" {
				link = pathOf(t, next)
				if !strings.Contains(next, "$skiptoken=") || !strings.Contains(next, "$top=7") {
					t.Fatalf("nextLink %s", next)
				}
			} else {
				link = ""
			}
			if pages > 100 {
				t.Fatal("paging does not end")
			}
		}
		for id := range ids {
			if deleted[id] {
				delete(ids, id)
				continue
			}
			if seen[id] != 1 {
				t.Fatalf("order %q: user %s seen %d times", order, id, seen[id])
			}
		}
		for id, c := range seen {
			if c > 1 {
				t.Fatalf("order %q: %s served twice", order, id)
			}
		}
	}
}

func TestGroupFiltersAndOrder(t *testing.T) {
	f := newFixture(t)
	sales := f.group("Sales Team")
	support := f.group("support desk")
	it := f.group("IT")
	f.Must(201, "POST", "/v1.0/groups", f.admin, map[string]any{"displayName": "Unified one", "mailEnabled": true, "mailNickname": "u1",
		"securityEnabled": true, "groupTypes": []string{"Unified"}})
	f.Must(202, "POST", "/v1.0/groups/"+it+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	names := func(opts map[string]string, hdr ...string) string {
		t.Helper()
		v := url.Values{}
		for k, x := range opts {
			v.Set(k, x)
		}
		r := f.Must(200, "GET", "/v1.0/groups?"+v.Encode(), f.admin, nil, hdr...)
		var out []string
		for _, g := range values(r) {
			out = append(out, g["displayName"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := names(map[string]string{"$filter": "startsWith(displayName,'s')"}); got != "Sales Team,support desk" {
		t.Errorf("startsWith: %s", got)
	}
	if got := names(map[string]string{"$filter": "id in ('" + sales + "','" + support + "')", "$orderby": "displayName desc", "$count": "true"}, "ConsistencyLevel: eventual"); got != "support desk,Sales Team" {
		t.Errorf("in + orderby: %s", got)
	}
	if got := names(map[string]string{"$filter": "groupTypes/any(c:c eq 'Unified')"}); got != "Unified one" {
		t.Errorf("groupTypes: %s", got)
	}
	if got := names(map[string]string{"$filter": "mailEnabled eq false and assignedLicenses/any(x:x/skuId eq " + e3 + ")"}); got != "IT" {
		t.Errorf("assignedLicenses: %s", got)
	}
	if got := names(map[string]string{"$search": `"displayName:desk"`}, "ConsistencyLevel: eventual"); got != "support desk" {
		t.Errorf("$search: %s", got)
	}
	if got := names(map[string]string{"$orderby": "displayName", "$top": "2"}); got != "IT,Sales Team" {
		t.Errorf("$orderby with $top: %s", got)
	}
	wantError(t, f.Call("GET", "/v1.0/groups?$filter=visibility%20eq%20'Private'", f.admin, nil), 400, "Request_UnsupportedQuery",
		"Unsupported or invalid query filter clause specified for property 'visibility' of resource 'Group'.")
}

func TestPagingThroughGroupMembers(t *testing.T) {
	f := newFixture(t)
	g := f.group("Everyone")
	sub := f.group("Nested")
	var users []string
	for i := 0; i < 45; i++ {
		u := f.user(fmt.Sprintf("m%02d@contoso.example", i), fmt.Sprintf("M %02d", i))
		users = append(users, u)
		f.addMember(g, u)
	}
	f.addMember(g, sub)
	seen := map[string]int{}
	link := "/v1.0/groups/" + g + "/members?$top=10&$count=true"
	removed := ""
	for pages := 0; link != ""; pages++ {
		r := f.Must(200, "GET", link, f.admin, nil, "ConsistencyLevel: eventual")
		for _, v := range values(r) {
			seen[v["id"].(string)]++
			if v["id"] == sub && v["@odata.type"] != "#microsoft.graph.group" {
				t.Fatalf("nested group: %v", v)
			}
		}
		if pages == 0 {
			if r.JSON()["@odata.count"].(float64) != 46 {
				t.Fatalf("@odata.count %v", r.JSON()["@odata.count"])
			}
			// Remove a member not served yet: it must not appear later.
			for _, u := range users {
				if seen[u] == 0 {
					f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+u+"/$ref", f.admin, nil)
					removed = u
					break
				}
			}
		}
		next, _ := r.JSON()["@odata.nextLink"].(string)
		link = ""
		if next != "" {
			link = pathOf(t, next)
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if seen[removed] != 0 || len(seen) != 45 {
		t.Fatalf("seen %d members (removed one seen %d times)", len(seen), seen[removed])
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s served %d times", id, n)
		}
	}
}
