package memtune

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func gogc(t *testing.T) int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

// gogcBefore collects and returns the process's GOGC, the setting a test
// expects back; it skips the test when the collector is off.
func gogcBefore(t *testing.T) int {
	t.Helper()
	runtime.GC()
	before := gogc(t)
	if before <= 0 {
		t.Skip("GOGC is off in this process")
	}
	return before
}

// After a pause in which the heap grew, the collector resumes with a
// bridge percentage (no cycle with zero headroom), and the setting in force
// before the pause is back once a cycle has completed — also when a second
// pause comes while the bridge is in force.
func TestPauseGCBridgesThenRestores(t *testing.T) {
	before := gogcBefore(t)
	var keep [][]byte
	grow := func() {
		for range 64 {
			keep = append(keep, make([]byte, 1<<20))
		}
	}
	resume := pauseGC()
	grow()
	resume()
	if got := gogc(t); got <= before {
		t.Fatalf("after a pause that grew the heap, GOGC = %d, want a bridge above %d", got, before)
	}
	// A second pause and resume while bridging must not save the bridge.
	resume = pauseGC()
	grow()
	resume()
	waitGOGC(t, before)
	// A pause in which the heap did not outgrow the goal restores at once.
	runtime.GC()
	resume = pauseGC()
	resume()
	if got := gogc(t); got != before {
		t.Fatalf("after a pause with no growth, GOGC = %d, want %d", got, before)
	}
	runtime.KeepAlive(keep)
}

func waitGOGC(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gogc(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after collections, want %d restored", gogc(t), want)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// Bulk work leaves the process's GC settings alone unless the process
// enabled the policy (library use and tests), and pauses the collector
// when it did.
func TestBulkWorkPausesOnlyUnderThePolicy(t *testing.T) {
	before := gogcBefore(t)
	defer Enable(Policy{})
	Enable(Policy{})
	done := BulkWork(PauseMinUsers)
	if got := gogc(t); got != before {
		t.Fatalf("without the policy, bulk work set GOGC %d → %d", before, got)
	}
	done()
	Enable(Policy{PauseGC: true})
	done = BulkWork(PauseMinUsers - 1)
	if got := gogc(t); got != before {
		t.Fatalf("bulk work below PauseMinUsers set GOGC %d → %d", before, got)
	}
	done()
	done = BulkWork(PauseMinUsers)
	paused := gogc(t)
	done()
	if paused == before {
		t.Fatalf("under the policy, bulk work left GOGC at %d", before)
	}
}
