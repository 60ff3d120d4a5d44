package usage

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

func TestEvidenceSaysWhichReportOrEventsShowedAUse(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-05-01T00:00:00Z"), 3, "SPE_E5")
	now := at("2024-07-01T06:00:00Z")
	// user1: Exchange and Teams from the active-user report; user2: Teams
	// only from events; user3: Exchange from both.
	e.report(now, "Report Refresh Date,User Principal Name,Exchange Last Activity Date,OneDrive Last Activity Date,Teams Last Activity Date\n"+
		"2024-06-30,user1@contoso.example,2024-06-29,,2024-06-28\n"+
		"2024-06-30,user3@contoso.example,2024-06-20,,\n", false)
	r := e.events(now, `{"id":"1","user":"user2@contoso.example","feature":"teamsChat","at":"2024-06-30T10:00:00Z"}
{"id":"2","user":"user3@contoso.example","feature":"exchangeMailbox","at":"2024-06-30T11:00:00Z"}
{"id":"3","user":"user3@contoso.example","feature":"EXCHANGE_S_ENTERPRISE","at":"2024-06-30T12:00:00Z"}`)
	if r.Accepted != 3 {
		t.Fatalf("events %+v", r)
	}
	e.report(now, "Report Refresh Date,User Principal Name,Storage Used (Byte),Has Archive,Recipient Type,Last Activity Date\n"+
		"2024-06-30,user3@contoso.example,1000,True,UserMailbox,2024-06-30\n", false)

	activeUser := EvidenceReport(ReportActiveUser)
	mailbox := EvidenceReport(ReportMailboxUsage)
	if activeUser == 0 || mailbox == 0 || activeUser == mailbox || activeUser&EvidenceEvent != 0 {
		t.Fatalf("evidence bits %b %b", activeUser, mailbox)
	}
	feature := func(user int, f string) FeatureUse {
		t.Helper()
		fu, ok := e.user(uid(user)).Feature(f)
		if !ok {
			t.Fatalf("user%d has no %s", user, f)
		}
		return fu
	}
	checkFeatureEvidence(t, feature, activeUser, mailbox)
	checkPlanEvidence(t, e, activeUser, mailbox)

	// Evidence is idempotent and survives deltas, checkpoints and reloads.
	snap := e.snapshot()
	e.report(now.Add(time.Hour), "Report Refresh Date,User Principal Name,Exchange Last Activity Date,OneDrive Last Activity Date,Teams Last Activity Date\n"+
		"2024-06-30,user1@contoso.example,2024-06-29,,2024-06-28\n", true)
	if d := diffSnapshots(snap, e.snapshot()); d != "" {
		t.Fatalf("a forced re-import changed the aggregates:\n%s", d)
	}
	e.assertReloadEqual()
	if got := feature(3, "exchangeMailbox").Evidence; got != activeUser|EvidenceEvent|mailbox {
		t.Fatalf("after reload %v", got.Sources())
	}
}

// checkFeatureEvidence: each feature's evidence names the reports and the
// events that showed its use.
func checkFeatureEvidence(t *testing.T, feature func(int, string) FeatureUse, activeUser, mailbox Evidence) {
	for _, c := range []struct {
		user    int
		feature string
		want    Evidence
	}{
		{1, "exchangeMailbox", activeUser},
		{1, "teams", activeUser},
		{2, "teamsChat", EvidenceEvent},
		{3, "exchangeMailbox", activeUser | EvidenceEvent | mailbox},
		{3, "exchangeArchive", mailbox},
	} {
		if got := feature(c.user, c.feature).Evidence; got != c.want {
			t.Errorf("user%d %s: evidence %v, want %v", c.user, c.feature, got.Sources(), c.want.Sources())
		}
	}
	ev := feature(3, "exchangeMailbox").Evidence
	if !ev.Event() || !ev.Report() || !ev.HasReport(ReportActiveUser) || !ev.HasReport(ReportMailboxUsage) || ev.HasReport(ReportTeamsActivity) {
		t.Fatalf("user3 exchangeMailbox %v", ev.Sources())
	}
	want := []EvidenceSource{{SourceReport, ReportActiveUser}, {SourceReport, ReportMailboxUsage}, {SourceEvent, ""}}
	if got := ev.Sources(); !reflect.DeepEqual(got, want) {
		t.Fatalf("sources %+v", got)
	}
	if got := feature(2, "teamsChat").Evidence; got.Report() || !got.Event() {
		t.Fatalf("user2 teamsChat %v", got.Sources())
	}
}

// checkPlanEvidence: a plan's evidence is the union of its features'; the
// user report shows it per plan, feature and workload.
func checkPlanEvidence(t *testing.T, e *env, activeUser, mailbox Evidence) {
	want := []EvidenceSource{{SourceReport, ReportActiveUser}, {SourceReport, ReportMailboxUsage}, {SourceEvent, ""}}
	exo := "efb87545-963c-4e0d-99df-69c6916d9eb0" // EXCHANGE_S_ENTERPRISE
	p, ok := e.user(uid(3)).Plan(exo)
	if !ok || p.Evidence != activeUser|EvidenceEvent|mailbox || p.PlanID != exo {
		t.Fatalf("user3 Exchange plan %+v %v", p, ok)
	}
	rep := e.userReport("user3@contoso.example", day("2024-06-30"))
	var plan *PlanReport
	for i := range rep.ServicePlans {
		if rep.ServicePlans[i].ServicePlanID == exo {
			plan = &rep.ServicePlans[i]
		}
	}
	if plan == nil || !reflect.DeepEqual(plan.Evidence, want) {
		t.Fatalf("report plan %+v", plan)
	}
	if got := rep.WorkloadEvidence["Exchange"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("workload evidence %+v", rep.WorkloadEvidence)
	}
	rep2 := e.userReport("user2@contoso.example", day("2024-06-30"))
	for _, f := range rep2.Features {
		if f.Feature == "teamsChat" && !reflect.DeepEqual(f.Evidence, []EvidenceSource{{Source: SourceEvent}}) {
			t.Fatalf("user2 teamsChat %+v", f)
		}
	}
	for _, pr := range rep2.ServicePlans {
		if pr.Evidence == nil || (pr.LastUse == nil) != (len(pr.Evidence) == 0) {
			t.Fatalf("plan %s: evidence %+v with lastUse %v", pr.ServicePlanID, pr.Evidence, pr.LastUse)
		}
	}
}

func TestEveryReportTypeHasItsOwnEvidence(t *testing.T) {
	seen := Evidence(0)
	for _, name := range ReportNames() {
		b := EvidenceReport(name)
		if b == 0 || b&(b-1) != 0 || b&seen != 0 || b == EvidenceEvent {
			t.Fatalf("%s: evidence %b (seen %b)", name, b, seen)
		}
		seen |= b
		if !b.HasReport(name) || b.Event() || !b.Report() {
			t.Fatalf("%s: %v", name, b.Sources())
		}
	}
	if seen|EvidenceEvent != evidenceKnown {
		t.Fatalf("known %b, reports and events %b", evidenceKnown, seen|EvidenceEvent)
	}
	if EvidenceReport("getNoSuchReport") != 0 {
		t.Fatal("an unknown report has evidence")
	}
}

// A blob of version 1 (before evidence was kept) still loads, with no
// evidence.
func TestVersion1BlobsLoadWithoutEvidence(t *testing.T) {
	b := []byte{1}
	b = binary.AppendUvarint(b, 1)
	b = appendString(b, "copilot")
	b = binary.AppendUvarint(b, 0) // no SKUs
	b = binary.AppendUvarint(b, 1) // one user
	b = append(b, 0)
	b = appendString(b, "someone")
	b = binary.AppendUvarint(b, 7) // ver
	b = append(b, 0)               // flags
	b = binary.AppendUvarint(b, 1) // one feature
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, 800000000)
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendVarint(b, 0)
	b = binary.AppendUvarint(b, 1)
	b = binary.AppendUvarint(b, 0)
	b = binary.AppendUvarint(b, 0) // no activations
	var got []userAgg
	if err := decodeBlob(b, newSKUTable(), func(u *userAgg) {
		v := *u
		v.feats = append([]featUse(nil), u.feats...)
		got = append(got, v)
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].id != "someone" || got[0].ver != 7 || len(got[0].feats) != 1 ||
		got[0].feats[0].f != featureNamed("copilot") || got[0].feats[0].first != 800000000 || got[0].feats[0].src != 0 {
		t.Fatalf("decoded %+v", got)
	}
	// And the current version round-trips evidence.
	a := newAggregates()
	a.begin()
	u := a.users.at(a.user("someone"))
	u.observe(featureNamed("copilot"), 800000000, stamp(800000000).day(), EvidenceEvent|EvidenceReport(ReportM365Apps))
	enc := newEncoder(a.skus)
	enc.add(u)
	got = got[:0]
	if err := decodeBlob(enc.blob(), newSKUTable(), func(u *userAgg) { got = append(got, userAgg{feats: append([]featUse(nil), u.feats...)}) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].feats[0].src != EvidenceEvent|EvidenceReport(ReportM365Apps) {
		t.Fatalf("round trip %+v", got)
	}
}
