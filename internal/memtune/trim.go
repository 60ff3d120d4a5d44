package memtune

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Trimming after bursts. The percentage collector's goal is twice the
// live heap, and the runtime keeps what it freed resident up to about that
// goal. A server of a large tenant is mostly quiet between bursts that
// allocate gigabytes and keep little: a copy of the tenant for a long read
// (the position, the admin center's findings, a what-if), the read's
// working memory. At a million users one GET of the position took the
// process from 1.6 to 2.2 GB resident, and nothing brought it back down:
// no collection runs until the heap reaches the goal again, which a quiet
// server's few allocations take hours to do (docs/BENCHMARKS.md, session
// 23). So under a policy with ReturnAfterLoad, the server checks every
// TrimEvery whether the heap has grown well past what the last collection
// left live and no collection has run meanwhile; if so it collects and
// returns the memory freed to the operating system. A busy server
// collects on its own and is not trimmed.

// TrimEvery is how often Trim looks at the heap.
const TrimEvery = 30 * time.Second

// TrimMin and TrimShare: the heap is trimmed when it holds at least
// max(TrimMin, TrimShare × live) beyond what the last collection left
// live.
const (
	TrimMin   = 256 << 20
	TrimShare = 0.25
)

// heapStats is what shouldTrim reads.
type heapStats struct {
	objects uint64 // bytes in heap objects, live or not yet collected
	live    uint64 // bytes the last collection marked live
	cycles  uint64 // completed collections
}

func readHeapStats() heapStats {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	h := heapStats{objects: heapObjects(), live: uint64(liveHeap())}
	if s[0].Value.Kind() == metrics.KindUint64 {
		h.cycles = s[0].Value.Uint64()
	}
	return h
}

// shouldTrim reports whether the heap now should be trimmed, given the
// stats at the last check: no collection ran since (the server is quiet),
// none is paused or bounded (bulk work runs), and the heap holds at
// least max(TrimMin, TrimShare × live) more than the last collection left.
func shouldTrim(prev, now heapStats, busy bool) bool {
	if busy || now.cycles != prev.cycles || now.objects <= now.live {
		return false
	}
	return now.objects-now.live >= max(TrimMin, uint64(float64(now.live)*TrimShare))
}

// bulkBusy reports whether bulk work holds the collector (a pause, a
// bound, or populating ahead of the heap). A bridge's percentage after a
// pause is not bulk work: it lasts until the next cycle, which on a quiet
// server may be the trim's own (whose end restores the percentage).
func bulkBusy() bool {
	gcPause.Lock()
	busy := gcPause.n > 0 || gcPause.bounds > 0
	gcPause.Unlock()
	prefaulter.Lock()
	busy = busy || prefaulter.active > 0
	prefaulter.Unlock()
	return busy
}

// Trim trims the heap after bursts (see above) every TrimEvery until ctx
// ends; it does nothing unless the policy has ReturnAfterLoad. It reports
// each trim to trimmed (nil: none) with the bytes the heap held before it
// and what the collection left live.
func Trim(ctx context.Context, trimmed func(before, live uint64)) {
	if !Current().ReturnAfterLoad {
		return
	}
	tick := time.NewTicker(TrimEvery)
	defer tick.Stop()
	prev := readHeapStats()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := readHeapStats()
		if shouldTrim(prev, now, bulkBusy()) {
			debug.FreeOSMemory()
			after := readHeapStats()
			if trimmed != nil {
				trimmed(now.objects, after.live)
			}
			now = after
		}
		prev = now
	}
}
