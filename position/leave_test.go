package position_test

import (
	"testing"
	"time"

	"allot/licensing"
	"allot/position"
	"allot/tenant"
)

// A user on leave (the tenant's leave attribute set) with no sign-in for
// 60 days is idle but not a removal candidate: the finding keeps the seat,
// says why (directory evidence) and the seat stays required. Without the
// setting the same user's seat is removed. Every finding says what it
// rests on and the days its evidence covers.
func TestLeaveKeepsIdleSeatsAndFindingsSayTheirEvidenceRange(t *testing.T) {
	for _, marked := range []bool{true, false} {
		e := newEnv(t)
		e.units(grant, "SPE_E3=5")
		onLeave := func(u *licensing.User) { u.Attributes = map[string]string{"extensionattribute5": "Parental leave"} }
		e.user(grant, "lea", onLeave, "SPE_E3")
		e.user(grant, "ned", nil, "SPE_E3") // never uses it
		e.user(grant, "off", disabled, "SPE_E3")
		e.user(grant, "act", nil, "SPE_E3")
		e.signIn("lea", "2024-04-20T09:00:00Z") // 71 days before asOf, then away
		e.uses("act teamsChat 2024-06-25")
		if marked {
			e.do(asOf, func(tx *tenant.Tx) error {
				s := tx.Engine.Settings()
				s.LeaveAttribute = "extensionAttribute5"
				return tx.Engine.SetSettings(tx.Op, s)
			})
		}
		p := e.position()
		idle := findings(p, position.Idle)
		f, ok := idle["lea"]
		if !ok {
			t.Fatalf("marked=%v: lea is idle: %v", marked, keys(idle))
		}
		if marked {
			if !f.OnLeave || len(f.Fix.Remove) != 0 || f.Fix.MonthlyDelta != nil && *f.Fix.MonthlyDelta != 0 {
				t.Fatalf("on leave: the seat is kept: %+v", f)
			}
			dir := false
			for _, ev := range f.Evidence {
				dir = dir || ev.Source == position.SourceDirectory
			}
			if !dir {
				t.Fatalf("no directory evidence: %+v", f.Evidence)
			}
			if r := row(t, p, "SPE_E3"); r.Required < 2 { // act's and lea's
				t.Fatalf("lea's kept seat is required: %+v", r)
			}
		} else if f.OnLeave || len(f.Fix.Remove) != 1 {
			t.Fatalf("not on leave: the seat goes: %+v", f)
		}
		// lea's evidence covers the long idle window (no use in 90 days? she
		// signed in 71 days ago: the 30-day window).
		if f.Basis != position.BasisUsage || f.EvidenceFrom != "2024-06-01" || f.EvidenceTo != "2024-06-30" {
			t.Fatalf("idle range: %s %s–%s", f.Basis, f.EvidenceFrom, f.EvidenceTo)
		}
		n := findings(p, position.NeverActivated)["ned"]
		if n.Basis != position.BasisGrant || n.EvidenceFrom != grant.Format(time.DateOnly) || n.EvidenceTo != "2024-06-30" || n.Evidence[0].Last != nil {
			t.Fatalf("neverActivated range: %+v", n)
		}
		d := findings(p, position.DisabledHoldingLicense)["off"]
		if d.Basis != position.BasisLicense || d.EvidenceFrom != "2024-06-30" || d.EvidenceTo != "2024-06-30" {
			t.Fatalf("disabled range: %+v", d)
		}
		for _, f := range p.AllFindings() {
			if f.Basis == "" || f.EvidenceFrom == "" || f.EvidenceTo == "" {
				t.Fatalf("a finding without its basis or range: %+v", f)
			}
		}
	}
}
