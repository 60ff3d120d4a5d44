package memtune

import (
	"runtime"
	"runtime/metrics"
)

// A tenant's load from the store decodes every stored record. For a large
// tenant most of what it allocates stays live (the decoded records); the
// rest is garbage once a part is decoded: the store's copies of the
// snapshot's parts, the lists the records pass through (~0.7 GB at a
// million users; the decompressed parts, another 0.7 GB, a tenant's load
// reuses: store.LoadOptions.Transient). With the percentage collector the
// heap doubles from nothing to gigabytes, cycle after cycle marks the
// records decoded so far, and the decoding pays the write barrier and mark
// assists meanwhile: at a million
// users (bench open) the process had used 6.1–6.6 CPU-s when the records
// were decoded, and 4.1–4.3 with the collector paused. So a large load
// pauses the collector while it decodes (LoadWork) and fills its engine
// with the decoded records, and its End collects once, still paused
// (pauseGCWith: no mark assists), before the percentage comes back: that
// collection frees the decoding's garbage and what the engine took over,
// and the read models built next reuse the memory. Ending the pause without that collection made the next
// cycle start at once with the goal far below the heap, and filling the
// engine meanwhile paid the assists (it took twice as long); a bridge as
// after a recompute instead kept the garbage to the load's end (~0.75 GB
// more at the peak).
//
// The pause is bounded by the heap, not by a time: a load whose heap
// passes LoadBound of the heap at its start ends its pause early (Check),
// and the soft memory limit is the same bound in case a check comes late.

// LoadPause is the collector's pause of one load (nil: none).
type LoadPause struct {
	resume func()
	bound  uint64
	// collectAt is the heap at which Check collects within the pause
	// (LoadStep above the live heap of the last collection).
	collectAt uint64
}

// LoadStep is how far a paused load's heap grows between the collections
// Check runs within the pause. The decoding's garbage is the store's
// copies of the snapshot's parts and the lists its records pass through
// (see above), each dead once its records are decoded; a collection of
// a heap of decoded records is cheap (~0.25 s at 2.8 GB on two cores,
// most of it on the idle core), and
// the parts read after it reuse the memory it frees instead of memory
// touched for the first time, which a VM charges for (docs/BENCHMARKS.md,
// session 15).
const LoadStep = 1 << 30

// LoadBound is how far a load may grow the heap while its pause lasts:
// to four times the heap at its start, and at least by LoadGrowth.
func LoadBound(heap uint64) uint64 { return max(4*heap, heap+LoadGrowth) }

// LoadGrowth is the least a load may grow the heap while paused (a
// million-user tenant's decoding allocates ~3 GB).
const LoadGrowth = 4 << 30

// LoadWork pauses the collector for the decoding of a large tenant's
// stored records (call it once the load is known to be large: at least
// PauseMinUsers records read). It returns nil — no pause — unless the
// policy has PauseGC. Call End when the records are decoded, and Check
// now and then meanwhile.
func LoadWork() *LoadPause {
	if !Current().PauseGC {
		return nil
	}
	heap := heapObjects()
	p := &LoadPause{bound: LoadBound(heap), collectAt: heap + LoadStep}
	resume := pauseGCWith(func(uint64) int64 { return int64(min(p.bound, 1<<62)) }, true)
	bulkStarted() // the heap grows from nothing: populate ahead of it (prefault.go)
	p.resume = func() { resume(); bulkEnded() }
	return p
}

// Check ends the pause when the heap has passed the load's bound.
func (p *LoadPause) Check() {
	if p == nil || p.resume == nil {
		return
	}
	switch heap := heapObjects(); {
	case heap >= p.bound:
		p.End()
	case heap >= p.collectAt:
		runtime.GC() // the percentage collector stays off: no assists
		p.collectAt = heapObjects() + LoadStep
	}
}

// End ends the pause (again: nothing). The last pause to end collects
// first (runtime.GC, on the caller's goroutine).
func (p *LoadPause) End() {
	if p == nil || p.resume == nil {
		return
	}
	p.resume()
	p.resume = nil
}

// heapObjects is the heap's bytes in objects, live or not yet collected.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
