package usage

import (
	"testing"
	"time"
)

func TestActivationIsTheFirstSignInAtOrAfterTheGrant(t *testing.T) {
	e := newEnv(t)
	grant := at("2024-03-10T12:00:00Z")
	e.addUsers(grant, 2, "SPE_E3")
	// User 1 signed in before the grant (ignored for activation), then after
	// it twice, out of order.
	r := e.signIns(grant.Add(48*time.Hour), `{"value":[
		{"id":"s1","user":"user1@contoso.example","at":"2024-03-09T08:00:00Z","interactive":true},
		{"id":"s2","user":"user1@contoso.example","at":"2024-03-12T09:30:00Z","interactive":false},
		{"id":"s3","user":"USER1@contoso.example","at":"2024-03-11T07:15:00Z","interactive":true}]}`)
	if r.Accepted != 3 || r.RejectedCount != 0 || r.UnmatchedCount != 0 {
		t.Fatalf("result %+v", r)
	}
	rep := e.userReport(upn(1), day("2024-03-12"))
	if len(rep.Licenses) != 1 {
		t.Fatalf("licenses %+v", rep.Licenses)
	}
	l := rep.Licenses[0]
	if l.SKUPartNumber != "SPE_E3" || l.AssignedDateTime.Truncate(time.Second) != grant {
		t.Fatalf("license %+v", l)
	}
	if got := mustTime(l.ActivatedDateTime); !got.Equal(at("2024-03-11T07:15:00Z")) {
		t.Fatalf("activated %v, want the first sign-in after the grant", got)
	}
	si := rep.SignIns
	if !mustTime(si.FirstDateTime).Equal(at("2024-03-09T08:00:00Z")) || !mustTime(si.LastDateTime).Equal(at("2024-03-12T09:30:00Z")) ||
		!mustTime(si.LastInteractiveDateTime).Equal(at("2024-03-11T07:15:00Z")) {
		t.Fatalf("sign-ins %+v", si)
	}
	if si.ActiveDays30 != 3 {
		t.Fatalf("active days %d, want 3", si.ActiveDays30)
	}
	// User 2 never signed in: assigned but not activated.
	rep2 := e.userReportOrEmpty(uid(2), day("2024-03-12"))
	if len(rep2.Licenses) != 1 || rep2.Licenses[0].ActivatedDateTime != nil {
		t.Fatalf("user 2 licenses %+v", rep2.Licenses)
	}
	e.assertReloadEqual()
	rep = e.userReport(upn(1), day("2024-03-12"))
	if got := mustTime(rep.Licenses[0].ActivatedDateTime); !got.Equal(at("2024-03-11T07:15:00Z")) {
		t.Fatalf("after reload: activated %v", got)
	}
}

func TestActivationFromAReportCountsFromTheDayOfTheGrant(t *testing.T) {
	e := newEnv(t)
	grant := at("2024-04-02T15:00:00Z")
	e.addUsers(grant, 1, "SPE_E3")
	csv := "Report Refresh Date,User Principal Name,Exchange Last Activity Date,Teams Last Activity Date\n" +
		"2024-04-05,user1@contoso.example,2024-04-02,2024-04-01\n"
	r := e.report(grant.Add(72*time.Hour), csv, false)
	if r.Accepted != 1 || r.Report != ReportActiveUser {
		t.Fatalf("result %+v", r)
	}
	l := e.userReport(uid(1), day("2024-04-05")).Licenses[0]
	if got := mustTime(l.ActivatedDateTime); !got.Equal(grant) {
		t.Fatalf("activated %v, want the grant (to the second) on the activity day", got)
	}
}

func (e *env) userReportOrEmpty(id string, asOf Day) UserReport { return e.userReport(id, asOf) }
