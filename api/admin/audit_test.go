package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/audit"
	"allot/licensing"
	"allot/tenant"
)

// auditWorld is a tenant whose log has entries about two users, a group
// and a product, by two actors.
func auditWorld(t *testing.T) (e *apitest.Env, reader string) {
	e = apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	e.Subscribe(id, "SPE_E3", 5)
	tn, _ := e.RT.Get(id)
	e3 := "05e9a617-0261-4cee-bb44-138d3ef5d965"
	for i, upn := range []string{"ann@c", "bob@c"} {
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		err := tn.Do(context.Background(), licensing.Op{Actor: "Alice (a1)", Now: time.Now()}, func(tx *tenant.Tx) error {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid, UserPrincipalName: upn, UsageLocation: "US"}); err != nil {
				return err
			}
			if i == 0 {
				if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g1", DisplayName: "Staff", SecurityEnabled: true}); err != nil {
					return err
				}
				if err := tx.Engine.AssignGroupLicenses(tx.Op, "g1", []licensing.AssignedLicense{{SKUID: e3}}, nil); err != nil {
					return err
				}
			}
			return tx.Engine.AddMembers(tx.Op, "g1", []string{uid})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return e, e.Token(id, "GlobalReader")
}

type auditRow struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	UserID  string    `json:"userId"`
	GroupID string    `json:"groupId"`
	SKUID   string    `json:"skuId"`
}

func auditPage(t *testing.T, e *apitest.Env, token, query string) (rows []auditRow, next string) {
	t.Helper()
	var body struct {
		Value []auditRow `json:"value"`
		Next  string     `json:"@odata.nextLink"`
	}
	e.Must(200, "GET", "/allot/v1/audit"+query, token, nil).Decode(t, &body)
	return body.Value, body.Next
}

func auditSeqs(rows []auditRow) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.Seq)
	}
	return out
}

func TestAuditIsNewestFirstAndPages(t *testing.T) {
	e, reader := auditWorld(t)
	all, next := auditPage(t, e, reader, "")
	if len(all) < 4 || next != "" {
		t.Fatalf("log: %d entries, next %q", len(all), next)
	}
	if !slices.IsSortedFunc(all, func(a, b auditRow) int { return int(b.Seq - a.Seq) }) {
		t.Fatalf("not newest first: %v", auditSeqs(all))
	}
	oldest, _ := auditPage(t, e, reader, "?$orderby="+url.QueryEscape("at asc"))
	r := slices.Clone(auditSeqs(oldest))
	slices.Reverse(r)
	if !slices.Equal(r, auditSeqs(all)) {
		t.Fatalf("at asc %v, newest first %v", auditSeqs(oldest), auditSeqs(all))
	}
	// $top pages newest first through the next link, without gaps or repeats.
	for _, q := range []string{"?$top=3", "?top=3", "?$top=3&$orderby=at%20asc"} {
		var got []int64
		for link := "/allot/v1/audit" + q; link != ""; {
			var body struct {
				Value []auditRow `json:"value"`
				Next  string     `json:"@odata.nextLink"`
			}
			e.Must(200, "GET", link, reader, nil).Decode(t, &body)
			if len(body.Value) > 3 {
				t.Fatalf("%s: page of %d", q, len(body.Value))
			}
			got = append(got, auditSeqs(body.Value)...)
			link = body.Next
		}
		want := auditSeqs(all)
		if q == "?$top=3&$orderby=at%20asc" {
			want = auditSeqs(oldest)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: pages %v, want %v", q, got, want)
		}
	}
}

func TestAuditFilters(t *testing.T) {
	e, reader := auditWorld(t)
	all, _ := auditPage(t, e, reader, "")
	ann := "00000000-0000-4000-8000-000000000000"
	e3 := "05e9a617-0261-4cee-bb44-138d3ef5d965"
	want := func(keep func(r auditRow) bool) []int64 {
		var out []int64
		for _, r := range all {
			if keep(r) {
				out = append(out, r.Seq)
			}
		}
		if len(out) == 0 || len(out) == len(all) {
			t.Fatalf("the filter selects %d of %d entries: not a test", len(out), len(all))
		}
		return out
	}
	mid := all[len(all)/2].At
	cases := []struct {
		queries []string
		want    []int64
	}{
		{[]string{"?userId=" + ann, "?$filter=" + url.QueryEscape("userId eq '"+ann+"'")}, want(func(r auditRow) bool { return r.UserID == ann })},
		{[]string{"?groupId=g1", "?$filter=" + url.QueryEscape("groupId eq 'g1'")}, want(func(r auditRow) bool { return r.GroupID == "g1" })},
		{[]string{"?skuId=" + e3, "?skuId=SPE_E3", "?$filter=" + url.QueryEscape("skuId eq 'SPE_E3'")}, want(func(r auditRow) bool { return r.SKUID == e3 })},
		{[]string{"?actor=" + url.QueryEscape("Alice (a1)"), "?$filter=" + url.QueryEscape("actor eq 'Alice (a1)'")}, want(func(r auditRow) bool { return r.Actor == "Alice (a1)" })},
		{[]string{"?to=" + mid.Format(time.RFC3339Nano), "?$filter=" + url.QueryEscape("at lt "+mid.Format(time.RFC3339Nano))}, want(func(r auditRow) bool { return r.At.Before(mid) })},
		{[]string{"?from=" + mid.Format(time.RFC3339Nano) + "&userId=" + ann, "?$filter=" + url.QueryEscape("at ge "+mid.Format(time.RFC3339Nano)+" and userId eq '"+ann+"'")},
			want(func(r auditRow) bool { return !r.At.Before(mid) && r.UserID == ann })},
	}
	for _, c := range cases {
		for _, q := range c.queries {
			rows, _ := auditPage(t, e, reader, q)
			if !slices.Equal(auditSeqs(rows), c.want) {
				t.Errorf("%s: %v, want %v", q, auditSeqs(rows), c.want)
			}
		}
	}
}

func TestAuditRefusesWhatItDoesNotUnderstand(t *testing.T) {
	e, reader := auditWorld(t)
	for _, q := range []string{
		"?user=ann", "?$skip=3", "?userid=x", "?$top=0", "?$top=1001", "?$orderby=actor",
		"?$filter=" + url.QueryEscape("userId eq 'a' or groupId eq 'g1'"),
		"?$filter=" + url.QueryEscape("displayName eq 'a'"),
		"?$filter=" + url.QueryEscape("at ge 'yesterday'"),
		"?$filter=" + url.QueryEscape("userId eq"),
		"?groupId=g1&$filter=" + url.QueryEscape("groupId eq 'g2'"),
		"?before=x", "?from=yesterday",
	} {
		r := e.Call("GET", "/allot/v1/audit"+q, reader, nil)
		if r.Status != 400 || r.ErrorMessage() == "" {
			t.Errorf("%s: %d %s, want 400", q, r.Status, r.Body)
		}
	}
}

func TestAuditRecordsBeforeAndAfterOfUnitsAndSettings(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register)
	id := e.Customer("Contoso", "US")
	sub := e.Subscribe(id, "SPE_E3", 5)
	e.Must(200, "PATCH", "/partner/v1/customers/"+id+"/subscriptions/"+sub, apitest.PartnerToken, map[string]any{"quantity": 7})
	e.Must(200, "PATCH", "/allot/v1/settings", e.Token(id, "GlobalAdministrator"), map[string]any{"defaultUsageLocation": "DE"})
	reader := e.Token(id, "GlobalReader")
	detail := func(activity string) map[string]map[string]any {
		t.Helper()
		var body struct {
			Value []struct{ Detail string } `json:"value"`
		}
		e.Must(200, "GET", "/allot/v1/audit?$top=1&activity="+url.QueryEscape(activity), reader, nil).Decode(t, &body)
		var d map[string]map[string]any
		if len(body.Value) != 1 || json.Unmarshal([]byte(body.Value[0].Detail), &d) != nil {
			t.Fatalf("%s: %+v", activity, body.Value)
		}
		return d
	}
	if d := detail("Update subscription units"); d["oldValue"]["enabled"] != 5.0 || d["newValue"]["enabled"] != 7.0 {
		t.Fatalf("units change: %v", d)
	}
	if d := detail("Update tenant settings"); d["oldValue"]["defaultUsageLocation"] != "US" || d["newValue"]["defaultUsageLocation"] != "DE" {
		t.Fatalf("settings change: %v", d)
	}
	// The subscription's own quantity, before and after, by its id.
	var body struct {
		Value []struct{ Detail string } `json:"value"`
	}
	e.Must(200, "GET", "/allot/v1/audit?$top=1&activity="+url.QueryEscape("Update subscription"), reader, nil).Decode(t, &body)
	var d map[string]any
	if len(body.Value) != 1 || json.Unmarshal([]byte(body.Value[0].Detail), &d) != nil ||
		d["subscriptionId"] != sub || d["oldQuantity"] != 5.0 || d["newQuantity"] != 7.0 {
		t.Fatalf("quantity change: %+v", body.Value)
	}
}

// Every parameter the handler accepts is in the OpenAPI document (and the
// handler refuses the rest: TestAuditRefusesWhatItDoesNotUnderstand).
func TestAuditParametersAreDocumented(t *testing.T) {
	e := apitest.New(t, partner.Register, admin.Register, graph.Register)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		} `json:"paths"`
	}
	e.Must(200, "GET", "/openapi.json", "", nil).Decode(t, &doc)
	got := map[string]bool{}
	for _, p := range doc.Paths["/allot/v1/audit"]["get"].Parameters {
		if p.In == "query" {
			got[p.Name] = true
		}
	}
	for _, p := range audit.QueryParams {
		if !got[p.Name] {
			t.Errorf("/openapi.json does not list the audit parameter %s", p.Name)
		}
	}
	if len(got) != len(audit.QueryParams) {
		t.Errorf("documented %d parameters, the handler accepts %d", len(got), len(audit.QueryParams))
	}
}
