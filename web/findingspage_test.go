package web

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"allot/internal/readmodeltest"
	"allot/synth"
	"allot/tenant"
)

// TestFindingsPagesFromCacheEqualThoseWalked: every page of every kind
// (and of all kinds) is the same whether it comes from the rows kept at
// computation or from a walk of the position's findings, and the pages
// together list each kind's findings once.
func TestFindingsPagesFromCacheEqualThoseWalked(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, _ := readmodeltest.Synthetic(t, synth.Config{Users: 3000, Groups: 30, SKUs: 20, Seed: 4}, now)
	defer func(n int) { findingsCachedRows = n }(findingsCachedRows)
	findingsCachedRows = 30 // less than a page: cached pages, a partly cached one, walked ones
	cp, err := computePosition(func() (*tenant.State, error) { return s, nil }, now)
	if err != nil {
		t.Fatal(err)
	}
	walked := *cp
	walked.rows = nil
	kinds := []string{""}
	big := false
	for _, k := range cp.kinds {
		kinds = append(kinds, k.Kind)
		big = big || k.Count > findingsCachedRows
	}
	if !big || cp.total != cp.p.FindingCount() {
		t.Fatalf("%d findings by kind %v: the test needs a kind with more than %d", cp.total, cp.kinds, findingsCachedRows)
	}
	for _, kind := range kinds {
		n := 0
		for offset := 0; ; offset += findingsPageSize {
			r := httptest.NewRequest("GET", "/admin/findings?kind="+kind+"&offset="+strconv.Itoa(offset), nil)
			got := findingsPageData(r, positionState{cur: cp})
			want := findingsPageData(r, positionState{cur: &walked})
			if len(got.Rows) != len(want.Rows) || got.Total != want.Total || got.Pager != want.Pager {
				t.Fatalf("kind %q offset %d: %d rows of %d, walked %d of %d", kind, offset, len(got.Rows), got.Total, len(want.Rows), want.Total)
			}
			for i := range got.Rows {
				if got.Rows[i] != want.Rows[i] {
					t.Fatalf("kind %q offset %d row %d: %+v, walked %+v", kind, offset, i, got.Rows[i], want.Rows[i])
				}
				if kind != "" && got.Rows[i].Kind != kind {
					t.Fatalf("kind %q offset %d row %d is a %s", kind, offset, i, got.Rows[i].Kind)
				}
			}
			n += len(got.Rows)
			if got.Pager.Next == "" {
				break
			}
		}
		if n != countOf(cp, kind) {
			t.Fatalf("kind %q: the pages list %d findings, want %d", kind, n, countOf(cp, kind))
		}
	}
}

// countOf is the number of findings of a kind ("": all).
func countOf(cp *computedPosition, kind string) int {
	if kind == "" {
		return cp.total
	}
	for _, k := range cp.kinds {
		if k.Kind == kind {
			return k.Count
		}
	}
	return 0
}
