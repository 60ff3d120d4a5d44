package usage

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/tenant"
)

func TestEventsAreIdempotentByID(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-05-01T00:00:00Z"), 2, "SPE_E5")
	body := `{"id":"a","user":"user1@contoso.example","feature":"attackSimulation","at":"2024-06-01T10:00:00Z"}
{"id":"b","user":"user1@contoso.example","feature":"copilot","at":"2024-06-02T10:00:00Z"}
{"id":"a","user":"user1@contoso.example","feature":"attackSimulation","at":"2024-06-01T10:00:00Z"}`
	now := at("2024-06-03T00:00:00Z")
	r := e.events(now, body)
	if r.Accepted != 2 || r.Duplicates != 1 {
		t.Fatalf("first %+v", r)
	}
	snap := e.snapshot()
	r = e.events(now, body)
	if r.Accepted != 0 || r.Duplicates != 3 {
		t.Fatalf("again %+v", r)
	}
	if !reflect.DeepEqual(snap, e.snapshot()) {
		t.Fatal("re-sent events changed the aggregates")
	}
	// Without ids, a replay is accepted but changes nothing either.
	noIDs := strings.ReplaceAll(strings.ReplaceAll(body, `"id":"a",`, ""), `"id":"b",`, "")
	if r := e.events(now, noIDs); r.Accepted != 3 || !reflect.DeepEqual(snap, e.snapshot()) {
		t.Fatalf("replay without ids: %+v", r)
	}
	// Ids survive a restart, and so does the ring's position.
	var head uint32
	e.tn.Read(func(s *tenant.State) { head = Of(s).ids.head })
	e.reopen()
	if r := e.events(now, body); r.Duplicates != 3 {
		t.Fatalf("after restart %+v", r)
	}
	e.tn.Read(func(s *tenant.State) {
		if got := Of(s).ids.head; got != head || head != 2 {
			t.Fatalf("ring head %d after restart, was %d", got, head)
		}
	})
}

func TestReimportingAReportChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-05-01T00:00:00Z"), 3, "SPE_E3")
	csv := "Report Refresh Date,User Principal Name,Exchange Last Activity Date,OneDrive Last Activity Date,Teams Last Activity Date\n" +
		"2024-06-30,user1@contoso.example,2024-06-29,2024-06-20,\n" +
		"2024-06-30,user2@contoso.example,,,2024-06-30\n" +
		"2024-06-30,stranger@contoso.example,2024-06-29,,\n"
	now := at("2024-07-01T06:00:00Z")
	r := e.report(now, csv, false)
	if r.Accepted != 2 || r.UnmatchedCount != 1 || r.Unmatched[0].User != "stranger@contoso.example" || r.Unmatched[0].Line != 4 {
		t.Fatalf("first %+v", r)
	}
	snap := e.snapshot()
	r = e.report(now.Add(time.Hour), csv, false)
	if !r.Duplicate || r.Accepted != 0 || !reflect.DeepEqual(snap, e.snapshot()) {
		t.Fatalf("again %+v", r)
	}
	r = e.report(now.Add(2*time.Hour), csv, true)
	if r.Duplicate || r.Accepted != 2 || !reflect.DeepEqual(snap, e.snapshot()) {
		t.Fatalf("forced %+v", r)
	}
	var reps []ImportedReport
	e.tn.Read(func(s *tenant.State) { reps = Of(s).Reports() })
	if len(reps) != 1 || reps[0].Report != ReportActiveUser || reps[0].ReportRefreshDate != "2024-06-30" || reps[0].Unmatched != 1 {
		t.Fatalf("imported reports %+v", reps)
	}
	e.assertReloadEqual()
	if r := e.report(now.Add(3*time.Hour), csv, false); !r.Duplicate {
		t.Fatalf("after restart %+v", r)
	}
}

func TestActiveDaysPerFeatureAndPlanAsOfAnyDay(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-01-01T00:00:00Z"), 1, "SPE_E5")
	var lines []string
	// Attack simulation on 10 days spread over 100 days; email on 3.
	for i, back := range []int{0, 1, 2, 10, 25, 31, 45, 70, 89, 100} {
		d := at("2024-06-30T12:00:00Z").AddDate(0, 0, -back)
		lines = append(lines, fmt.Sprintf(`{"id":"s%d","user":"user1@contoso.example","feature":"attackSimulation","at":"%s"}`, i, d.Format(time.RFC3339)))
	}
	for i, back := range []int{0, 40, 95} {
		d := at("2024-06-30T08:00:00Z").AddDate(0, 0, -back)
		lines = append(lines, fmt.Sprintf(`{"id":"m%d","user":"user1@contoso.example","feature":"exchangeMailbox","at":"%s"}`, i, d.Format(time.RFC3339)))
	}
	if r := e.events(at("2024-07-01T00:00:00Z"), strings.Join(lines, "\n")); r.Accepted != 13 {
		t.Fatalf("%+v", r)
	}
	plan := func(rep UserReport, name string) PlanReport {
		for _, p := range rep.ServicePlans {
			if p.ServicePlanName == name {
				return p
			}
		}
		t.Fatalf("plan %s not listed: %+v", name, rep.ServicePlans)
		return PlanReport{}
	}
	for _, tc := range []struct {
		asOf                 string
		atk30, atk90, exo90  int
		threatIntelFirstBack int
	}{
		{"2024-06-30", 5, 9, 2, 100}, // 0, 1, 2, 10, 25 | … 31, 45, 70, 89 | mailbox 0, 40
		{"2024-06-15", 2, 6, 2, 100}, // 25, 31 | … 45, 70, 89, 100 | mailbox 0, 40
		{"2024-08-15", 0, 6, 2, 100}, // | 0, 1, 2, 10, 25, 31 | mailbox 0, 40
	} {
		rep := e.userReport(upn(1), day(tc.asOf))
		ti := plan(rep, "THREAT_INTELLIGENCE")
		if !ti.Enabled || ti.ActiveDays30 != tc.atk30 || ti.ActiveDays90 != tc.atk90 {
			t.Errorf("as of %s: THREAT_INTELLIGENCE %+v", tc.asOf, ti)
		}
		if first := mustTime(ti.FirstUse); !first.Equal(at("2024-06-30T12:00:00Z").AddDate(0, 0, -tc.threatIntelFirstBack)) {
			t.Errorf("first use %v", first)
		}
		if exo := plan(rep, "EXCHANGE_S_ENTERPRISE"); exo.ActiveDays90 != tc.exo90 || !mustTime(exo.LastUse).Equal(at("2024-06-30T08:00:00Z")) {
			t.Errorf("as of %s: EXCHANGE_S_ENTERPRISE %+v", tc.asOf, exo)
		}
	}
	// A measurable plan of the seat that was never used is listed empty.
	rep := e.userReport(upn(1), day("2024-06-30"))
	if p := plan(rep, "EQUIVIO_ANALYTICS"); !p.Enabled || p.FirstUse != nil || p.ActiveDays90 != 0 {
		t.Fatalf("unused plan %+v", p)
	}
	if rep.Workloads["Defender"] != "2024-06-30" || rep.Workloads["Exchange"] != "2024-06-30" {
		t.Fatalf("workloads %v", rep.Workloads)
	}
}

func TestMailboxFactsKeepTheNewestReportAndHoldEvents(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-01-01T00:00:00Z"), 1)
	head := "Report Refresh Date,User Principal Name,Last Activity Date,Storage Used (Byte),Has Archive,Recipient Type\n"
	newer := head + "2024-06-30,user1@contoso.example,2024-06-29,60000000000,True,SharedMailbox\n"
	older := head + "2024-06-01,user1@contoso.example,2024-05-29,1000,False,UserMailbox\n"
	e.report(at("2024-07-01T00:00:00Z"), newer, false)
	if r := e.report(at("2024-07-01T01:00:00Z"), older, false); r.Accepted != 1 {
		t.Fatalf("%+v", r)
	}
	m := e.user(uid(1)).Mailbox
	if m.RecipientType != "SharedMailbox" || m.StorageUsedBytes != 60000000000 || !m.HasArchive || m.ReportDate != day("2024-06-30") || m.HoldKnown {
		t.Fatalf("mailbox %+v", m)
	}
	e.events(at("2024-07-02T00:00:00Z"), `{"user":"user1@contoso.example","feature":"litigationHold","at":"2024-07-01T09:00:00Z"}`)
	e.signIns(at("2024-07-02T00:00:00Z"), `{"user":"user1@contoso.example","at":"2024-07-01T10:00:00Z","interactive":true}`)
	rep := e.userReport(uid(1), day("2024-07-01"))
	mb := rep.Mailbox
	if mb == nil || mb.LitigationHold == nil || !*mb.LitigationHold || mb.DirectSignIns == nil || mb.DirectSignIns.ActiveDays30 != 1 {
		t.Fatalf("mailbox report %+v", mb)
	}
	e.assertReloadEqual()
}

func TestFutureEventsAreRejected(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-01-01T00:00:00Z"), 1)
	r := e.events(at("2024-06-01T00:00:00Z"), `{"user":"user1@contoso.example","feature":"copilot","at":"2024-06-01T23:00:00Z"}
{"user":"user1@contoso.example","feature":"copilot","at":"2024-06-03T00:00:00Z"}`)
	if r.Accepted != 1 || r.RejectedCount != 1 || r.Rejected[0].Line != 2 || !strings.Contains(r.Rejected[0].Reason, "future") {
		t.Fatalf("%+v", r)
	}
	rep := "Report Refresh Date,User Principal Name,Last Activity Date,Send Count\n2024-06-09,user1@contoso.example,2024-06-09,1\n"
	if r := e.report(at("2024-06-01T00:00:00Z"), rep, false); r.Accepted != 0 || r.RejectedCount != 1 {
		t.Fatalf("%+v", r)
	}
}

// TestStateSurvivesDeltasCheckpointsAndReshards ingests in many small and
// large batches (deltas, checkpoints, a growing shard count), then checks
// that a reload gives the same state and that the same input ingested at
// once gives the same aggregates.
func TestStateSurvivesDeltasCheckpointsAndReshards(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-01-01T00:00:00Z"), 700, "SPE_E3")
	now := at("2024-07-01T00:00:00Z")
	var all []string
	for batch := 0; batch < 12; batch++ {
		n := 3 // small batches: deltas
		if batch%4 == 3 {
			n = 900 // large ones: checkpoints
		}
		var lines []string
		for i := 0; i < n; i++ {
			u := (batch*131+i*7)%700 + 1
			d := at("2024-06-30T10:00:00Z").Add(-time.Duration((batch*17+i)%150) * 24 * time.Hour)
			lines = append(lines, fmt.Sprintf(`{"id":"%d-%d","user":"user%d@contoso.example","feature":"%s","at":"%s"}`,
				batch, i, u, benchFeatures[(batch+i)%len(benchFeatures)], d.Format(time.RFC3339)))
		}
		all = append(all, lines...)
		if r := e.events(now, strings.Join(lines, "\n")); r.Accepted != n {
			t.Fatalf("batch %d: %+v", batch, r)
		}
		if batch == 5 {
			e.assertReloadEqual()
		}
	}
	var m meta
	e.tn.Read(func(s *tenant.State) { m = Of(s).meta })
	if m.Shards < 2 || len(m.Deltas) == 0 {
		t.Logf("meta: shards %d deltas %d", m.Shards, len(m.Deltas))
	}
	e.assertReloadEqual()

	once := newEnv(t)
	once.addUsers(at("2024-01-01T00:00:00Z"), 700, "SPE_E3")
	once.events(now, strings.Join(all, "\n"))
	if a, b := e.snapshot(), once.snapshot(); !reflect.DeepEqual(a, b) {
		t.Fatal("incremental ingestion differs from ingesting everything at once")
	}
}

// Large inputs are resolved on all processors: the result must be the one
// of a serial resolution (the same rows in smaller reports).
func TestParallelResolutionMatchesSerial(t *testing.T) {
	const users, rows = 9000, 10000
	if rows < parallelResolve {
		t.Fatal("the test must exceed the parallel threshold")
	}
	header := "Report Refresh Date,User Principal Name,Exchange Last Activity Date,OneDrive Last Activity Date,Teams Last Activity Date\n"
	line := func(refresh string, i int) string {
		name := upn(i)
		if i > users {
			name = fmt.Sprintf("stranger%d@contoso.example", i)
		}
		d := fmt.Sprintf("2024-06-%02d", 1+i%29)
		return refresh + "," + name + "," + d + ",," + d + "\n"
	}
	var whole strings.Builder
	whole.WriteString(header)
	for i := 1; i <= rows; i++ {
		whole.WriteString(line("2024-06-30", i))
	}
	now := at("2024-07-01T06:00:00Z")
	granted := at("2024-05-01T00:00:00Z")

	par := newEnv(t)
	par.addUsers(granted, users, "SPE_E3")
	r := par.report(now, whole.String(), false)
	if r.Accepted != users || r.UnmatchedCount != rows-users {
		t.Fatalf("parallel: %d accepted, %d unmatched", r.Accepted, r.UnmatchedCount)
	}

	ser := newEnv(t)
	ser.addUsers(granted, users, "SPE_E3")
	accepted, unmatched := 0, 0
	for part, from := 0, 1; from <= rows; part, from = part+1, from+parallelResolve/2 {
		var sb strings.Builder
		sb.WriteString(header)
		for i := from; i < from+parallelResolve/2 && i <= rows; i++ {
			sb.WriteString(line(fmt.Sprintf("2024-06-%02d", 30-part), i))
		}
		r := ser.report(now, sb.String(), false)
		accepted += r.Accepted
		unmatched += r.UnmatchedCount
	}
	if accepted != r.Accepted || unmatched != r.UnmatchedCount {
		t.Fatalf("serial: %d accepted, %d unmatched", accepted, unmatched)
	}
	if d := diffSnapshots(ser.snapshot(), par.snapshot()); d != "" {
		t.Fatalf("parallel and serial resolution differ:\n%s", d)
	}
	// Every user's seat was activated by the report.
	u := par.user(uid(4321))
	if len(u.Activations) != 1 {
		t.Fatalf("activations %+v", u.Activations)
	}
	par.assertReloadEqual()
}

// The readers' copy follows the writer's from each committed change's
// objects (deltas, checkpoints, event-id chunks, meta): it must be what
// aggregating the events gives — what the store holds, and what a copy
// that aggregates everything at once holds — with duplicates, unmatched
// users, future events, sign-ins and new users among the batches.
func TestReadersCopyOfBatchesMatchesTheWritersAggregation(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-01-01T00:00:00Z"), 300, "SPE_E3")
	now := at("2024-07-01T00:00:00Z")
	var all []string
	for batch := 0; batch < 6; batch++ {
		var lines []string
		for i := 0; i < 400; i++ {
			u := (batch*37+i*11)%320 + 1 // users 301-320 do not exist
			d := at("2024-06-30T10:00:00Z").Add(-time.Duration((batch*13+i)%100) * 24 * time.Hour)
			if i%97 == 0 {
				d = now.Add(72 * time.Hour) // in the future: rejected
			}
			id := fmt.Sprintf("%d-%d", batch, i)
			if i%50 == 1 && batch > 0 {
				id = fmt.Sprintf("%d-%d", batch-1, i+1) // a duplicate of the previous batch
			}
			lines = append(lines, fmt.Sprintf(`{"id":"%s","user":"user%d@contoso.example","feature":"%s","at":"%s"}`,
				id, u, benchFeatures[(batch+i)%len(benchFeatures)], d.Format(time.RFC3339)))
		}
		all = append(all, lines...)
		r := e.events(now, strings.Join(lines, "\n"))
		if r.Accepted == 0 || r.UnmatchedCount == 0 || r.RejectedCount == 0 || (batch > 0 && r.Duplicates == 0) {
			t.Fatalf("batch %d: %+v", batch, r)
		}
		e.signIns(now, fmt.Sprintf(`{"id":"s%d","user":"user%d@contoso.example","at":"2024-06-2%dT08:00:00Z","interactive":true}`, batch, batch+1, batch))
		if batch == 2 { // users 301-310 appear
			e.do(at("2024-06-01T00:00:00Z"), func(tx *tenant.Tx) error {
				for i := 301; i <= 310; i++ {
					if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: upn(i), AccountEnabled: true,
						UserType: "Member", UsageLocation: "US", Kind: licensing.KindPerson}); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	// The store (written from the writer's copy) loads into what the
	// readers' copy holds, ring of event ids included.
	ring := func() (uint32, int, []uint64) {
		var head uint32
		var n int
		var ids []uint64
		e.tn.Read(func(s *tenant.State) {
			r := &Of(s).ids // its hash set may be stale: count the ring
			head = r.head
			for _, c := range r.chunks {
				ids = append(ids, c...)
				for _, h := range c {
					if h != 0 {
						n++
					}
				}
			}
		})
		return head, n, ids
	}
	h0, n0, ids0 := ring()
	e.assertReloadEqual()
	if h1, n1, ids1 := ring(); h1 != h0 || n1 != n0 || !reflect.DeepEqual(ids1, ids0) || n0 == 0 {
		t.Fatalf("event-id ring: head %d, %d ids in the readers' copy; %d, %d after reload", h0, n0, h1, n1)
	}
	// (The last batch: its users that exist existed when it was sent.)
	if r := e.events(now, strings.Join(all[len(all)-400:], "\n")); r.Accepted != 0 || r.Duplicates == 0 {
		t.Fatalf("re-sent after reload: %+v", r)
	}
}
