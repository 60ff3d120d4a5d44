package memtune

import "testing"

// The heap is trimmed only when the server was quiet since the last look
// (no collection ran), no bulk work holds the collector, and what the heap
// holds beyond the last collection's live heap is at least TrimMin and
// TrimShare of it.
func TestShouldTrim(t *testing.T) {
	const gib = 1 << 30
	quiet := heapStats{objects: 2 * gib, live: 1 * gib, cycles: 7}
	for _, c := range []struct {
		name       string
		prev, now  heapStats
		busy, want bool
	}{
		{"a quiet burst of a gigabyte over a gigabyte live", heapStats{cycles: 7}, quiet, false, true},
		{"a collection ran since the last look", heapStats{cycles: 6}, quiet, false, false},
		{"bulk work holds the collector", heapStats{cycles: 7}, quiet, true, false},
		{"less than TrimShare of the live heap", heapStats{cycles: 7}, heapStats{objects: 4*gib + gib/8, live: 4 * gib, cycles: 7}, false, false},
		{"TrimShare of a large live heap", heapStats{cycles: 7}, heapStats{objects: 5 * gib, live: 4 * gib, cycles: 7}, false, true},
		{"less than TrimMin over a small live heap", heapStats{cycles: 7}, heapStats{objects: 300 << 20, live: 100 << 20, cycles: 7}, false, false},
		{"TrimMin over a small live heap", heapStats{cycles: 7}, heapStats{objects: 400 << 20, live: 100 << 20, cycles: 7}, false, true},
		{"nothing beyond the live heap", heapStats{cycles: 7}, heapStats{objects: gib, live: gib, cycles: 7}, false, false},
	} {
		if got := shouldTrim(c.prev, c.now, c.busy); got != c.want {
			t.Errorf("%s: trim %v, want %v", c.name, got, c.want)
		}
	}
}
