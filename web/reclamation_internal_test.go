package web

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"allot/reclamation"
)

// TestCampaignMembersPage: the member list counts every state, shows the
// members of the state chosen a page at a time, with links to the other
// pages; an offset past the end shows none and no next page.
func TestCampaignMembersPage(t *testing.T) {
	var ms []reclamation.Member
	for i := range 250 {
		state := reclamation.MemberNotified
		if i%5 == 0 {
			state = reclamation.MemberKept
		}
		ms = append(ms, reclamation.Member{UserID: fmt.Sprintf("u%03d", i), State: state})
	}
	r := httptest.NewRequest("GET", "/admin/reclamation/c?state=notified&offset=100", nil)
	d := campaignData{State: reclamation.MemberNotified}
	d.members(r, ms, 100)
	if fmt.Sprint(d.States) != "[{notified Noticed 200} {kept Kept 50}]" {
		t.Errorf("states %v", d.States)
	}
	if len(d.Members) != 100 || d.Members[0].UserID != "u126" || d.Pager.Total != 200 {
		t.Errorf("page: %d members from %s of %d", len(d.Members), d.Members[0].UserID, d.Pager.Total)
	}
	if d.Pager.Prev != "/admin/reclamation/c?offset=0&state=notified" || d.Pager.First != "/admin/reclamation/c?state=notified" || d.Pager.Next != "" {
		t.Errorf("links %+v", d.Pager)
	}
	d = campaignData{}
	d.members(r, ms, 1<<62)
	if len(d.Members) != 0 || d.Pager.Next != "" {
		t.Errorf("past the end: %d members, next %q", len(d.Members), d.Pager.Next)
	}
}
