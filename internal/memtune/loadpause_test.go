package memtune

import (
	"runtime"
	"testing"
)

// A load's pause is the policy's only: without PauseGC it is nil and
// changes nothing. Under it the collector is off until End, which restores
// the percentage at once (no bridge) even when the heap grew meanwhile, so
// that the next cycle frees the load's garbage; a second End does nothing.
func TestLoadWorkPausesUntilEndThenRestoresAtOnce(t *testing.T) {
	before := gogcBefore(t)
	defer Enable(Policy{})
	Enable(Policy{})
	if p := LoadWork(); p != nil || gogc(t) != before {
		t.Fatalf("without the policy: pause %v, GOGC %d → %d", p, before, gogc(t))
	}
	Enable(Policy{PauseGC: true})
	p := LoadWork()
	if got := gogc(t); got == before {
		t.Fatalf("under the policy, a load left GOGC at %d", got)
	}
	var keep [][]byte
	for range 64 {
		keep = append(keep, make([]byte, 1<<20))
	}
	p.Check() // far below the bound: still paused
	if got := gogc(t); got == before {
		t.Fatalf("a check below the bound ended the pause")
	}
	p.End()
	if got := gogc(t); got != before {
		t.Fatalf("after the load's pause, GOGC = %d, want %d at once", got, before)
	}
	p.End()
	if got := gogc(t); got != before {
		t.Fatalf("a second End changed GOGC to %d", got)
	}
	runtime.KeepAlive(keep)
}

// A load whose heap passes its bound ends its pause at the next check.
func TestLoadWorkCheckEndsThePauseAtTheBound(t *testing.T) {
	before := gogcBefore(t)
	defer Enable(Policy{})
	Enable(Policy{PauseGC: true})
	p := LoadWork()
	defer p.End()
	if got := gogc(t); got == before {
		t.Fatalf("under the policy, a load left GOGC at %d", got)
	}
	p.bound = heapObjects() + 8<<20
	keep := make([][]byte, 0, 16)
	for range 16 {
		keep = append(keep, make([]byte, 1<<20))
	}
	p.Check()
	if got := gogc(t); got != before {
		t.Fatalf("past the bound, GOGC = %d, want %d", got, before)
	}
	runtime.KeepAlive(keep)
}

// A load whose heap grows LoadStep past its last collection is collected
// at the next check, and stays paused: the garbage of the parts decoded so
// far is freed for the rest of the decoding to reuse.
func TestLoadWorkCheckCollectsWithinThePause(t *testing.T) {
	before := gogcBefore(t)
	defer Enable(Policy{})
	Enable(Policy{PauseGC: true})
	p := LoadWork()
	defer p.End()
	p.collectAt = heapObjects() + 8<<20
	for range 16 {
		_ = make([]byte, 1<<20) // garbage, as a decoded part's buffer is
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gcs := ms.NumGC
	p.Check()
	runtime.ReadMemStats(&ms)
	if ms.NumGC == gcs {
		t.Fatal("a check past LoadStep did not collect")
	}
	if got := gogc(t); got == before {
		t.Fatalf("the collection within the pause ended it (GOGC %d)", got)
	}
	if heap := heapObjects(); p.collectAt <= heap || p.collectAt > heap+LoadStep+1<<20 {
		t.Fatalf("the next collection at %d with the heap at %d, want LoadStep above it", p.collectAt, heap)
	}
}
