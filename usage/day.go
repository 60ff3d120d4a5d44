package usage

import (
	"math/bits"
	"time"
)

// Day is a UTC calendar day: the number of days since 1970-01-01.
type Day int32

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day { return Day(floorDiv(t.Unix(), 86400)) }

// Time returns the start of the day (00:00 UTC).
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// DaySetSpan is how many days a DaySet remembers, ending at its last day.
const DaySetSpan = 128

// A DaySet is the set of days on which something happened, kept as a
// 128-bit bitmap anchored at the latest day added: bit i is day Last-i.
// Days older than Last-127 are forgotten. Adding days is idempotent and
// order-independent as long as they fall in the span.
//
// Count(d, n) — active days in the n days ending on d — is exact while the
// window lies inside the span (d-n+1 ≥ Last-127): for n = 90 that is every
// d ≥ Last-38, for n = 30 every d ≥ Last-98; days after Last are known to be
// inactive. Further back, the forgotten days count as inactive, so the
// result is a lower bound.
type DaySet struct {
	Last   Day    // the latest day in the set; meaningless when empty
	Lo, Hi uint64 // bit i (Lo: 0–63, Hi: 64–127) = day Last-i
}

// Empty reports whether no day was ever added.
func (s DaySet) Empty() bool { return s.Lo == 0 && s.Hi == 0 }

// Add puts day d in the set. A day more than 127 days before the latest one
// is ignored.
func (s *DaySet) Add(d Day) {
	if s.Empty() {
		s.Last, s.Lo, s.Hi = d, 1, 0
		return
	}
	if d > s.Last {
		s.shift(int64(d) - int64(s.Last))
		s.Last = d
	}
	s.set(int64(s.Last) - int64(d))
}

// Has reports whether day d is in the set.
func (s DaySet) Has(d Day) bool {
	i := int64(s.Last) - int64(d)
	if s.Empty() || i < 0 || i >= DaySetSpan {
		return false
	}
	if i < 64 {
		return s.Lo>>i&1 == 1
	}
	return s.Hi>>(i-64)&1 == 1
}

// Union adds every day of o to s (as far as s's span reaches).
func (s *DaySet) Union(o DaySet) {
	if o.Empty() {
		return
	}
	if s.Empty() {
		*s = o
		return
	}
	if o.Last > s.Last {
		s.shift(int64(o.Last) - int64(s.Last))
		s.Last = o.Last
	}
	o.shift(int64(s.Last) - int64(o.Last)) // o's bit i becomes bit i+k
	s.Lo |= o.Lo
	s.Hi |= o.Hi
}

// Count returns how many days of the set fall in the n days ending on day d
// (d-n+1 … d). See the type's comment for when it is exact.
func (s DaySet) Count(d Day, n int) int {
	if s.Empty() || n <= 0 {
		return 0
	}
	// Bits of days ≤ d: drop the first Last-d bits (days after d).
	lo, hi := s.Lo, s.Hi
	if d < s.Last {
		lo, hi = shiftRight(lo, hi, int64(s.Last)-int64(d))
	} else if d > s.Last {
		// Days after Last are inactive: the window shrinks by d-Last.
		gap := int64(d) - int64(s.Last)
		if gap >= int64(n) {
			return 0
		}
		n -= int(gap)
	}
	// Keep the first n bits.
	if n < 64 {
		return bits.OnesCount64(lo & (1<<uint(n) - 1))
	}
	if n < 128 {
		return bits.OnesCount64(lo) + bits.OnesCount64(hi&(1<<uint(n-64)-1))
	}
	return bits.OnesCount64(lo) + bits.OnesCount64(hi)
}

// First returns the earliest day the set remembers; false when empty.
func (s DaySet) First() (Day, bool) {
	if s.Empty() {
		return 0, false
	}
	if s.Hi != 0 {
		return s.Last - Day(64+63-bits.LeadingZeros64(s.Hi)), true
	}
	return s.Last - Day(63-bits.LeadingZeros64(s.Lo)), true
}

// shift moves the bitmap k days forward (older days fall off the end).
func (s *DaySet) shift(k int64) {
	switch {
	case k >= 128:
		s.Lo, s.Hi = 0, 0
	case k >= 64:
		s.Hi, s.Lo = s.Lo<<uint(k-64), 0
	case k > 0:
		s.Hi = s.Hi<<uint(k) | s.Lo>>uint(64-k)
		s.Lo <<= uint(k)
	}
}

func (s *DaySet) set(i int64) {
	switch {
	case i < 0 || i >= DaySetSpan:
	case i < 64:
		s.Lo |= 1 << uint(i)
	default:
		s.Hi |= 1 << uint(i-64)
	}
}

// shiftRight drops the first k bits (the k latest days).
func shiftRight(lo, hi uint64, k int64) (uint64, uint64) {
	switch {
	case k <= 0:
		return lo, hi
	case k >= 128:
		return 0, 0
	case k >= 64:
		return hi >> uint(k-64), 0
	default:
		return lo>>uint(k) | hi<<uint(64-k), hi >> uint(k)
	}
}

// stamp is a compact UTC instant at one-second resolution: 1 is
// 2000-01-01T00:00:00Z and 0 means "none". It covers 2000 to 2136.
type stamp uint32

const stampEpoch = 946684800 - 1 // Unix seconds of stamp 0

// toStamp converts Unix seconds; ok is false outside the covered range.
func toStamp(unix int64) (stamp, bool) {
	s := unix - stampEpoch
	if s < 1 || s > 1<<32-1 {
		return 0, false
	}
	return stamp(s), true
}

func stampOf(t time.Time) (stamp, bool) { return toStamp(t.Unix()) }

func (s stamp) unix() int64 { return int64(s) + stampEpoch }

// Time returns the instant; the zero Time for none.
func (s stamp) Time() time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s.unix(), 0).UTC()
}

func (s stamp) day() Day { return Day(floorDiv(s.unix(), 86400)) }

// dayStamp is the stamp of 00:00 UTC of day d.
func dayStamp(d Day) stamp {
	s, _ := toStamp(int64(d) * 86400)
	return s
}
