package connections_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"allot/alert"
	"allot/licensing"
	"allot/m365"
	"allot/position"
	"allot/reclamation"
	"allot/store"
	"allot/tenant"
)

// A reclamation campaign on a tenant connected to Microsoft 365 removes a
// license allot manages there: after the grace period the connection's
// plan holds the matching assignLicense removal and nothing else — not for
// the license Entra assigned itself to another member of the finding, nor
// for the users the campaign left alone — and apply carries it to the
// remote tenant.
func TestReclamationRemovalIsPlannedAndApplied(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	ann := w.ruser("ann@fabrikam.example")
	bob := w.ruser("bob@fabrikam.example")
	cyd := w.ruser("cyd@fabrikam.example")
	// Entra's own direct license: cyd's ENTERPRISEPACK.
	w.remote.Must(200, "POST", "/v1.0/users/"+cyd+"/assignLicense", w.radmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": o365E3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	conn := w.connect(true)
	w.sync(conn)
	// allot's own direct licenses: SPE_E3 for ann and bob, applied.
	for _, u := range []string{ann, bob} {
		w.local.Must(200, "POST", "/v1.0/users/"+u+"/assignLicense", w.ladmin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3, "disabledPlans": []string{}}}, "removeLicenses": []string{}})
	}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	plan := func() m365.PlanResult {
		t.Helper()
		var p m365.PlanResult
		w.local.Must(200, "GET", "/allot/v1/connections/"+conn+"/plan", w.ladmin, nil).Decode(t, &p)
		return p
	}
	if p := plan(); len(p.Calls) != 0 {
		t.Fatalf("a plan after apply: %+v", p)
	}
	// ann and cyd are disabled in Entra and still hold their seats.
	for _, u := range []string{ann, cyd} {
		w.remote.Must(204, "PATCH", "/v1.0/users/"+u, w.radmin, map[string]any{"accountEnabled": false})
	}
	w.sync(conn)

	// The campaign on disabled accounts holding licenses, with the
	// services' clock a day past the grace period when it ends.
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	as, _ := store.AlertsOf(w.local.Store)
	alerts := alert.New(alert.Config{Store: as, Now: now})
	alerts.Attach(w.local.RT)
	svc := reclamation.New(reclamation.Config{Alerts: alerts, Key: reclamation.LinkKey([]byte("0123456789abcdef0123456789abcdef")),
		BaseURL: "https://allot.test", Now: now})
	svc.Attach(w.local.RT)
	tn, ok := w.local.RT.Get(w.lid)
	if !ok {
		t.Fatal("no local tenant")
	}
	_, ms, err := svc.Create(ctx, tn, reclamation.Spec{ID: "disabled", DisplayName: "Disabled accounts", Kinds: []string{position.DisabledHoldingLicense}, GraceDays: 1}, "admin", "key-a")
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, m := range ms {
		states[m.UserID+"/"+strings.ToLower(m.SKUID)] = m.State
	}
	if len(states) != 2 || states[ann+"/"+e3] != reclamation.MemberPending || states[cyd+"/"+o365E3] != reclamation.MemberExcluded {
		t.Fatalf("members %v: want ann's SPE_E3 in the campaign and cyd's ENTERPRISEPACK (Entra's) excluded", states)
	}
	if _, err := svc.StartCampaign(ctx, tn, "disabled", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if p := plan(); len(p.Calls) != 0 {
		t.Fatalf("a plan during the grace period: %+v", p)
	}
	offset.Store(int64(2 * 24 * time.Hour))
	if err := svc.Step(ctx); err != nil {
		t.Fatal(err)
	}
	var c reclamation.Campaign
	tn.Read(func(s *tenant.State) { c, err = reclamation.Get(s, "disabled") })
	if err != nil || c.Status != reclamation.Completed || c.Counts.Removed != 1 {
		t.Fatalf("the campaign after the grace period: %+v %v", c, err)
	}

	// The plan: ann's SPE_E3 removed, nothing else.
	p := plan()
	if len(p.Calls) != 1 {
		t.Fatalf("plan after the campaign: %+v, want one call", p)
	}
	call := p.Calls[0]
	if call.UserID != ann || len(call.Add) != 0 || len(call.Remove) != 1 || !strings.EqualFold(call.Remove[0], e3) {
		t.Fatalf("plan call %+v, want ann's SPE_E3 removed", call)
	}
	w.local.Must(200, "POST", "/allot/v1/connections/"+conn+"/apply", w.ladmin, nil)
	if p := plan(); len(p.Calls) != 0 {
		t.Fatalf("a plan after the second apply: %+v", p)
	}
	remote := func(u, sku string) bool {
		var held bool
		rt, _ := w.remote.RT.Get(w.rid)
		rt.Read(func(s *tenant.State) {
			var l licensing.License
			l, held = s.Engine.License(u, sku)
			held = held && l.Usable()
		})
		return held
	}
	if remote(ann, e3) || !remote(bob, e3) || !remote(cyd, o365E3) {
		t.Fatalf("remote after apply: ann SPE_E3 %v (want false), bob SPE_E3 %v, cyd ENTERPRISEPACK %v (want true)",
			remote(ann, e3), remote(bob, e3), remote(cyd, o365E3))
	}
}
