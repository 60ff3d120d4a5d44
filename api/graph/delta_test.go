package graph_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"allot/api/graph"
)

// deltaClient keeps a copy of users or groups from delta rounds, as a
// synchronising client does.
type deltaClient struct {
	f       *fixture
	start   string // the first request of the first round
	header  []string
	next    string // the link to call next ("" before the first call)
	rounds  int    // completed rounds
	objs    map[string]map[string]any
	members map[string]map[string]bool // groups: member ids
}

func newDeltaClient(f *fixture, start string, header ...string) *deltaClient {
	return &deltaClient{f: f, start: start, header: header, objs: map[string]map[string]any{}, members: map[string]map[string]bool{}}
}

// page calls the next link and applies its entries; it reports whether
// the page ended a round (it carried a deltaLink).
func (c *deltaClient) page(t *testing.T) bool {
	t.Helper()
	link := c.next
	if link == "" {
		link = c.start
	}
	r := c.f.Must(200, "GET", link, c.f.admin, nil, c.header...)
	m := r.JSON()
	for _, v := range m["value"].([]any) {
		o := v.(map[string]any)
		id := o["id"].(string)
		if _, gone := o["@removed"]; gone {
			delete(c.objs, id)
			delete(c.members, id)
			continue
		}
		md, hasMembers := o["members@delta"]
		delete(o, "members@delta")
		c.objs[id] = o
		if !hasMembers {
			continue
		}
		ms := c.members[id]
		if ms == nil {
			ms = map[string]bool{}
			c.members[id] = ms
		}
		for _, e := range md.([]any) {
			e := e.(map[string]any)
			if _, gone := e["@removed"]; gone {
				delete(ms, e["id"].(string))
			} else {
				ms[e["id"].(string)] = true
			}
		}
	}
	next, hasNext := m["@odata.nextLink"].(string)
	dl, hasDelta := m["@odata.deltaLink"].(string)
	if hasNext == hasDelta {
		t.Fatalf("a page must carry exactly one of nextLink and deltaLink: %s", r.Body)
	}
	if hasNext {
		c.next = pathOf(t, next)
		return false
	}
	c.next = pathOf(t, dl)
	c.rounds++
	return true
}

// sync pages until the end of a round.
func (c *deltaClient) sync(t *testing.T) {
	t.Helper()
	for !c.page(t) {
	}
}

// listAll follows a collection's nextLinks and returns its objects by id.
func listAll(t *testing.T, f *fixture, path string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for path != "" {
		m := f.Must(200, "GET", path, f.admin, nil).JSON()
		for _, v := range m["value"].([]any) {
			o := v.(map[string]any)
			out[o["id"].(string)] = o
		}
		path = ""
		if n, ok := m["@odata.nextLink"].(string); ok {
			path = pathOf(t, n)
		}
	}
	return out
}

// fullMembers is every group's direct members, from the members listing.
func fullMembers(t *testing.T, f *fixture, groups map[string]map[string]any) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for id := range groups {
		ms := map[string]bool{}
		for m := range listAll(t, f, "/v1.0/groups/"+id+"/members?$select=id") {
			ms[m] = true
		}
		out[id] = ms
	}
	return out
}

func TestUsersDeltaRounds(t *testing.T) { bothPaths(t, testUsersDeltaRounds) }

func testUsersDeltaRounds(t *testing.T) {
	f := newFixture(t)
	a := f.user("a@contoso.example", "A")
	b := f.user("b@contoso.example", "B")
	c := f.user("c@contoso.example", "C")

	// Initial round: every user, two per page, $select carried by the links.
	r := f.Must(200, "GET", "/v1.0/users/delta?$select=displayName", f.admin, nil, "Prefer: odata.maxpagesize=2")
	if r.Header.Get("Preference-Applied") != "odata.maxpagesize=2" {
		t.Fatalf("Preference-Applied %q", r.Header.Get("Preference-Applied"))
	}
	m := r.JSON()
	if !strings.HasSuffix(m["@odata.context"].(string), "/v1.0/$metadata#users(displayName)") {
		t.Fatalf("context %v", m["@odata.context"])
	}
	next := m["@odata.nextLink"].(string)
	if !strings.Contains(next, "/v1.0/users/delta?$skiptoken=") || strings.Contains(next, "select") || m["@odata.deltaLink"] != nil {
		t.Fatalf("first page links: %s", r.Body)
	}
	seen := field(r, "displayName")
	for _, v := range values(r) {
		if len(v) != 2 || v["id"] == nil {
			t.Fatalf("$select=displayName gives id and displayName: %v", v)
		}
	}
	r = f.Must(200, "GET", pathOf(t, next), f.admin, nil, "Prefer: odata.maxpagesize=2")
	seen = append(seen, field(r, "displayName")...)
	sort.Strings(seen)
	if !slices.Equal(seen, []string{"A", "B", "C"}) {
		t.Fatalf("initial round saw %v", seen)
	}
	dl, ok := r.JSON()["@odata.deltaLink"].(string)
	if !ok || !strings.Contains(dl, "/v1.0/users/delta?$deltatoken=") {
		t.Fatalf("last page: %s", r.Body)
	}

	// Nothing changed: an empty page and a deltaLink.
	r = f.Must(200, "GET", pathOf(t, dl), f.admin, nil)
	if len(values(r)) != 0 || r.JSON()["@odata.deltaLink"] == nil {
		t.Fatalf("no change: %s", r.Body)
	}
	dl0 := pathOf(t, r.JSON()["@odata.deltaLink"].(string))

	// A change, a (soft) deletion and a new user.
	f.Must(204, "PATCH", "/v1.0/users/"+a, f.admin, map[string]any{"displayName": "A2"})
	f.Must(204, "DELETE", "/v1.0/users/"+b, f.admin, nil)
	d := f.user("d@contoso.example", "D")
	r = f.Must(200, "GET", dl0, f.admin, nil)
	got := map[string]map[string]any{}
	for _, v := range values(r) {
		got[v["id"].(string)] = v
	}
	if len(got) != 3 || got[a]["displayName"] != "A2" || got[d]["displayName"] != "D" || got[c] != nil {
		t.Fatalf("changes: %s", r.Body)
	}
	if rm, _ := got[b]["@removed"].(map[string]any); rm["reason"] != "changed" || len(got[b]) != 2 {
		t.Fatalf("a soft-deleted user is removed with reason changed: %v", got[b])
	}
	if !strings.HasSuffix(r.JSON()["@odata.context"].(string), "#users(displayName)") {
		t.Fatalf("the deltaLink keeps $select: %v", r.JSON()["@odata.context"])
	}
	// Once purged, it is deleted for good.
	f.Must(204, "DELETE", "/v1.0/directory/deletedItems/"+b, f.admin, nil)
	r = f.Must(200, "GET", dl0, f.admin, nil)
	for _, v := range values(r) {
		if v["id"] == b {
			if rm, _ := v["@removed"].(map[string]any); rm["reason"] != "deleted" {
				t.Fatalf("a purged user is removed with reason deleted: %v", v)
			}
		}
	}
	// $select with a link replaces the carried one.
	r = f.Must(200, "GET", dl0+"&$select=userPrincipalName", f.admin, nil)
	for _, v := range values(r) {
		if v["@removed"] == nil && (v["userPrincipalName"] == nil || v["displayName"] != nil) {
			t.Fatalf("$select with a deltaLink: %v", v)
		}
	}
}

func TestDeltaTokenLatestAndAliases(t *testing.T) {
	f := newFixture(t)
	f.user("a@contoso.example", "A")
	r := f.Must(200, "GET", "/v1.0/users/delta?$deltatoken=latest", f.admin, nil)
	if len(values(r)) != 0 || r.JSON()["@odata.deltaLink"] == nil || r.JSON()["@odata.nextLink"] != nil {
		t.Fatalf("latest: %s", r.Body)
	}
	dl := pathOf(t, r.JSON()["@odata.deltaLink"].(string))
	b := f.user("b@contoso.example", "B")
	r = f.Must(200, "GET", dl, f.admin, nil)
	if ids := field(r, "id"); !slices.Equal(ids, []string{b}) {
		t.Fatalf("after latest only the new user: %v", ids)
	}
	for _, p := range []string{"/v1.0/users/delta()", "/v1.0/users/microsoft.graph.delta()", "/v1.0/groups/microsoft.graph.delta"} {
		f.Must(200, "GET", p, f.admin, nil)
	}
}

func TestDeltaTokenErrors(t *testing.T) {
	f := newFixture(t)
	f.user("a@contoso.example", "A")
	dl := pathOf(t, f.Must(200, "GET", "/v1.0/users/delta", f.admin, nil).JSON()["@odata.deltaLink"].(string))
	tok := dl[strings.Index(dl, "=")+1:]

	bad := []string{
		"/v1.0/users/delta?$deltatoken=garbage",
		"/v1.0/users/delta?$deltatoken=" + tok[:len(tok)-2] + flip(tok[len(tok)-2:]), // MAC changed
		"/v1.0/users/delta?$deltatoken=" + flip(tok[:6]) + tok[6:],                   // payload changed
		"/v1.0/groups/delta?$deltatoken=" + tok,                                      // another collection's
		"/v1.0/users/delta?$skiptoken=" + tok,                                        // a deltaLink's token as a skip token
		"/v1.0/users/delta?$deltatoken=" + tok + "&$skiptoken=" + tok,
	}
	for _, p := range bad {
		r := f.Call("GET", p, f.admin, nil)
		if r.Status != 400 {
			t.Errorf("%s: %d %s", p, r.Status, r.Body)
		}
	}
	// Another tenant's token.
	other := f.Customer("Fabrikam", "US")
	r := f.Call("GET", dl, f.Token(other, "GlobalAdministrator"), nil)
	wantError(t, r, 400, "Request_BadRequest", "token is not valid")
	// Unknown $select, and a query option a delta function does not take.
	wantError(t, f.Call("GET", "/v1.0/users/delta?$select=nope", f.admin, nil), 400, "BadRequest", "nope")
	wantError(t, f.Call("GET", "/v1.0/users/delta?$orderby=displayName", f.admin, nil), 400, "Request_BadRequest", "$orderby")
	// Readers of the directory only.
	if r := f.Call("GET", "/v1.0/users/delta", f.Token(f.tenant, "ReportsReader"), nil); r.Status != 403 {
		t.Fatalf("a Reports Reader reads no directory delta: %d", r.Status)
	}
}

func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestGroupsDeltaMembers(t *testing.T) { bothPaths(t, testGroupsDeltaMembers) }

func testGroupsDeltaMembers(t *testing.T) {
	f := newFixture(t)
	u1, u2, u3 := f.user("a@contoso.example", "A"), f.user("b@contoso.example", "B"), f.user("c@contoso.example", "C")
	g := f.group("Sales")
	inner := f.group("Inner")
	f.addMember(g, u1)
	f.addMember(g, u2)
	f.addMember(g, inner)

	c := newDeltaClient(f, "/v1.0/groups/delta?$select=displayName,members")
	c.sync(t)
	if !reflect.DeepEqual(c.members[g], map[string]bool{u1: true, u2: true, inner: true}) {
		t.Fatalf("initial members %v", c.members[g])
	}
	dl := c.next
	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+u1+"/$ref", f.admin, nil)
	f.addMember(g, u3)
	r := f.Must(200, "GET", dl, f.admin, nil)
	vs := values(r)
	if len(vs) != 1 || vs[0]["id"] != g {
		t.Fatalf("the group changed: %s", r.Body)
	}
	md := vs[0]["members@delta"].([]any)
	want := map[string]string{u1: "deleted", u3: ""}
	if len(md) != 2 {
		t.Fatalf("members@delta %v", md)
	}
	for _, e := range md {
		e := e.(map[string]any)
		reason := ""
		if rm, ok := e["@removed"].(map[string]any); ok {
			reason = rm["reason"].(string)
		}
		if want[e["id"].(string)] != reason || e["@odata.type"] != "#microsoft.graph.user" {
			t.Fatalf("members@delta entry %v", e)
		}
	}
	// Without members in $select there is no members@delta.
	r = f.Must(200, "GET", "/v1.0/groups/delta?$select=displayName", f.admin, nil)
	for _, v := range values(r) {
		if _, ok := v["members@delta"]; ok {
			t.Fatalf("members@delta without members in $select: %v", v)
		}
	}
}

// TestDeltaPropertyClientCopyEqualsListing: over random command sequences,
// with commands between the pages of a round, a client that applies every
// page of users/delta and groups/delta holds exactly what a fresh full
// listing holds, at the end of every round of changes.
func TestDeltaPropertyClientCopyEqualsListing(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	bothPaths(t, func(t *testing.T) {
		for seed := range seeds {
			t.Run(fmt.Sprint(seed), func(t *testing.T) { deltaProperty(t, uint64(seed)) })
		}
	})
}

// bothPaths runs a test with the directory index's fast path of delta
// rounds, and without it (every changes round rebuilt from the change
// log, as a process that did not issue the tokens serves them).
func bothPaths(t *testing.T, test func(t *testing.T)) {
	t.Run("index", test)
	t.Run("log", func(t *testing.T) {
		graph.SetDeltaFastPath(t, false)
		test(t)
	})
}

// deltaRun is one seed of the delta property: the directory it changes
// through Graph (users, groups, and the deleted ones), and two clients
// that apply every page of users/delta and groups/delta.
type deltaRun struct {
	t                                          *testing.T
	f                                          *fixture
	seed                                       uint64
	rng                                        *rand.Rand
	users, groups, deletedUsers, deletedGroups []string
	n, refused, checks                         int
	uc, gc                                     *deltaClient
}

func deltaProperty(t *testing.T, seed uint64) {
	f := newFixture(t)
	r := &deltaRun{t: t, f: f, seed: seed, rng: rand.New(rand.NewPCG(seed, 7))}
	r.uc = newDeltaClient(f, "/v1.0/users/delta?$select=id,displayName,userPrincipalName,assignedLicenses,licenseAssignmentStates", "Prefer: odata.maxpagesize=2")
	r.gc = newDeltaClient(f, "/v1.0/groups/delta?$select=id,displayName,assignedLicenses,members", "Prefer: odata.maxpagesize=1")
	for range 30 {
		r.step()
	}
	for i := range 120 {
		// A few commands, then a page of each client; a round of changes
		// that ends with no command after its last page must leave the
		// copies equal to the listings.
		for range r.rng.IntN(4) {
			r.step()
		}
		ud := r.uc.page(t)
		gd := r.gc.page(t)
		if ud && gd && r.uc.rounds > 1 && r.gc.rounds > 1 {
			r.check(fmt.Sprintf("after step %d", i))
		}
	}
	r.uc.sync(t)
	r.gc.sync(t)
	r.uc.sync(t) // a round of changes with nothing changing meanwhile
	r.gc.sync(t)
	r.check("at the end")
	if r.checks < 3 || r.refused > r.n/2 {
		t.Fatalf("seed %d: too little exercised: %d checks, %d of %d commands refused", seed, r.checks, r.refused, r.n)
	}
	t.Logf("seed %d: %d commands (%d refused), %d checks, %d users, %d groups, %d deleted users, %d deleted groups", seed, r.n, r.refused, r.checks,
		len(r.users), len(r.groups), len(r.deletedUsers), len(r.deletedGroups))
}

func (r *deltaRun) pick(xs []string) string { return xs[r.rng.IntN(len(xs))] }

func remove(xs []string, x string) []string {
	return slices.DeleteFunc(xs, func(v string) bool { return v == x })
}

// call sends a command; an answer not in want is a refusal (counted), but
// never a 5xx. It returns the body of a 2xx answer.
func (r *deltaRun) call(want []int, method, path string, body any) map[string]any {
	resp := r.f.Call(method, path, r.f.admin, body)
	if resp.Status >= 500 || !slices.Contains(want, resp.Status) && resp.Status < 400 {
		r.t.Fatalf("%s %s: %d %s", method, path, resp.Status, resp.Body)
	}
	if resp.Status >= 400 {
		r.refused++
	}
	if resp.Status < 300 && len(resp.Body) > 0 {
		return resp.JSON()
	}
	return nil
}

// step draws and sends one command.
func (r *deltaRun) step() {
	r.n++
	switch op := r.rng.IntN(12); {
	case op < 2 || len(r.users) == 0:
		r.users = append(r.users, r.f.user(fmt.Sprintf("u%d@contoso.example", r.n), fmt.Sprintf("User %d", r.n)))
	case op == 2:
		r.call([]int{204}, "PATCH", "/v1.0/users/"+r.pick(r.users), map[string]any{"displayName": fmt.Sprintf("Renamed %d", r.n)})
	case op == 3:
		u := r.pick(r.users)
		r.call([]int{204}, "DELETE", "/v1.0/users/"+u, nil)
		r.users, r.deletedUsers = remove(r.users, u), append(r.deletedUsers, u)
	case op == 4 && len(r.deletedUsers) > 0:
		r.restoreOrPurgeUser()
	case op == 5 || len(r.groups) == 0:
		r.addGroup()
	case op == 6 || op == 7:
		m := r.pick(r.users)
		if r.rng.IntN(4) == 0 {
			m = r.pick(r.groups)
		}
		r.call([]int{204}, "POST", "/v1.0/groups/"+r.pick(r.groups)+"/members/$ref", map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + m})
	case op == 8:
		g := r.pick(r.groups)
		us, gs := r.f.membersOf(g)
		if ms := append(us, gs...); len(ms) > 0 {
			r.call([]int{204}, "DELETE", "/v1.0/groups/"+g+"/members/"+r.pick(ms)+"/$ref", nil)
		}
	case op == 9:
		r.deleteGroup()
	case op == 10 && len(r.deletedGroups) > 0:
		g := r.pick(r.deletedGroups)
		if r.call([]int{200}, "POST", "/v1.0/directory/deletedItems/"+g+"/restore", map[string]any{}) != nil {
			r.groups = append(r.groups, g)
		}
		r.deletedGroups = remove(r.deletedGroups, g)
	default:
		r.assignLicense()
	}
}

// restoreOrPurgeUser restores a deleted user or deletes it for good.
func (r *deltaRun) restoreOrPurgeUser() {
	u := r.pick(r.deletedUsers)
	if r.rng.IntN(2) == 0 {
		if r.call([]int{200}, "POST", "/v1.0/directory/deletedItems/"+u+"/restore", map[string]any{}) != nil {
			r.users = append(r.users, u)
		}
	} else {
		r.call([]int{204}, "DELETE", "/v1.0/directory/deletedItems/"+u, nil)
	}
	r.deletedUsers = remove(r.deletedUsers, u)
}

// addGroup creates a security or a Microsoft 365 group.
func (r *deltaRun) addGroup() {
	kind := map[string]any{"displayName": fmt.Sprintf("G%d", r.n), "mailEnabled": false, "mailNickname": fmt.Sprintf("g%d", r.n), "securityEnabled": true}
	if r.rng.IntN(2) == 0 {
		kind["groupTypes"] = []string{"Unified"}
		kind["mailEnabled"] = true
	}
	r.groups = append(r.groups, r.call([]int{201}, "POST", "/v1.0/groups", kind)["id"].(string))
}

// deleteGroup deletes a group; it is deleted once Graph no longer finds it.
func (r *deltaRun) deleteGroup() {
	g := r.pick(r.groups)
	r.call([]int{204}, "DELETE", "/v1.0/groups/"+g, nil)
	if r.f.Call("GET", "/v1.0/groups/"+g, r.f.admin, nil).Status == 404 {
		r.groups = remove(r.groups, g)
		r.deletedGroups = append(r.deletedGroups, g)
	}
}

// assignLicense assigns E3 or Office 365 E3 to a group or a user.
func (r *deltaRun) assignLicense() {
	sku := e3
	if r.rng.IntN(2) == 0 {
		sku = o365E3
	}
	add := map[string]any{"addLicenses": []any{map[string]any{"skuId": sku, "disabledPlans": []string{}}}, "removeLicenses": []string{}}
	if r.rng.IntN(3) == 0 {
		r.call([]int{202}, "POST", "/v1.0/groups/"+r.pick(r.groups)+"/assignLicense", add)
	} else {
		r.call([]int{200}, "POST", "/v1.0/users/"+r.pick(r.users)+"/assignLicense", add)
	}
}

// check compares the clients' copies with fresh full listings.
func (r *deltaRun) check(when string) {
	t, f, seed := r.t, r.f, r.seed
	t.Helper()
	r.checks++
	wantU := listAll(t, f, "/v1.0/users?$select=id,displayName,userPrincipalName,assignedLicenses,licenseAssignmentStates&$top=999")
	if !reflect.DeepEqual(r.uc.objs, wantU) {
		t.Fatalf("seed %d %s: users copy differs from the listing:\ncopy %v\nlist %v", seed, when, r.uc.objs, wantU)
	}
	wantG := listAll(t, f, "/v1.0/groups?$select=id,displayName,assignedLicenses&$top=999")
	if !reflect.DeepEqual(r.gc.objs, wantG) {
		t.Fatalf("seed %d %s: groups copy differs from the listing:\ncopy %v\nlist %v", seed, when, r.gc.objs, wantG)
	}
	for id, ms := range fullMembers(t, f, wantG) {
		got := r.gc.members[id]
		if len(ms) == 0 && len(got) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, ms) {
			t.Fatalf("seed %d %s: members of %s: copy %v, listing %v", seed, when, id, got, ms)
		}
	}
}

// membersOf lists a group's direct members (users, groups).
func (f *fixture) membersOf(g string) (users, groups []string) {
	for _, v := range values(f.Must(200, "GET", "/v1.0/groups/"+g+"/members?$top=999", f.admin, nil)) {
		if v["@odata.type"] == "#microsoft.graph.group" {
			groups = append(groups, v["id"].(string))
		} else {
			users = append(users, v["id"].(string))
		}
	}
	return users, groups
}

// TestGroupsDeltaMembersPaged: a group's members@delta is paged as Graph
// pages a large group's (the group comes again on the next pages with
// the rest of its members, each page within the limit), in the first
// round and in a changes round; a client merging the pages ends with the
// group's members.
func TestGroupsDeltaMembersPaged(t *testing.T) { bothPaths(t, testGroupsDeltaMembersPaged) }

func testGroupsDeltaMembersPaged(t *testing.T) {
	graph.SetDeltaMembersPage(t, 2)
	f := newFixture(t)
	g := f.group("Sales")
	small := f.group("Small")
	var us []string
	for i := range 8 {
		us = append(us, f.user(fmt.Sprintf("u%d@contoso.example", i), fmt.Sprintf("U%d", i)))
	}
	for _, u := range us[:5] {
		f.addMember(g, u)
	}
	f.addMember(small, us[7])
	want := func(ids ...string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	// pages checks a round's pages: at most 2 entries each, and how many
	// times each group came.
	pages := func(link string) (seen map[string]int, deltaLink string) {
		seen = map[string]int{}
		for {
			m := f.Must(200, "GET", link, f.admin, nil).JSON()
			n := 0
			for _, v := range m["value"].([]any) {
				o := v.(map[string]any)
				seen[o["id"].(string)]++
				if md, ok := o["members@delta"].([]any); ok {
					n += len(md)
				}
			}
			if n > 2 {
				t.Fatalf("a page carries %d members@delta entries: %v", n, m)
			}
			if next, ok := m["@odata.nextLink"].(string); ok {
				link = pathOf(t, next)
				continue
			}
			return seen, pathOf(t, m["@odata.deltaLink"].(string))
		}
	}
	start := "/v1.0/groups/delta?$select=displayName,members"
	if seen, _ := pages(start); seen[g] != 3 || seen[small] != 1 {
		t.Fatalf("first round: the groups came %v times, want Sales 3 (5 members by 2), Small 1", seen)
	}
	c := newDeltaClient(f, start)
	c.sync(t)
	if !reflect.DeepEqual(c.members[g], want(us[:5]...)) || !reflect.DeepEqual(c.members[small], want(us[7])) {
		t.Fatalf("members after the first round: %v, %v", c.members[g], c.members[small])
	}
	dl := c.next
	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+us[0]+"/$ref", f.admin, nil)
	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+us[3]+"/$ref", f.admin, nil)
	f.addMember(g, us[5])
	f.addMember(g, us[6])
	f.addMember(g, us[7])
	if seen, _ := pages(dl); seen[g] != 3 {
		t.Fatalf("changes round: Sales came %d times, want 3 (5 changes by 2)", seen[g])
	}
	c.sync(t)
	if !reflect.DeepEqual(c.members[g], want(us[1], us[2], us[4], us[5], us[6], us[7])) {
		t.Fatalf("members after the changes round: %v", c.members[g])
	}
}
