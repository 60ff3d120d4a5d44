// Package memtune is the process's memory policy for bulk work — a full
// recompute or a copy of a large tenant's engine: pause the percentage
// garbage collector while everything allocated stays live (gcpause.go);
// and for the decoding of a large tenant's stored records at its load
// (loadpause.go). It
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
package memtune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
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
}

var policy atomic.Pointer[Policy]

// Enable sets the process's policy (call it once, at start-up).
func Enable(p Policy) { policy.Store(&p) }

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
func AfterLoad(users int) {
	if users < PauseMinUsers || !Current().ReturnAfterLoad {
		return
	}
	debug.FreeOSMemory()
}

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
