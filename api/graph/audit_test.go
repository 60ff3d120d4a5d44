package graph_test

import (
	"net/url"
	"strings"
	"testing"
)

// Follows Entra's "Scenarios, limitations, and known issues using groups to
// manage licensing" (licensing-group-advanced), section "Use Audit logs to
// monitor group-based licensing activity": the activity and actor names an
// admin filters on, and the Finish entry's result line.

func (f *fixture) audit(filters ...string) []map[string]any {
	f.T.Helper()
	q := url.Values{"$orderby": {"at asc"}} // oldest first: these tests read the log in order
	for i := 0; i+1 < len(filters); i += 2 {
		q.Set(filters[i], filters[i+1])
	}
	return values(f.Must(200, "GET", "/allot/v1/audit?"+q.Encode(), f.admin, nil))
}

func TestAuditLogUsesMicrosoftsGroupLicensingActivities(t *testing.T) {
	f := newFixture(t)
	g := f.group("EMS users")
	var users []string
	for _, upn := range []string{"ann@contoso.example", "bob@contoso.example", "cy@contoso.example"} {
		u := f.user(upn, upn)
		f.addMember(g, u)
		users = append(users, u)
	}
	// ENTERPRISEPACK has 2 units: one of the three members fails.
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3}}, "removeLicenses": []any{}})

	// "Find out who modified a license": Activity "Set group license".
	set := f.audit("activity", "Set group license", "groupId", g)
	if len(set) != 1 || strings.Contains(set[0]["actor"].(string), "Group-Based") || !strings.Contains(set[0]["detail"].(string), "added ENTERPRISEPACK") {
		t.Fatalf("Set group license entries: %v", set)
	}
	// "Find out when group changes started and finished processing".
	start := f.audit("activity", "Start applying group based license to users", "groupId", g)
	finish := f.audit("activity", "Finish applying group based license to users", "groupId", g)
	if len(start) != 1 || len(finish) != 1 {
		t.Fatalf("start %v, finish %v", start, finish)
	}
	if finish[0]["detail"] != "Users successfully assigned licenses: 2, Users for whom license assignment failed: 1." {
		t.Fatalf("finish result: %v", finish[0]["detail"])
	}
	// "Initiated By (Actor): Microsoft Entra group-Based Licensing" shows
	// the start, every user change and the finish.
	sys := f.audit("actor", "Microsoft Entra group-Based Licensing", "groupId", g)
	var acts []string
	for _, e := range sys {
		acts = append(acts, e["action"].(string))
	}
	want := "Start applying group based license to users," + strings.Repeat("Change user license,", len(users)) + "Finish applying group based license to users"
	if strings.Join(acts, ",") != want {
		t.Fatalf("system actor's entries: %v", acts)
	}
	// Removing the license is a "Set group license" too.
	f.Must(202, "POST", "/v1.0/groups/"+g+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{}, "removeLicenses": []any{o365E3}})
	if set := f.audit("activity", "Set group license", "groupId", g); len(set) != 2 || !strings.Contains(set[1]["detail"].(string), "removed ENTERPRISEPACK") {
		t.Fatalf("Set group license after removal: %v", set)
	}
}
