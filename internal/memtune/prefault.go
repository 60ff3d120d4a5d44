package memtune

import (
	"runtime/metrics"
	"sync"
	"time"
)

// The prefaulted heap. On the benchmarks' VM (docs/BENCHMARKS.md, session
// 17) memory that has been free for a few seconds is given back to the
// host, and touching it again costs the host's work as well as the
// guest's: 2 GiB touched in 2 MiB huge pages took 0.2 s right after
// another process freed it and 4.3–4.7 s after 15 s of idle; in 4 KiB
// pages, one fault each, 1.0 s and 1.7–2.8 s; populated in 4 KiB pages by
// the kernel in one call per 16 MiB (MADV_POPULATE_WRITE, no fault per
// page), 0.6–0.9 s either way. A restart after idle is the case that
// counts (a server started after its machine was quiet), and huge pages
// made it the slowest: the 1M-user restart took 6.4–6.8 s with huge pages
// and 4.4–4.6 s prefaulted.
//
// So by default the heap's reserve (hugeheap.go: the first part of the
// heap, mapped once at start-up and filled lowest address first) is
// advised MADV_NOHUGEPAGE, and while bulk work runs — a pause of the
// collector (a large load, recompute or copy) or a bound of a bulk commit —
// a goroutine populates the reserve ahead of the heap: from the heap's
// extent in the reserve (the bytes the runtime has taken from it, which
// it takes lowest first) to prefaultAhead beyond, 16 MiB at a time. The
// heap's own faults then find the pages there. Pages populated and not
// used are at most prefaultAhead, resident until the runtime's scavenger
// or the process's end. ALLOT_HUGE_PAGES=on (or a size in GiB) advises the
// reserve for huge pages instead, as before; off: neither.

// prefaultAhead is how far beyond the heap's extent the reserve is
// populated while bulk work runs.
const prefaultAhead = 128 << 20

// prefaultStep is the bytes populated per call.
const prefaultStep = 16 << 20

// prefaultIdle is how long the populating goroutine waits once it is
// ahead of the heap by prefaultAhead.
const prefaultIdle = time.Millisecond

var prefaulter struct {
	sync.Mutex
	base, size uintptr // the reserve (0: none)
	taken0     uint64  // the heap's taken bytes when the reserve was made
	done       uintptr // bytes of the reserve populated
	active     int     // bulk work running
	stop       chan struct{}
	stopped    chan struct{}
	populate   func(addr, n uintptr) error // the kernel call (tests count calls)
	calls      int
}

// heapTaken is the bytes the runtime has taken for the heap and not
// returned to the operating system: what it has touched.
func heapTaken() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(s)
	var n uint64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			n += x.Value.Uint64()
		}
	}
	return n
}

// setPrefaultReserve records the reserve the heap grows into (base, size)
// and the heap's taken bytes at that moment.
func setPrefaultReserve(base, size uintptr, populate func(addr, n uintptr) error) {
	prefaulter.Lock()
	defer prefaulter.Unlock()
	prefaulter.base, prefaulter.size, prefaulter.done = base, size, 0
	prefaulter.taken0 = heapTaken()
	prefaulter.populate = populate
}

// bulkStarted starts populating ahead of the heap when the first bulk
// work starts (a pause or a bound); bulkEnded stops it when the last ends.
func bulkStarted() {
	prefaulter.Lock()
	defer prefaulter.Unlock()
	prefaulter.active++
	if prefaulter.active > 1 || prefaulter.size == 0 {
		return
	}
	prefaulter.stop, prefaulter.stopped = make(chan struct{}), make(chan struct{})
	go runPrefault(prefaulter.stop, prefaulter.stopped)
}

func bulkEnded() {
	prefaulter.Lock()
	prefaulter.active--
	stop, stopped := prefaulter.stop, prefaulter.stopped
	last := prefaulter.active == 0 && stop != nil
	if last {
		prefaulter.stop, prefaulter.stopped = nil, nil
	}
	prefaulter.Unlock()
	if last {
		close(stop)
		<-stopped
	}
}

// runPrefault populates the reserve ahead of the heap until stop closes.
func runPrefault(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	for {
		select {
		case <-stop:
			return
		default:
		}
		if !prefaultStep1() {
			select {
			case <-stop:
				return
			case <-time.After(prefaultIdle):
			}
		}
	}
}

// prefaultStep1 populates the next step of the reserve if the heap's
// extent plus prefaultAhead is beyond what is populated; it reports
// whether it did. A failing call (a kernel without MADV_POPULATE_WRITE)
// ends the populating for good. The call runs unlocked: pauses start and
// end meanwhile, and two goroutines populating the same step (one ending
// as another starts) is harmless.
func prefaultStep1() bool {
	prefaulter.Lock()
	if prefaulter.size == 0 {
		prefaulter.Unlock()
		return false
	}
	var extent uintptr
	if t := heapTaken(); t > prefaulter.taken0 {
		extent = uintptr(t - prefaulter.taken0)
	}
	want := min(extent+prefaultAhead, prefaulter.size)
	off := prefaulter.done
	if off >= want {
		prefaulter.Unlock()
		return false
	}
	n := min(uintptr(prefaultStep), prefaulter.size-off)
	populate, base := prefaulter.populate, prefaulter.base
	prefaulter.calls++
	prefaulter.Unlock()
	err := populate(base+off, n)
	prefaulter.Lock()
	defer prefaulter.Unlock()
	if err != nil {
		prefaulter.size = 0
		return false
	}
	prefaulter.done = max(prefaulter.done, off+n)
	return true
}
