// Package memtune is the process's memory policy for bulk work — a full
// recompute or a copy of a large tenant's engine: pause the percentage
// garbage collector while everything allocated stays live (gcpause.go). It
// changes process-wide state (GOGC, the memory limit), so it belongs to the
// process, not to the engine that asks for it: it is off until the process
// turns it on (Enable, from `allot serve` and `allot bench`); a library
// user or a test gets none of it unless it asks.
//
// Measured (BenchmarkFullRecompute and BenchmarkClone, 100,000 users,
// -benchtime 3x, three interleaved rounds on a shared 2-core machine with
// a load average of 17–27, so single runs vary twofold):
//
//	policy             FullRecompute            Clone
//	none               2.59 s  1.18 s  1.31 s   0.91 s  0.93 s  2.03 s
//	PauseGC            1.15 s  0.83 s  …        0.70 s  0.75 s  …
//	huge pages (gone)  2.84 s  3.11 s  …        3.23 s  1.82 s  …
//
// The GC pause pays (about 1.5× on the recompute) and stays; madvise
// (MADV_HUGEPAGE) of fresh slabs did not (with the kernel's defrag=madvise
// a huge-page fault compacts memory synchronously) and was removed.
package memtune

import "sync/atomic"

// Policy is what the process allows.
type Policy struct {
	// PauseGC pauses the percentage GC during bulk work of at least
	// PauseMinUsers users.
	PauseGC bool
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
