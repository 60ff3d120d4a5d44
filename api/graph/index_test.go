package graph_test

import (
	"fmt"
	"math/rand"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// TestIndexedListingsEqualAFullScan changes users and licenses at random,
// then checks that index-backed listings (orders, SKU holders, prefixes)
// give exactly what a scan of every user gives.
func TestIndexedListingsEqualAFullScan(t *testing.T) {
	f := newFixture(t)
	f.Subscribe(f.tenant, "SPE_E3", 100)
	rng := rand.New(rand.NewSource(7))
	g := f.group("Licensed")
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3}}, "removeLicenses": []any{}})
	var ids []string
	// Touch the index first so that it is maintained from deltas, not built
	// at the end.
	f.Must(200, "GET", "/v1.0/users?$orderby=displayName", f.admin, nil)
	for i := 0; i < 60; i++ {
		switch op := rng.Intn(6); {
		case op <= 2 || len(ids) == 0:
			ids = append(ids, f.user(fmt.Sprintf("p%d@contoso.example", i), fmt.Sprintf("%c person %d", 'a'+rng.Intn(5), rng.Intn(100))))
		case op == 3:
			id := ids[rng.Intn(len(ids))]
			f.Must(204, "PATCH", "/v1.0/users/"+id, f.admin, map[string]any{"displayName": fmt.Sprintf("%c renamed %d", 'a'+rng.Intn(5), i)})
		case op == 4:
			id := ids[rng.Intn(len(ids))]
			f.Call("POST", "/v1.0/users/"+id+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
			f.Call("POST", "/v1.0/groups/"+g+"/members/$ref", f.admin, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/users/" + id})
		default:
			k := rng.Intn(len(ids))
			f.Must(204, "DELETE", "/v1.0/users/"+ids[k], f.admin, nil)
			ids = append(ids[:k], ids[k+1:]...)
		}
	}
	type user struct {
		id, name, upn string
		skus          []string
	}
	all := map[string]user{}
	link := "/v1.0/users?$top=999&$select=id,displayName,userPrincipalName,assignedLicenses"
	for _, v := range values(f.Must(200, "GET", link, f.admin, nil)) {
		u := user{id: v["id"].(string), name: v["displayName"].(string), upn: v["userPrincipalName"].(string)}
		for _, l := range v["assignedLicenses"].([]any) {
			u.skus = append(u.skus, l.(map[string]any)["skuId"].(string))
		}
		all[u.id] = u
	}
	if len(all) != len(ids) {
		t.Fatalf("%d users listed, %d exist", len(all), len(ids))
	}
	listIDs := func(q string, hdr ...string) []string {
		var out []string
		for _, v := range values(f.Must(200, "GET", "/v1.0/users?$top=999&"+q, f.admin, nil, hdr...)) {
			out = append(out, v["id"].(string))
		}
		return out
	}
	scan := func(keep func(u user) bool, less func(a, b user) bool) []string {
		var us []user
		for _, u := range all {
			if keep(u) {
				us = append(us, u)
			}
		}
		sort.Slice(us, func(i, j int) bool { return less(us[i], us[j]) })
		var out []string
		for _, u := range us {
			out = append(out, u.id)
		}
		return out
	}
	byName := func(a, b user) bool {
		if !strings.EqualFold(a.name, b.name) {
			return strings.ToLower(a.name) < strings.ToLower(b.name)
		}
		return a.id < b.id
	}
	byID := func(a, b user) bool { return a.id < b.id }
	everyone := func(user) bool { return true }
	check := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s:\n got  %v\n want %v", what, got, want)
		}
	}
	check("default order", listIDs(""), scan(everyone, byID))
	check("displayName order", listIDs("$orderby=displayName"), scan(everyone, byName))
	for _, sku := range []string{e3, o365E3} {
		has := func(u user) bool {
			for _, s := range u.skus {
				if s == sku {
					return true
				}
			}
			return false
		}
		check("holders of "+sku, listIDs("$filter="+url.QueryEscape("assignedLicenses/any(x:x/skuId eq "+sku+")")), scan(has, byID))
		check("holders of "+sku+" by name", listIDs("$count=true&$orderby=displayName&$filter="+url.QueryEscape("assignedLicenses/any(x:x/skuId eq "+sku+")"), "ConsistencyLevel: eventual"), scan(has, byName))
	}
	for _, p := range []string{"a", "b r", "c person"} {
		// Without $orderby a prefix filter is served in displayName order.
		check("prefix "+p, listIDs("$filter="+url.QueryEscape("startsWith(displayName,'"+p+"')")),
			scan(func(u user) bool { return strings.HasPrefix(strings.ToLower(u.name), p) }, byName))
		check("prefix "+p+" by name", listIDs("$count=true&$orderby=displayName&$filter="+url.QueryEscape("startsWith(displayName,'"+p+"')"), "ConsistencyLevel: eventual"),
			scan(func(u user) bool { return strings.HasPrefix(strings.ToLower(u.name), p) }, byName))
	}
}
