package reclamation_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"allot"
	"allot/audit"
	"allot/catalog"
	"allot/internal/smtptest"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/m365"
	"allot/prices"
	"allot/reclamation"
	"allot/tenant"
)

// TestCampaignEndToEnd: a campaign over a small tenant with a fake clock.
// The preview lists the four idle holders and the saving; the notices go
// out by SMTP (u1's copied to the manager the attribute names); u2 keeps
// the license through the link (twice: nothing more changes); a forged
// link changes nothing; after the grace period u1, u3 and u4 lose their
// licenses, u2 and the active u5 keep theirs; restore brings each back
// exactly (u3's disabled plan, u4's allotment).
func TestCampaignEndToEnd(t *testing.T) {
	e := newEnv(t)
	before := map[string][]licensing.LicenseSource{}
	for _, u := range []string{"u1", "u3", "u4"} {
		before[u] = e.direct(u)
	}
	previewQ4(t, e)
	tokens := startQ4(t, e)
	forgedLinksChangeNothing(t, e, tokens)
	u2KeepsTwice(t, e, tokens["u2"])
	othersLoseAfterGrace(t, e, tokens)
	restoreAsBefore(t, e, before)
}

// previewQ4 creates the campaign q4: a draft over the four idle holders
// that sends nothing.
func previewQ4(t *testing.T, e *env) {
	ctx := context.Background()
	c, ms, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "q4", DisplayName: "Q4 idle seats", NotifyManager: true, GraceDays: 7}, "admin A", "tokA")
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, m := range ms {
		users = append(users, m.UserID+":"+m.State)
	}
	if !slices.Equal(users, []string{"u1:pending", "u2:pending", "u3:pending", "u4:pending"}) {
		t.Fatalf("preview members %v", users)
	}
	if c.Status != reclamation.Draft || c.Members != 4 || c.MonthlySaving == nil || *c.MonthlySaving != 92 || c.Currency != "EUR" {
		t.Fatalf("preview %+v saving %v", c, c.MonthlySaving)
	}
	e.step()
	if n := len(e.mb.Got()); n != 0 {
		t.Fatalf("a draft sent %d notices", n)
	}
}

// startQ4 starts q4 and returns the keep links' tokens of its notices by
// user: one notice each, u1's copied to the manager.
func startQ4(t *testing.T, e *env) map[string]string {
	c, err := e.svc.StartCampaign(context.Background(), e.tn, "q4", "admin A")
	if err != nil || c.Status != reclamation.Running {
		t.Fatalf("start: %+v %v", c, err)
	}
	e.step()
	e.step() // again: nothing is sent twice
	msgs := e.mb.Got()
	if len(msgs) != 4 {
		t.Fatalf("%d notices", len(msgs))
	}
	tokens := map[string]string{}
	for _, m := range msgs {
		h, text := smtptest.Text(t, m.Data)
		to := h.Get("To")
		u := strings.TrimSuffix(strings.Trim(to, "<>"), "@contoso.example")
		if !strings.Contains(h.Get("Subject"), "ENTERPRISEPACK") || !strings.Contains(text, "idle for 30 days or more") {
			t.Errorf("notice to %s: %s\n%s", to, h.Get("Subject"), text)
		}
		if u == "u1" != slices.Contains(m.To, "boss@contoso.example") {
			t.Errorf("notice to %s: envelope %v (only u1's goes to the manager)", to, m.To)
		}
		link := linkRE.FindStringSubmatch(text)
		if link == nil {
			t.Fatalf("no keep link in the notice to %s:\n%s", to, text)
		}
		tokens[u] = link[1]
	}
	c = e.campaign("q4")
	if c.GraceEndsAt.Sub(c.NoticesAt) != 7*24*time.Hour || c.Counts.Notified != 4 {
		t.Fatalf("after the notices: %+v", c)
	}
	return tokens
}

// forgedLinksChangeNothing: a forged or altered link changes nothing.
func forgedLinksChangeNothing(t *testing.T, e *env, tokens map[string]string) {
	ctx := context.Background()
	c := e.campaign("q4")
	good := tokens["u2"]
	for _, bad := range []string{"", "x", good[:len(good)-2] + "AA", strings.Replace(good, ".", "..", 1), tokens["u2"] + "x"} {
		if _, _, err := e.svc.Keep(ctx, bad); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("keep with %q: %v", bad, err)
		}
	}
	other := reclamation.Sign(reclamation.LinkKey([]byte("another key of thirty-two bytes!")), reclamation.Token{TenantID: "contoso", CampaignID: "q4", UserID: "u1", Expires: c.GraceEndsAt})
	if _, _, err := e.svc.Keep(ctx, other); err != reclamation.ErrBadLink {
		t.Errorf("keep with another key's link: %v", err)
	}
	if m := e.members("q4"); m["u1"].State != reclamation.MemberNotified || m["u2"].State != reclamation.MemberNotified {
		t.Fatalf("a bad link changed members: %+v", m)
	}
}

// u2KeepsTwice: u2 keeps the license with its link, twice; the second
// click changes nothing.
func u2KeepsTwice(t *testing.T, e *env, good string) {
	ctx := context.Background()
	e.clk.Add(24 * time.Hour)
	for range 2 {
		_, kept, err := e.svc.Keep(ctx, good)
		if err != nil || len(kept) != 1 || kept[0].State != reclamation.MemberKept {
			t.Fatalf("keep: %+v %v", kept, err)
		}
	}
	entries, err := e.st.QueryAudit(ctx, audit.Query{TenantID: "contoso", Activity: reclamation.ActivityKeep})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("%d keep audit entries, want 1 (the second click changes nothing)", len(entries))
	}
}

// othersLoseAfterGrace: before the end of the grace period nothing is
// removed; after it, everyone but u2 (and the active u5) loses the
// license, and the links have expired.
func othersLoseAfterGrace(t *testing.T, e *env, tokens map[string]string) {
	ctx := context.Background()
	e.clk.Add(5 * 24 * time.Hour)
	e.step()
	if len(e.direct("u1")) != 1 {
		t.Fatal("removed before the grace period ended")
	}
	e.clk.Add(2 * 24 * time.Hour)
	if _, _, err := e.svc.Keep(ctx, tokens["u1"]); err != reclamation.ErrExpiredLink {
		t.Errorf("keep after the grace period: %v", err)
	}
	e.step()
	c := e.campaign("q4")
	if c.Status != reclamation.Completed || c.Counts.Removed != 3 || c.Counts.Kept != 1 {
		t.Fatalf("completed: %+v", c)
	}
	for u, want := range map[string]int{"u1": 0, "u2": 1, "u3": 0, "u4": 0, "u5": 1} {
		if got := len(e.direct(u)); got != want {
			t.Errorf("%s has %d direct licenses, want %d", u, got, want)
		}
	}
	entries, _ := e.st.QueryAudit(ctx, audit.Query{TenantID: "contoso", Activity: reclamation.ActivityReclaim})
	if len(entries) != 3 {
		t.Errorf("%d reclaim audit entries", len(entries))
	}
	if _, _, err := e.svc.Keep(ctx, tokens["u2"]); err != reclamation.ErrExpiredLink {
		t.Errorf("keep on a completed campaign: %v", err)
	}
}

// restoreAsBefore: restoring q4 brings each license back as it was
// (before), once.
func restoreAsBefore(t *testing.T, e *env, before map[string][]licensing.LicenseSource) {
	ctx := context.Background()
	if c, err := e.svc.Restore(ctx, e.tn, "q4", "admin B"); err != nil || c.Status != reclamation.Restored || c.Counts.Restored != 3 {
		t.Fatalf("restore: %+v %v", c, err)
	}
	for _, u := range []string{"u1", "u3", "u4"} {
		got := e.direct(u)
		want := before[u]
		if len(got) != 1 || got[0].AllotmentID != want[0].AllotmentID || !slices.Equal(got[0].DisabledPlans, want[0].DisabledPlans) {
			t.Errorf("%s after restore: %+v, before %+v", u, got, want)
		}
	}
	if _, err := e.svc.Restore(ctx, e.tn, "q4", "admin B"); allot.ErrorCode(err) != allot.ECONFLICT {
		t.Errorf("a second restore: %v", err)
	}
}

// TestApprovalRequired: a campaign that requires approval sends nothing
// when started, its creator cannot approve it, and a second
// administrator's approval sends the notices.
func TestApprovalRequired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "a", RequireApproval: true}, "admin A", "tokA"); err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.StartCampaign(ctx, e.tn, "a", "admin A")
	if err != nil || c.Status != reclamation.AwaitingApproval {
		t.Fatalf("start: %+v %v", c.Status, err)
	}
	e.step()
	if n := len(e.mb.Got()); n != 0 {
		t.Fatalf("%d notices before approval", n)
	}
	if _, err := e.svc.Approve(ctx, e.tn, "a", "admin A again", "tokA"); allot.ErrorCode(err) != allot.EFORBIDDEN {
		t.Fatalf("the creator approved: %v", err)
	}
	e.step()
	if n := len(e.mb.Got()); n != 0 || e.campaign("a").Status != reclamation.AwaitingApproval {
		t.Fatalf("%d notices after the creator's refused approval", n)
	}
	if c, err = e.svc.Approve(ctx, e.tn, "a", "admin B", "tokB"); err != nil || c.Status != reclamation.Running || c.ApprovedBy != "admin B" {
		t.Fatalf("approve: %+v %v", c, err)
	}
	if _, err := e.svc.Approve(ctx, e.tn, "a", "admin C", "tokC"); allot.ErrorCode(err) != allot.ECONFLICT {
		t.Errorf("a second approval: %v", err)
	}
	e.step()
	if n := len(e.mb.Got()); n != 4 {
		t.Fatalf("%d notices after approval", n)
	}
}

// TestCancelStopsLinksAndRemovals: a cancelled campaign's links answer
// expired and nothing is removed after its grace period.
func TestCancelStopsLinksAndRemovals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "c", SKUs: []string{"ENTERPRISEPACK"}, GraceDays: 1}, "admin A", "tokA"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "c", "admin A"); err != nil {
		t.Fatal(err)
	}
	e.step()
	c := e.campaign("c")
	tok := reclamation.Sign(testKey, reclamation.Token{TenantID: "contoso", CampaignID: "c", UserID: "u1", Expires: c.GraceEndsAt})
	if _, _, _, err := e.svc.Resolve(ctx, tok); err != nil {
		t.Fatalf("a running campaign's link: %v", err)
	}
	if _, err := e.svc.Cancel(ctx, e.tn, "c", "admin A"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Keep(ctx, tok); err != reclamation.ErrExpiredLink {
		t.Errorf("keep on a cancelled campaign: %v", err)
	}
	e.clk.Add(48 * time.Hour)
	e.step()
	if len(e.direct("u1")) != 1 || e.campaign("c").Status != reclamation.Cancelled {
		t.Fatal("a cancelled campaign removed a license")
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "c", "admin A"); allot.ErrorCode(err) != allot.ECONFLICT {
		t.Errorf("start after cancel: %v", err)
	}
}

// TestPreviewFiltersAndExclusions: the group and kind filters, a
// downgrade's saving, and a group-licensed holder excluded with the
// group named.
func TestPreviewFiltersAndExclusions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.do(func(tx *tenant.Tx) error {
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: "g", DisplayName: "Licensed", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, "g", []licensing.AssignedLicense{{SKUID: e.sku}}, nil); err != nil {
			return err
		}
		return tx.Engine.AddMembers(tx.Op, "g", []string{"u1", "u2"})
	})
	c, ms, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "g", GroupID: "g"}, "admin A", "tokA")
	if err != nil {
		t.Fatal(err)
	}
	if c.Members != 0 || c.Excluded != 2 || len(ms) != 2 || !strings.Contains(ms[0].Excluded, "Licensed (g)") {
		t.Fatalf("group filter: %+v %+v", c, ms)
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "g", "admin A"); allot.ErrorCode(err) != allot.ECONFLICT {
		t.Errorf("start of a campaign without members: %v", err)
	}
	// u3's license is Entra's (a synced user's direct license): excluded.
	e.do(func(tx *tenant.Tx) error {
		return tx.Put(m365.KindSynced, "user/u3", map[string]any{"conn": "c1", "direct": []string{e.sku}})
	})
	_, ms, err = e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "e"}, "admin A", "tokA")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if (m.UserID == "u3") != strings.Contains(m.Excluded, "Microsoft 365 (Entra)") {
			t.Errorf("%s: excluded %q", m.UserID, m.Excluded)
		}
	}
	if _, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "n", Kinds: []string{"disabledHoldingLicense"}}, "admin A", "tokA"); err != nil {
		t.Fatal(err)
	}
	if c := e.campaign("n"); c.Members != 0 || c.MonthlySaving != nil {
		t.Fatalf("no disabled holders: %+v", c)
	}
	for _, bad := range []reclamation.Spec{
		{Kinds: []string{"underLicensed"}}, {Action: "delete"}, {Action: "downgrade"}, {DowngradeTo: "STANDARDPACK"},
		{GraceDays: 91}, {GraceDays: -1}, {SKUs: []string{"NOPE"}}, {GroupID: "missing"}, {ID: "bad id"},
		{Action: "downgrade", DowngradeTo: "STANDARDPACK"}, // no units of it
		{ManagerAttribute: "manager"}, {ID: "g"},
	} {
		if _, _, err := e.svc.Create(ctx, e.tn, bad, "admin A", "tokA"); err == nil || allot.ErrorCode(err) == allot.EINTERNAL {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// TestDowngradeAndRestore: a downgrade replaces the product with the
// cheaper one (allotment holders are excluded), saves the difference, and
// restore swaps back.
func TestDowngradeAndRestore(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	std, _ := catalogSKU("STANDARDPACK")
	e.do(func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, std, licensing.Units{Enabled: 10}); err != nil {
			return err
		}
		return prices.Put(tx, prices.List{Currency: "EUR", Prices: []prices.Price{
			{SKUID: e.sku, SKUPartNumber: "ENTERPRISEPACK", MonthlyUnitPrice: 23}, {SKUID: std, SKUPartNumber: "STANDARDPACK", MonthlyUnitPrice: 8}}})
	})
	c, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "d", SKUs: []string{e.sku}, Action: reclamation.Downgrade, DowngradeTo: "STANDARDPACK", GraceDays: 1}, "admin A", "tokA")
	if err != nil {
		t.Fatal(err)
	}
	if c.Members != 3 || c.Excluded != 1 || c.MonthlySaving == nil || *c.MonthlySaving != 45 {
		t.Fatalf("downgrade preview: %+v", c)
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "d", "admin A"); err != nil {
		t.Fatal(err)
	}
	e.step()
	e.clk.Add(25 * time.Hour)
	e.step()
	has := func(u, sku string) bool {
		var ok bool
		e.tn.Read(func(s *tenant.State) {
			for _, src := range s.Engine.DirectLicenses(u) {
				ok = ok || src.SKUID == sku
			}
		})
		return ok
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if has(u, e.sku) || !has(u, std) {
			t.Errorf("%s after the downgrade: E3 %v, E1 %v", u, has(u, e.sku), has(u, std))
		}
	}
	if !has("u4", e.sku) {
		t.Error("the allotment holder was downgraded")
	}
	if _, err := e.svc.Restore(ctx, e.tn, "d", "admin A"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"u1", "u2", "u3"} {
		if !has(u, e.sku) || has(u, std) {
			t.Errorf("%s after the restore: E3 %v, E1 %v", u, has(u, e.sku), has(u, std))
		}
	}
}

func catalogSKU(ref string) (string, bool) {
	s, ok := catalog.Default().SKU(ref)
	if !ok {
		return "", false
	}
	return s.ID, true
}

// TestSurvivesRestart: a running campaign whose notices went out is
// completed by a new runtime and service over the same database (the
// state is all in the tenant's objects), and no notice is sent again.
func TestSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "r", GraceDays: 2}, "admin A", "tokA"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "r", "admin A"); err != nil {
		t.Fatal(err)
	}
	e.step()
	sent := len(e.mb.Got())
	if err := e.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(3 * 24 * time.Hour)
	rt, err := tenant.Open(ctx, e.st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quiet(), Now: e.clk.Now}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	e.alerts.Attach(rt)
	svc := reclamation.New(reclamation.Config{Alerts: e.alerts, Key: testKey, BaseURL: "https://allot.test", Now: e.clk.Now, Logger: quiet()})
	svc.Attach(rt)
	e.svc, e.rt = svc, rt
	e.tn, _ = rt.Get("contoso")
	e.step()
	if c := e.campaign("r"); c.Status != reclamation.Completed || c.Counts.Removed != 4 {
		t.Fatalf("after the restart: %+v", c.Counts)
	}
	if n := len(e.mb.Got()); n != sent || sent != 4 {
		t.Fatalf("%d notices before the restart, %d after", sent, n)
	}
}

// TestReminders: a user who has not kept the license gets one reminder
// reminderDaysBefore (default 3) days before the grace period ends, with
// the same keep link; a user who kept it gets none; the reminders are
// audited and go out once — not again at the next step, nor when the
// record of them is lost after queueing (a crash), nor after a restart.
// A step that first runs after the end sends no reminder.
func TestReminders(t *testing.T) {
	e := newEnv(t)
	reminderDaysChecked(t, e)
	keepU2 := startRm(t, e)
	remindersToWhoDidNotKeep(t, e, keepU2)
	lostRecordSendsNothingAgain(t, e)
	restartSendsNothingAgain(t, e)
	lateCampaignSendsNoReminder(t, e)
}

// reminderDaysChecked: reminderDaysBefore must be shorter than the grace
// period, and its default is 3 days when the grace period is longer.
func reminderDaysChecked(t *testing.T, e *env) {
	for _, bad := range []int{-1, 7, 8} {
		if _, _, err := e.svc.Create(context.Background(), e.tn, reclamation.Spec{ID: "bad", GraceDays: 7, ReminderDaysBefore: &bad}, "admin A", "tokA"); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("reminderDaysBefore %d with graceDays 7: %v", bad, err)
		}
	}
	for grace, want := range map[int]int{2: 0, 3: 0, 4: 3, 14: 3} {
		s := reclamation.Spec{GraceDays: grace}
		if err := s.Validate(); err != nil || *s.ReminderDaysBefore != want {
			t.Errorf("graceDays %d: reminderDaysBefore %v (%v), want %d", grace, s.ReminderDaysBefore, err, want)
		}
	}
}

// startRm starts the campaign rm (reminders 3 days before a grace period
// of 7) and returns u2's keep link's token from its notice.
func startRm(t *testing.T, e *env) string {
	ctx := context.Background()
	c, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "rm", GraceDays: 7, NotifyManager: true}, "admin A", "tokA")
	if err != nil || c.ReminderDaysBefore == nil || *c.ReminderDaysBefore != 3 {
		t.Fatalf("create: %+v %v", c.ReminderDaysBefore, err)
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "rm", "admin A"); err != nil {
		t.Fatal(err)
	}
	e.step()
	var keepU2 string
	for _, m := range e.mb.Got() {
		if h, text := smtptest.Text(t, m.Data); h.Get("To") == "<u2@contoso.example>" {
			keepU2 = linkRE.FindStringSubmatch(text)[1]
		}
	}
	if len(e.mb.Got()) != 4 || keepU2 == "" {
		t.Fatalf("%d notices", len(e.mb.Got()))
	}
	return keepU2
}

// remindersToWhoDidNotKeep: u2 keeps the license; when the reminders are
// due (not a minute before) u1 (and the manager), u3 and u4 get one, once,
// and u3 keeps the license through its link; the campaign, the members
// and the audit record it.
func remindersToWhoDidNotKeep(t *testing.T, e *env, keepU2 string) {
	ctx := context.Background()
	if _, _, err := e.svc.Keep(ctx, keepU2); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(4*24*time.Hour - time.Minute) // a minute before the reminders are due
	e.step()
	if n := len(e.mb.Got()); n != 4 {
		t.Fatalf("%d messages before the reminders are due", n)
	}
	e.clk.Add(time.Minute)
	e.step()
	e.step()
	msgs := e.mb.Got()[4:]
	var to []string
	for _, m := range msgs {
		h, text := smtptest.Text(t, m.Data)
		to = append(to, h.Get("To"))
		link := linkRE.FindStringSubmatch(text)
		if !strings.HasPrefix(h.Get("Subject"), "Reminder: ") || !strings.Contains(text, "This is a reminder") || link == nil {
			t.Errorf("reminder to %s: %s\n%s", h.Get("To"), h.Get("Subject"), text)
			continue
		}
		if h.Get("To") == "<u1@contoso.example>" && !slices.Contains(m.To, "boss@contoso.example") {
			t.Errorf("u1's reminder does not go to the manager: %v", m.To)
		}
		if h.Get("To") == "<u3@contoso.example>" {
			if _, kept, err := e.svc.Keep(ctx, link[1]); err != nil || kept[0].State != reclamation.MemberKept {
				t.Errorf("keep through the reminder's link: %+v %v", kept, err)
			}
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"<u1@contoso.example>", "<u3@contoso.example>", "<u4@contoso.example>"}) {
		t.Fatalf("reminders to %v, want u1, u3 and u4 (u2 kept the license)", to)
	}
	c := e.campaign("rm")
	ms := e.members("rm")
	if c.RemindersAt.IsZero() || ms["u1"].RemindedAt.IsZero() || !ms["u2"].RemindedAt.IsZero() {
		t.Fatalf("recorded: campaign %v, u1 %v, u2 %v", c.RemindersAt, ms["u1"].RemindedAt, ms["u2"].RemindedAt)
	}
	entries, err := e.st.QueryAudit(ctx, audit.Query{TenantID: "contoso", Activity: reclamation.ActivityRemind})
	if err != nil || len(entries) != 1 || !strings.Contains(entries[0].Detail, `"reminders":3`) {
		t.Fatalf("audit: %+v %v", entries, err)
	}
}

// lostRecordSendsNothingAgain: the record lost after queueing (a crash):
// the next step queues the same job ids again, which sends nothing.
func lostRecordSendsNothingAgain(t *testing.T, e *env) {
	e.do(func(tx *tenant.Tx) error {
		c, err := reclamation.Get(tx.State, "rm")
		if err != nil {
			return err
		}
		c.RemindersAt = time.Time{}
		return tx.Put(reclamation.KindCampaign, c.ID, c)
	})
	e.step()
	if n := len(e.mb.Got()); n != 7 {
		t.Fatalf("%d messages after a lost record, want 7", n)
	}
	if e.campaign("rm").RemindersAt.IsZero() {
		t.Fatal("the step did not record the reminders again")
	}
}

// restartSendsNothingAgain: a restart sends nothing again; the end removes
// u1's and u4's licenses.
func restartSendsNothingAgain(t *testing.T, e *env) {
	ctx := context.Background()
	if err := e.rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rt, err := tenant.Open(ctx, e.st, catalog.Default(), tenantopts.With(tenant.Options{Logger: quiet(), Now: e.clk.Now}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	e.alerts.Attach(rt)
	e.svc = reclamation.New(reclamation.Config{Alerts: e.alerts, Key: testKey, BaseURL: "https://allot.test", Now: e.clk.Now, Logger: quiet()})
	e.svc.Attach(rt)
	e.rt = rt
	e.tn, _ = rt.Get("contoso")
	e.step()
	e.clk.Add(3 * 24 * time.Hour)
	e.step()
	if n := len(e.mb.Got()); n != 7 {
		t.Fatalf("%d messages after the restart, want 7", n)
	}
	if c := e.campaign("rm"); c.Status != reclamation.Completed || c.Counts.Removed != 2 || c.Counts.Kept != 2 {
		t.Fatalf("completed: %+v", c.Counts)
	}
}

// lateCampaignSendsNoReminder: a campaign whose first step after the
// notices comes after its end sends no reminder.
func lateCampaignSendsNoReminder(t *testing.T, e *env) {
	ctx := context.Background()
	one := 1
	if _, _, err := e.svc.Create(ctx, e.tn, reclamation.Spec{ID: "late", GraceDays: 2, ReminderDaysBefore: &one, SKUs: []string{"ENTERPRISEPACK"}}, "admin A", "tokA"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartCampaign(ctx, e.tn, "late", "admin A"); err != nil {
		t.Fatal(err)
	}
	e.step()
	sent := len(e.mb.Got())
	e.clk.Add(3 * 24 * time.Hour)
	e.step()
	if c := e.campaign("late"); c.Status != reclamation.Completed || !c.RemindersAt.IsZero() || len(e.mb.Got()) != sent {
		t.Fatalf("late: %s, reminders %v, %d messages after the end", c.Status, c.RemindersAt, len(e.mb.Got())-sent)
	}
}
