package memtune

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func memLimit() int64 { return debug.SetMemoryLimit(-1) }

// BoundHeap sets a limit of the live heap plus its margin (never above the
// process's own limit) only under a policy with BoundBulkCommit and from
// PauseMinUsers, and done restores the limit in force before — also when a
// pause began and ended inside the bound, and when the bound ends inside a
// pause (the pause's limit stays until it ends).
func TestBoundHeapSetsAndRestoresTheLimit(t *testing.T) {
	defer Enable(Policy{})
	saved := memLimit()
	defer debug.SetMemoryLimit(saved)
	const own = int64(64 << 30)
	debug.SetMemoryLimit(own)

	Enable(Policy{})
	done := BoundHeap(PauseMinUsers)
	if got := memLimit(); got != own {
		t.Fatalf("without the policy the limit is %d, want %d", got, own)
	}
	done()
	Enable(Policy{BoundBulkCommit: true})
	done = BoundHeap(PauseMinUsers - 1)
	if got := memLimit(); got != own {
		t.Fatalf("below PauseMinUsers the limit is %d, want %d", got, own)
	}
	done()

	done = BoundHeap(PauseMinUsers)
	bound := memLimit()
	live := liveHeap()
	if want := live + max(int64(float64(live)*BoundMargin), BoundMarginMin); bound != want {
		t.Fatalf("bound %d, want live %d plus its margin: %d", bound, live, want)
	}
	resume := pauseGC() // a pause inside the bound: the lower of the two
	if got := memLimit(); got > bound {
		t.Fatalf("a pause inside a bound raised the limit to %d (bound %d)", got, bound)
	}
	resume()
	if got := memLimit(); got != bound {
		t.Fatalf("after a pause inside the bound the limit is %d, want the bound %d", got, bound)
	}
	done()
	done() // a second call does nothing
	if got := memLimit(); got != own {
		t.Fatalf("after the bound the limit is %d, want %d", got, own)
	}

	// The bound ends inside a pause: the pause's limit stays until it ends.
	done = BoundHeap(PauseMinUsers)
	resume = pauseGC()
	paused := memLimit()
	done()
	if got := memLimit(); got < paused || got == own {
		t.Fatalf("a bound ending inside a pause set %d (pause %d, own %d)", got, paused, own)
	}
	resume()
	if got := memLimit(); got != own {
		t.Fatalf("after the pause the limit is %d, want %d", got, own)
	}

	// The process's own limit, when lower, stays in force.
	debug.SetMemoryLimit(1 << 20)
	done = BoundHeap(PauseMinUsers)
	if got := memLimit(); got != 1<<20 {
		t.Fatalf("a bound raised a lower limit of the process to %d", got)
	}
	done()
	if got := memLimit(); got != 1<<20 {
		t.Fatalf("after the bound the limit is %d, want %d", got, 1<<20)
	}
	debug.SetMemoryLimit(math.MaxInt64)
}

// BetweenBulkPhases collects exactly where BoundHeap acts: under a policy
// with BoundBulkCommit, from PauseMinUsers.
func TestBetweenBulkPhasesCollectsWhereTheBoundActs(t *testing.T) {
	defer Enable(Policy{})
	cycles := func() uint32 { var ms runtime.MemStats; runtime.ReadMemStats(&ms); return ms.NumGC }
	for _, c := range []struct {
		policy  Policy
		users   int
		collect bool
	}{
		{Policy{}, PauseMinUsers, false},
		{Policy{BoundBulkCommit: true}, PauseMinUsers - 1, false},
		{Policy{BoundBulkCommit: true}, PauseMinUsers, true},
	} {
		Enable(c.policy)
		percent := debug.SetGCPercent(-1) // no cycle but the one asked for
		before := cycles()
		BetweenBulkPhases(c.users)
		n := cycles() - before
		debug.SetGCPercent(percent)
		if (n > 0) != c.collect {
			t.Errorf("policy %+v, %d users: %d collections, want any: %v", c.policy, c.users, n, c.collect)
		}
	}
}
