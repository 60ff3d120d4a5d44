package memtune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// A full recompute of a large tenant allocates hundreds of megabytes that
// all stay live (license records and states). Garbage collection during it
// frees almost nothing, yet a mark phase over the whole heap costs a core
// for seconds and makes every pointer write of the recompute pay the write
// barrier. So a large recompute pauses the percentage-based collector and
// bounds the heap with a soft memory limit instead: three times the heap at
// the start plus 512 MiB (a recompute from sources alone roughly doubles
// it), or the limit already set if lower. The pause is counted, so
// concurrent recomputes (several tenants loading) restore the settings only
// when the last one ends.
//
// Resuming must not simply restore GOGC. The collector's goal is computed
// from the heap marked live by the last cycle, which ran before the
// recompute; the heap is now far above that goal, so the next cycle would
// start at once with no headroom and make every allocating goroutine do
// most of the marking itself (mark assists: tens of microseconds added to
// ordinary commands, for over a second). Instead the resume sets a
// temporary percentage whose goal is twice the current heap — what GOGC=100
// gives once a cycle has marked it — and restores the saved percentage when
// that next cycle has completed.

var gcPause struct {
	sync.Mutex
	n            int
	savedPercent int   // the percentage in force before the first pause
	savedLimit   int64 // the memory limit in force before the first pause or bound
	pauseLimit   int64 // while n > 0: the pauses' limit
	// bounds counts the bounds in force (BoundHeap), whose limit is
	// boundLimit: the largest of theirs.
	bounds     int
	boundLimit int64
	// bridging: a temporary percentage set by a resume is in force; gen
	// tells that bridge apart from later pauses and resumes.
	bridging bool
	gen      uint64
}

// pauseGC pauses the collector until the returned function is called.
func pauseGC() (resume func()) {
	return pauseGCWith(func(heap uint64) int64 { return int64(3*heap) + 512<<20 }, false)
}

// pauseGCWith is pauseGC with the memory limit limitOf(heap in use) when
// it is the first pause. With collect, the resume of the last pause runs
// a collection first (runtime.GC), while the percentage collector is
// still off: the goal is the memory limit, so goroutines allocating
// meanwhile do not assist. The heap is then the live heap, and the saved
// percentage comes back without a bridge (for work that leaves much
// garbage behind).
func pauseGCWith(limitOf func(heap uint64) int64, collect bool) (resume func()) {
	gcPause.Lock()
	defer gcPause.Unlock()
	if gcPause.n == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if gcPause.bounds == 0 {
			gcPause.savedLimit = debug.SetMemoryLimit(-1)
		}
		gcPause.pauseLimit = limitOf(ms.HeapAlloc)
		percent := debug.SetGCPercent(-1)
		if !gcPause.bridging { // a bridge's percentage is not the setting to restore
			gcPause.savedPercent = percent
		}
		gcPause.bridging = false
		gcPause.gen++
	}
	gcPause.n++
	if gcPause.n == 1 {
		applyLimit()
	}
	return func() {
		gcPause.Lock()
		if collect && gcPause.n == 1 {
			gcPause.Unlock() // others may pause and resume meanwhile
			runtime.GC()
			gcPause.Lock()
		}
		defer gcPause.Unlock()
		gcPause.n--
		if gcPause.n == 0 {
			applyLimit()
			resumeGC() // after a collection: the saved percentage
		}
	}
}

// applyLimit sets the memory limit in force (gcPause held): the process's
// own, or lower, a pause's and a bound's while they last.
func applyLimit() {
	limit := gcPause.savedLimit
	if gcPause.n > 0 {
		limit = min(limit, gcPause.pauseLimit)
	}
	if gcPause.bounds > 0 {
		limit = min(limit, gcPause.boundLimit)
	}
	debug.SetMemoryLimit(limit)
}

// resumeGC restores the collector after the last pause (gcPause held): the
// saved percentage, or a bridge to it when the heap has outgrown the goal
// that percentage would give (see above).
func resumeGC() {
	saved := gcPause.savedPercent
	bridge := bridgePercent(saved)
	if bridge <= saved {
		debug.SetGCPercent(saved)
		return
	}
	debug.SetGCPercent(bridge)
	gcPause.bridging = true
	gcPause.gen++
	armAfterNextCycle(gcPause.gen)
}

// bridgePercent is the percentage whose goal, computed from the heap the
// last cycle marked live, equals what percent gives over the current heap.
// It returns percent itself when the collector is off (percent < 0) or the
// heap has not outgrown that goal.
func bridgePercent(percent int) int {
	if percent < 0 {
		return percent
	}
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return percent
	}
	live, heap := float64(s[0].Value.Uint64()), float64(s[1].Value.Uint64())
	if live <= 0 || heap <= live {
		return percent
	}
	goal := heap * (1 + float64(percent)/100)
	return int((goal/live - 1) * 100)
}

// gcSentinel is allocated unreachable; its finalizer runs once a collection
// cycle has completed after it was made. It has a pointer so that it is
// not batched by the tiny allocator (whose objects may never be finalized).
type gcSentinel struct {
	gen uint64
	_   *byte
}

// armAfterNextCycle ends the bridge of generation gen after the next
// completed collection, unless a pause or another resume came since.
func armAfterNextCycle(gen uint64) {
	s := &gcSentinel{gen: gen}
	runtime.SetFinalizer(s, func(s *gcSentinel) {
		gcPause.Lock()
		defer gcPause.Unlock()
		if gcPause.bridging && gcPause.gen == s.gen && gcPause.n == 0 {
			debug.SetGCPercent(gcPause.savedPercent)
			gcPause.bridging = false
		}
	})
}
