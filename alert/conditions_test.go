package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"allot/alert"
	"allot/licensing"
	"allot/tenant"
)

// bodies is a receiver that keeps the JSON bodies it is sent (a Slack or
// Teams incoming webhook: no signature to check).
type bodies struct {
	mu  sync.Mutex
	got []map[string]any
	srv *httptest.Server
}

func newBodies(t *testing.T) *bodies {
	b := &bodies{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.got = append(b.got, m)
		b.mu.Unlock()
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *bodies) all() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// Slack and Microsoft Teams endpoints receive what their incoming
// webhooks accept: Slack a "text" in mrkdwn (the rule's name in bold, the
// summary, its characters <, >, & escaped), Teams a message with one
// Adaptive Card 1.4 attachment (title, summary, facts).
func TestSlackAndTeamsPayloads(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	slack, teams := newBodies(t), newBodies(t)
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "slack", Type: alert.Slack, URL: slack.srv.URL}); err != nil {
			return err
		}
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "teams", Type: alert.Teams, URL: teams.srv.URL}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "seats", DisplayName: "Seats <E3> & co", Condition: alert.FreeSeatsLow, Threshold: 1,
			Endpoints: []string{"slack", "teams"}})
	})
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1"}) })
	e.settle()
	s, m := slack.all(), teams.all()
	if len(s) != 1 || len(m) != 1 {
		t.Fatalf("slack got %d, teams %d messages; want one each", len(s), len(m))
	}
	text, _ := s[0]["text"].(string)
	if len(s[0]) != 1 || !strings.HasPrefix(text, "*") || !strings.Contains(text, "Seats &lt;E3&gt; &amp; co") || !strings.Contains(text, "free") {
		t.Errorf("slack body %v", s[0])
	}
	atts, _ := m[0]["attachments"].([]any)
	if m[0]["type"] != "message" || len(atts) != 1 {
		t.Fatalf("teams body %v", m[0])
	}
	att := atts[0].(map[string]any)
	card, _ := att["content"].(map[string]any)
	if att["contentType"] != "application/vnd.microsoft.card.adaptive" || card["type"] != "AdaptiveCard" || card["version"] != "1.4" {
		t.Fatalf("teams attachment %v", att)
	}
	blocks, _ := card["body"].([]any)
	var facts bool
	for _, b := range blocks {
		if b.(map[string]any)["type"] == "FactSet" {
			facts = true
		}
	}
	if len(blocks) < 2 || !strings.Contains(blocks[0].(map[string]any)["text"].(string), "Seats <E3> & co") || !facts {
		t.Errorf("card body %v", blocks)
	}
}

// Repeats and the quiet period: an open alert is sent again every
// repeatMinutes, at most maxRepeats times; once its condition clears it
// resolves only after quietMinutes without the condition, so a condition
// that comes back within them (a flap) sends nothing more.
func TestRepeatsAndQuietPeriod(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	rcv := newReceiver(t, "k")
	putRuleAndEndpoint(e, rcv.srv.URL, "k", alert.Rule{ID: "errors", Condition: alert.LicenseErrors,
		QuietMinutes: 30, RepeatMinutes: 10, MaxRepeats: 2})
	step := func(d time.Duration) []string {
		t.Helper()
		e.clk.Add(d)
		e.settle()
		return types(rcv.got())
	}
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) })
	if got := step(0); !slices.Equal(got, []string{alert.Opened}) {
		t.Fatalf("on the error: %v", got)
	}
	if got := step(9 * time.Minute); len(got) != 1 {
		t.Fatalf("before repeatMinutes: %v", got)
	}
	if got := step(time.Minute); !slices.Equal(got, []string{alert.Opened, alert.Repeated}) {
		t.Fatalf("after repeatMinutes: %v", got)
	}
	step(10 * time.Minute)
	if got := step(30 * time.Minute); !slices.Equal(got, []string{alert.Opened, alert.Repeated, alert.Repeated}) {
		t.Fatalf("maxRepeats 2: %v", got)
	}
	fix := func() error {
		return e.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: e.clk.Now()}, removeU2)
	}
	if err := fix(); err != nil {
		t.Fatal(err)
	}
	if got := step(0); len(got) != 3 {
		t.Fatalf("cleared, within the quiet period: %v", got)
	}
	// It comes back within the quiet period, and clears again.
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u2"}) })
	step(20 * time.Minute)
	if err := fix(); err != nil {
		t.Fatal(err)
	}
	step(0) // the clear is seen now
	if got := step(29 * time.Minute); len(got) != 3 {
		t.Fatalf("a flap within the quiet period: %v", got)
	}
	if got := step(time.Minute); !slices.Equal(got, []string{alert.Opened, alert.Repeated, alert.Repeated, alert.Resolved}) {
		t.Fatalf("quietMinutes after the last clear: %v", got)
	}
}

func removeU2(tx *tenant.Tx) error { return tx.Engine.RemoveMembers(tx.Op, "g1", []string{"u2"}) }

// waitingTooLong opens, by the timed check (no commit in between), once
// the oldest claim of the waiting room has waited more than the rule's
// hours, and resolves when nobody waits; allotmentFull opens when an
// allotment's seats are all held and resolves when one is freed.
func TestWaitingTooLongAndAllotmentFull(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	rcv := newReceiver(t, "k")
	putRuleAndEndpoint(e, rcv.srv.URL, "k", alert.Rule{ID: "waiting", Condition: alert.WaitingTooLong, SKUID: e.sku, Hours: 4})
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) }) // u2 waits
	e.settle()
	e.clk.Add(4*time.Hour - time.Minute)
	e.settle()
	if got := rcv.got(); len(got) != 0 {
		t.Fatalf("before 4 hours: %v", types(got))
	}
	e.clk.Add(2 * time.Minute)
	e.settle()
	got := rcv.got()
	if !slices.Equal(types(got), []string{alert.Opened}) || got[0].Subject != "sku/"+e.sku {
		t.Fatalf("after 4 hours: %+v", got)
	}
	e.do(removeU2)
	e.settle()
	if got := types(rcv.got()); !slices.Equal(got, []string{alert.Opened, alert.Resolved}) {
		t.Fatalf("nobody waits: %v", got)
	}

	e.do(func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e.sku, licensing.Units{Enabled: 5}); err != nil {
			return err
		}
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "pilot", DisplayName: "Pilot", SKUID: e.sku, AllottedUnits: 1, AssignableTo: "user,group"}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "full", Condition: alert.AllotmentFull, AllotmentID: "pilot", Endpoints: []string{"hook"}})
	})
	e.settle()
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AssignThroughAllotment(tx.Op, "pilot", "u2", nil) })
	e.settle()
	got = rcv.got()
	if len(got) != 3 || got[2].RuleID != "full" || got[2].Type != alert.Opened || got[2].Subject != "allotment/pilot" {
		t.Fatalf("the allotment's one seat held: %+v", got)
	}
	e.do(func(tx *tenant.Tx) error { return tx.Engine.DeleteUser(tx.Op, "u2") })
	e.settle()
	if got := rcv.got(); len(got) != 4 || got[3].RuleID != "full" || got[3].Type != alert.Resolved {
		t.Fatalf("its seat freed: %+v", got)
	}
}

// The rules evaluated when something is reported rather than committed:
// idleSeatsCost and underLicensedUsers with a computed position's figures
// (ReportPosition), operationFailed with an import's or a sync's outcome
// (ReportOperation) — a failure opens the source's alert, the next success
// of that source (not of another) resolves it.
func TestPositionAndOperationRules(t *testing.T) {
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{})
	rcv := newReceiver(t, "k")
	putRuleAndEndpoint(e, rcv.srv.URL, "k", alert.Rule{ID: "idle", Condition: alert.IdleSeatsCost, Threshold: 100})
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutRule(tx, alert.Rule{ID: "under", Condition: alert.UnderLicensed, Threshold: 2, Endpoints: []string{"hook"}}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "imports", Condition: alert.OperationFailed, Source: "import", Endpoints: []string{"hook"}})
	})
	ctx := context.Background()
	report := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		e.settle()
	}
	report(e.svc.ReportPosition(ctx, e.tn, 100, "EUR", 2)) // at the thresholds: nothing
	if got := rcv.got(); len(got) != 0 {
		t.Fatalf("at the thresholds: %+v", got)
	}
	report(e.svc.ReportPosition(ctx, e.tn, 250.5, "EUR", 3))
	got := rcv.got()
	rules := func(evs []alert.Event) []string {
		var out []string
		for _, ev := range evs {
			out = append(out, ev.RuleID+" "+ev.Type)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(rules(got), []string{"idle " + alert.Opened, "under " + alert.Opened}) {
		t.Fatalf("above both: %v", rules(got))
	}
	for _, ev := range got {
		if ev.RuleID == "idle" && !strings.Contains(ev.Summary, "250.50") {
			t.Errorf("idle summary %q", ev.Summary)
		}
	}
	report(e.svc.ReportPosition(ctx, e.tn, 10, "EUR", 0))
	if got := rules(rcv.got()[2:]); !slices.Equal(got, []string{"idle " + alert.Resolved, "under " + alert.Resolved}) {
		t.Fatalf("below both: %v", got)
	}

	report(e.svc.ReportOperation(ctx, e.tn, "sync", errors.New("graph said no"))) // not the rule's source
	if n := len(rcv.got()); n != 4 {
		t.Fatalf("a failed sync opened an import rule: %d events", n)
	}
	report(e.svc.ReportOperation(ctx, e.tn, "import", errors.New("line 7: bad usage location")))
	got = rcv.got()
	if len(got) != 5 || got[4].RuleID != "imports" || got[4].Type != alert.Opened || !strings.Contains(got[4].Summary, "line 7") {
		t.Fatalf("a failed import: %+v", got[4:])
	}
	report(e.svc.ReportOperation(ctx, e.tn, "sync", nil))
	if n := len(rcv.got()); n != 5 {
		t.Fatalf("a successful sync resolved the import's alert: %d events", n)
	}
	report(e.svc.ReportOperation(ctx, e.tn, "import", nil))
	if got := rcv.got(); len(got) != 6 || got[5].RuleID != "imports" || got[5].Type != alert.Resolved {
		t.Fatalf("a successful import: %+v", got[5:])
	}
}
