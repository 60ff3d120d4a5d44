package usage

import (
	"math/rand"
	"testing"
)

func TestDaySetCountsActiveDaysInAWindowEndingOnAnyDay(t *testing.T) {
	var s DaySet
	d0 := day("2024-06-30")
	for _, back := range []int{0, 1, 1, 5, 29, 30, 60, 89, 90, 120} {
		s.Add(d0 - Day(back))
	}
	for _, tc := range []struct {
		asOf    Day
		n, want int
	}{
		{d0, 30, 4},      // 0, 1, 5, 29
		{d0, 90, 7},      // … 30, 60, 89
		{d0, 1, 1},       // today only
		{d0 - 1, 30, 4},  // 1, 5, 29, 30
		{d0 + 10, 30, 3}, // days after the last are inactive: 0, 1, 5
		{d0 + 40, 30, 0},
		{d0 - 30, 90, 4}, // 30, 60, 89, 90 (exact: the window is in the span)
		{d0, 200, 9},
	} {
		if got := s.Count(tc.asOf, tc.n); got != tc.want {
			t.Errorf("Count(%s, %d) = %d, want %d", tc.asOf, tc.n, got, tc.want)
		}
	}
	if f, _ := s.First(); f != d0-120 {
		t.Fatalf("first %s", f)
	}
	// A day older than the span is forgotten; adding is idempotent.
	before := s
	s.Add(d0 - 128)
	s.Add(d0 - 5)
	if s != before {
		t.Fatalf("changed: %+v", s)
	}
	// A later day shifts the window; older days fall off.
	s.Add(d0 + 100)
	if got := s.Count(d0+100, 128); got != 4 { // d0+100, d0, d0-1, d0-5; d0-29 and older fell off
		t.Fatalf("after shift: %d days", got)
	}
	if !s.Has(d0+100) || !s.Has(d0-5) || s.Has(d0-29) {
		t.Fatalf("after shift: %+v", s)
	}
}

// TestDaySetMatchesANaiveSet checks Add, Union and Count against a map of
// days, in the span where the set is exact.
func TestDaySetMatchesANaiveSet(t *testing.T) {
	rnd := rand.New(rand.NewSource(3))
	for round := 0; round < 300; round++ {
		var s, u DaySet
		days := map[Day]bool{}
		base := Day(19000 + rnd.Intn(1000))
		last := Day(-1 << 30)
		for i := 0; i < rnd.Intn(60); i++ {
			d := base + Day(rnd.Intn(200))
			if i%2 == 0 {
				s.Add(d)
			} else {
				u.Add(d)
			}
			days[d] = true
			last = max(last, d)
		}
		s.Union(u)
		for _, asOf := range []Day{last, last - 10, last - 38, last + 5} {
			for _, n := range []int{1, 7, 30, 90} {
				if int(last-asOf)+n > DaySetSpan { // outside the exact range
					continue
				}
				want := 0
				for d := range days {
					if d <= asOf && d > asOf-Day(n) {
						want++
					}
				}
				if got := s.Count(asOf, n); got != want {
					t.Fatalf("round %d: Count(%d, %d) = %d, want %d", round, asOf-base, n, got, want)
				}
			}
		}
	}
}

func TestStampRange(t *testing.T) {
	if _, ok := toStamp(stampEpoch); ok {
		t.Fatal("before 2000 accepted")
	}
	s, ok := toStamp(946684800) // 2000-01-01T00:00:00Z
	if !ok || s.Time().Format("2006-01-02T15:04:05Z") != "2000-01-01T00:00:00Z" || dayStamp(s.day()) != s {
		t.Fatalf("%v %v", s, ok)
	}
	if _, ok := toStamp(1 << 33); ok {
		t.Fatal("after 2136 accepted")
	}
}
