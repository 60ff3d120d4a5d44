package position_test

import (
	"reflect"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/position"
	"allot/synth"
	"allot/usage"
)

// EachFix gives the findings EachFinding gives, of the kinds asked for,
// in the same order, without their evidence; the same for a position
// read back (Findings as values).
func TestEachFixIsEachFindingWithoutEvidence(t *testing.T) {
	cat := catalog.Default()
	tn := synth.Generate(cat, synth.Config{Users: 2000, Seed: 7})
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := tn.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	e.Recompute(licensing.Op{Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	asOf := usage.DayOf(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC))
	p := position.Compute(position.Input{Engine: e, Usage: genUsage(e, asOf, 4), Prices: loadPrices(t), AsOf: asOf, Now: time.Unix(0, 0)})
	values := &position.Position{Findings: p.AllFindings()}
	brief := func(f position.Finding) position.Finding {
		f.Evidence, f.Basis, f.EvidenceFrom, f.EvidenceTo, f.OnLeave = nil, "", "", "", false
		return f
	}
	for _, kinds := range [][]string{nil, {position.OverAssigned}, {position.Idle, position.NeverActivated, position.LicenseErrors}} {
		var want []position.Finding
		p.EachFinding(func(f *position.Finding) bool {
			if len(kinds) == 0 || contains(kinds, f.Kind) {
				want = append(want, brief(*f))
			}
			return true
		})
		if len(want) < 50 {
			t.Fatalf("kinds %v: only %d findings", kinds, len(want))
		}
		for _, pos := range []*position.Position{p, values} {
			var got []position.Finding
			pos.EachFix(kinds, func(f *position.Finding) bool {
				if len(f.Evidence) != 0 || f.Basis != "" {
					t.Fatalf("kinds %v: evidence given: %+v", kinds, f)
				}
				got = append(got, *f)
				return true
			})
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("kinds %v: %d findings, want %d (first %+v, want %+v)", kinds, len(got), len(want), got[0], want[0])
			}
		}
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
