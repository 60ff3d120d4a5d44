package licensing

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// A full recompute of a large tenant allocates hundreds of megabytes that
// all stay live (license records and states). Garbage collection during it
// frees almost nothing, yet a mark phase over the whole heap costs a core
// for seconds and makes every pointer write of the recompute pay the write
// barrier. So a large recompute pauses the percentage-based collector and
// bounds the heap with a soft memory limit instead: three times the heap at
// the start plus 512 MiB (a recompute from sources alone roughly doubles
// it), or the limit already set if lower. The pause is
// counted, so concurrent recomputes (several tenants loading) restore the
// settings only when the last one ends.

// gcPauseMinUsers is the tenant size from which a recompute pauses the GC.
const gcPauseMinUsers = 50000

var gcPause struct {
	sync.Mutex
	n            int
	savedPercent int
	savedLimit   int64
}

// pauseGC pauses the collector until the returned function is called.
func pauseGC() (resume func()) {
	gcPause.Lock()
	defer gcPause.Unlock()
	if gcPause.n == 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		limit := int64(3*ms.HeapAlloc) + 512<<20
		gcPause.savedLimit = debug.SetMemoryLimit(-1)
		if gcPause.savedLimit < limit {
			limit = gcPause.savedLimit
		}
		debug.SetMemoryLimit(limit)
		gcPause.savedPercent = debug.SetGCPercent(-1)
	}
	gcPause.n++
	return func() {
		gcPause.Lock()
		defer gcPause.Unlock()
		gcPause.n--
		if gcPause.n == 0 {
			debug.SetGCPercent(gcPause.savedPercent)
			debug.SetMemoryLimit(gcPause.savedLimit)
		}
	}
}
