package position

import (
	"reflect"
	"testing"
	"time"
)

func TestFindingReferencesSurviveTheirPacking(t *testing.T) {
	d := -21.5
	refs := []FindingRef{
		{ID: "8000000000000001", Kind: OverAssigned, UserID: "u1", UserPrincipalName: "a\tb@c", SKUPartNumber: "SPE_E5", MonthlyDelta: &d},
		{ID: "8000000000000002", Kind: SeatsRunningOut, SKUPartNumber: "SPE_E3"},
	}
	got, err := DecodeFindings(EncodeFindings(refs))
	if err != nil {
		t.Fatal(err)
	}
	refs[0].UserPrincipalName = "a b@c" // tabs cannot be kept
	if !reflect.DeepEqual(got, refs) {
		t.Fatalf("got %+v", got)
	}
	if _, err := DecodeFindings([]byte("not gzip")); err == nil {
		t.Fatal("garbage decoded")
	}
}

func TestCompareFlagsSeatsShortfallAndWaiting(t *testing.T) {
	p := 10.0
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	a := Snapshot{ID: "a", AsOf: "2024-06-01", TakenAt: at, SKUs: []SnapshotSKU{{SKUID: "x", SKUPartNumber: "X", Owned: 100, Assigned: 50, Required: 50, UnitPrice: &p}}}
	b := Snapshot{ID: "b", AsOf: "2024-06-08", TakenAt: at.AddDate(0, 0, 7), SKUs: []SnapshotSKU{{SKUID: "x", SKUPartNumber: "X", Owned: 100, Assigned: 60, Required: 120, Waiting: 3, UnitPrice: &p}}}
	d := Compare(a, nil, b, nil)
	kinds := map[string]bool{}
	for _, x := range d.Drift {
		kinds[x.Kind] = true
	}
	if !d.Drifted || kinds["seats"] || !kinds["shortfall"] || !kinds["waiting"] {
		t.Fatalf("drift %+v", d.Drift) // seats: required grew more than assigned, no seat drift
	}
	b.SKUs[0].Required = 52
	if d := Compare(a, nil, b, nil); !containsKind(d.Drift, "seats") {
		t.Fatalf("drift %+v", d.Drift)
	}
	if got := d.SKUs[0].Assigned; got != (Count{50, 60, 10}) {
		t.Fatalf("assigned %+v", got)
	}
}

func containsKind(ds []Drift, k string) bool {
	for _, d := range ds {
		if d.Kind == k {
			return true
		}
	}
	return false
}
