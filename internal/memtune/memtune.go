// Package memtune is the process's memory policy for bulk work — a full
// recompute or a copy of a large tenant's engine: pause the percentage
// garbage collector while everything allocated stays live (gcpause.go);
// and for the decoding of a large tenant's stored records at its load
// (loadpause.go); a bulk import's commit: collect first and bound the heap
// (BoundHeap). It
// changes process-wide state (GOGC, the memory limit), so it belongs to the
// process, not to the engine that asks for it: it is off until the process
// turns it on (Enable, from `allot serve` and `allot bench`); a library
// user or a test gets none of it unless it asks.
//
// Measured (BenchmarkFullRecompute and BenchmarkClone, 100,000 users,
// -benchtime 3x, three interleaved rounds on a shared 2-core machine with
// a load average of 17–27, so single runs vary twofold):
//
//	policy             FullRecompute (median)          Clone (median)
//	none               2.59  1.18  1.31 s  (1.31 s)    0.91  0.93  2.03 s  (0.93 s)
//	PauseGC            1.15  0.83  0.58 s  (0.83 s)    0.70  0.75  0.77 s  (0.75 s)
//	huge pages (gone)  2.84  3.11  3.41 s  (3.11 s)    3.23  1.82  2.37 s  (2.37 s)
//
// The GC pause pays (1.6× on the recompute, 1.2× on the copy) and stays; madvise
// (MADV_HUGEPAGE) of fresh slabs did not (with the kernel's defrag=madvise
// a huge-page fault compacts memory synchronously) and was removed.
//
// Huge pages came back in another form (hugeheap.go): the heap's first
// part is advised once at start-up, which costs no fault of its own. On a
// VM where a 4 KiB fault costs ~10 µs it took the 1M-user import from
// 23.8-24.7 to 13.9-15.5 s and its restart from 10.4-10.5 to 4.3-4.8 s
// (docs/BENCHMARKS.md, session 14). On a host that backs a page when the
// kernel populates it, the same reserve is populated ahead of bulk work
// instead (prefault.go), in huge pages where a probe finds them cheap and
// in 4 KiB pages where the host has taken idle memory back and huge pages
// cost several times more (session 17); on a host that backs a 4 KiB
// page only when it is first written, the whole reserve stays advised for
// huge pages (session 18). A probe at start-up tells the two apart
// (hugeheap.go); ALLOT_HUGE_PAGES=on or prefault chooses instead.
package memtune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Policy is what the process allows.
type Policy struct {
	// PauseGC pauses the percentage GC during bulk work of at least
	// PauseMinUsers users, and while a load of at least PauseMinUsers
	// stored objects decodes them (LoadWork).
	PauseGC bool
	// CollectFirst runs a collection before a long computation's snapshot
	// when the heap is large (CollectBeforeSnapshot).
	CollectFirst bool
	// ReturnAfterLoad collects and returns the freed memory to the
	// operating system once a large tenant is loaded (AfterLoad).
	ReturnAfterLoad bool
	// BoundBulkCommit collects before a large bulk commit and bounds the
	// heap while it runs (BoundHeap).
	BoundBulkCommit bool
	// HeapReserve reserves the first part of the heap at Enable
	// (hugeheap.go): populated ahead of the heap while bulk work runs
	// (prefault.go), or, with ALLOT_HUGE_PAGES=on, advised for
	// transparent huge pages; ALLOT_HUGE_PAGES=off: none.
	HeapReserve bool
}

var policy atomic.Pointer[Policy]

// Enable sets the process's policy (call it once, at start-up).
// With HeapReserve, the first call reserves the heap's first part.
func Enable(p Policy) {
	policy.Store(&p)
	if p.HeapReserve {
		reserveHeapOnce()
	}
}

// Current is the policy in force (zero: nothing).
func Current() Policy {
	if p := policy.Load(); p != nil {
		return *p
	}
	return Policy{}
}

// PauseMinUsers is the tenant size from which bulk work pauses the GC.
const PauseMinUsers = 50000

// BulkWork is called at the start of bulk work over a tenant of users
// users; call the returned function when it ends. Under a policy with
// PauseGC it pauses the collector for tenants of PauseMinUsers or more.
func BulkWork(users int) (done func()) {
	if users < PauseMinUsers || !Current().PauseGC {
		return func() {}
	}
	return pauseGC()
}

// AfterLoad is called once a tenant of users users is loaded and served.
// Under a policy with ReturnAfterLoad, for tenants of PauseMinUsers or
// more, it runs a collection and returns the memory it frees to the
// operating system (debug.FreeOSMemory): a load allocates two to three
// times what stays live (decoded records on their way into the engine, the
// read models' sort buffers), and with the percentage collector's goal at
// twice the live heap the process would otherwise keep gigabytes of it
// resident after a restart. It blocks the caller for the collection (about
// a second per 3 GB live, on the load's goroutine: the tenant is already
// served).
//
// Its cost afterwards: the load's garbage is interleaved with what stays,
// so returning it splits the huge pages of the live heap (hugeheap.go),
// and a collection of that heap marks slower — at 1M users the next one
// took 4.3 s instead of 1.55 s (docs/BENCHMARKS.md, session 15). Less
// garbage during the load is the cure, not keeping the memory: RSS once
// loaded would stay at the load's peak.
func AfterLoad(users int) {
	if users < PauseMinUsers || !Current().ReturnAfterLoad {
		return
	}
	debug.FreeOSMemory()
}

// AfterComputation is called once a long computation over a copy of a
// tenant of users users has ended, in the background (the daily position
// snapshot): as AfterLoad does, under ReturnAfterLoad and from
// PauseMinUsers, it collects and returns the memory freed to the
// operating system. At a million users the daily snapshot's copy and
// working memory took the process from 1.6 to 3.6 GB resident, and with
// the percentage collector's goal at twice the live heap nothing was
// collected or returned afterwards (docs/BENCHMARKS.md, session 23). It
// blocks the caller for the collection.
func AfterComputation(users int) { AfterLoad(users) }

// CollectBeforeSnapshot runs a collection before a snapshot for a long
// computation (the admin center's findings) when the policy has
// CollectFirst and the heap (live and not yet collected) is at least
// CollectFirstAt. The previous computation leaves its snapshot and working
// memory (gigabytes at a million users) as garbage; a snapshot made while
// the collector marks that heap, or into memory not yet freed, took
// 1.8–2.8 s at 1M users instead of 0.8 s, and commands wait for the
// snapshot. The collection costs the background computation's goroutine
// ~1.7 s there, and nobody waits for it.
func CollectBeforeSnapshot() {
	if !Current().CollectFirst {
		return
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 && s[0].Value.Uint64() >= CollectFirstAt {
		runtime.GC()
	}
}

// CollectFirstAt is the heap from which CollectBeforeSnapshot collects.
const CollectFirstAt = 256 << 20

// BoundHeap is called before bulk work over a tenant of users users whose
// allocations are mostly short-lived (a bulk commit: encoded records,
// compressed parts) and that follows work whose garbage is not collected
// yet (an import's recompute, its rows and delta); call the returned
// function when it ends. Under a policy with BoundBulkCommit, for tenants
// of PauseMinUsers or more, it runs a collection and sets a soft memory
// limit of the live heap then plus BoundMargin of it (at least
// BoundMarginMin), or the limit already in force if lower, until done is
// called: the collector then runs when the heap reaches what the work
// needs, not when it has doubled (GOGC=100, or a pause's bridge: at a
// million users a commit after the import's recompute otherwise took the
// heap from 1.9 to 4.4 GB with no collection). The collection blocks the
// caller: about a second per 1.5 GB live on two cores.
func BoundHeap(users int) (done func()) {
	if !BoundsBulk(users) {
		return func() {}
	}
	runtime.GC()
	live := liveHeap()
	limit := live + max(int64(float64(live)*BoundMargin), BoundMarginMin)
	gcPause.Lock()
	if gcPause.n == 0 && gcPause.bounds == 0 {
		gcPause.savedLimit = debug.SetMemoryLimit(-1)
	}
	if gcPause.bounds == 0 || limit > gcPause.boundLimit {
		gcPause.boundLimit = limit
	}
	gcPause.bounds++
	applyLimit()
	gcPause.Unlock()
	bulkStarted() // populate ahead of the heap (prefault.go)
	var once sync.Once
	return func() {
		once.Do(func() {
			defer bulkEnded()
			gcPause.Lock()
			defer gcPause.Unlock()
			gcPause.bounds--
			applyLimit()
		})
	}
}

// BetweenBulkPhases is called between two phases of a bulk import of a
// tenant of users users whose first leaves garbage and whose next keeps
// much of what it allocates: before the import's recompute (after the
// bundle's rows were read and the engine filled from them), and after its
// bounded commit (BoundHeap's done), before the published copy's read
// models are built. Where BoundHeap acts, it runs a collection, so that
// the next phase reuses that garbage instead of growing the heap past it.
// At a million users, without it, the recompute took the heap to 1.98 or
// 2.3 GB depending on when the last cycle before it had run, and the read
// models (~700 MB) were built with nothing collected since the commit:
// the import's peak RSS was 2,385–2,490 MiB (docs/BENCHMARKS.md, session
// 16). It blocks the caller (~0.3–0.9 s at 0.8–1.5 GB live on two cores;
// the phases after it touch that much less fresh memory).
func BetweenBulkPhases(users int) {
	if BoundsBulk(users) {
		runtime.GC()
	}
}

// BoundsBulk reports whether BoundHeap acts for a tenant of
// users users: under a policy with BoundBulkCommit, from PauseMinUsers.
func BoundsBulk(users int) bool { return users >= PauseMinUsers && Current().BoundBulkCommit }

// BoundMargin and BoundMarginMin are the room above the live heap that
// BoundHeap allows: half of it, at least 512 MiB.
const (
	BoundMargin    = 0.5
	BoundMarginMin = 512 << 20
)

// liveHeap is the heap the last collection marked live, or the heap in
// use if the runtime does not tell.
func liveHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return int64(s[0].Value.Uint64())
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
