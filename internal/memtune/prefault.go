package memtune

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// The prefaulted heap. On the benchmarks' VM (docs/BENCHMARKS.md, session
// 17) memory that has been free for a few seconds is given back to the
// host, and touching it again costs the host's work as well as the
// guest's. 2 GiB touched in 2 MiB huge pages took 0.2 s right after
// another process freed it ("warm") and 4.3–4.7 s after 15 s of idle
// ("cold"); in 4 KiB pages, one fault each, 1.0 s and 1.7–2.8 s;
// populated in 4 KiB pages by the kernel in one call per 16 MiB
// (MADV_POPULATE_WRITE, no fault per page), 0.6–0.9 s either way. Huge
// pages are the fastest warm and by far the slowest cold, and a restart
// sees either: a server restarted at once reuses what the old process
// freed, one started after a quiet spell does not.
//
// So where the reserve is prefaulted (hugeheap.go chooses: on a host that
// backs a page when the kernel populates it, or ALLOT_HUGE_PAGES=prefault)
// the heap's reserve (the first part of the heap, mapped once at start-up
// and filled lowest address first) is advised MADV_NOHUGEPAGE, and while
// bulk work that grows the heap into
// fresh memory runs — a large load (LoadWork), the bound of a bulk commit
// (BoundHeap), a large bundle's reading (HeapGrows) — a goroutine populates the
// reserve ahead of the heap: from the heap's extent in the reserve (the
// bytes the runtime has taken from it, which it takes lowest first) to
// prefaultAhead beyond, prefaultStep at a time. Each step is populated in
// huge pages when they are cheap: its first 2 MiB are advised
// MADV_HUGEPAGE and populated, and if that took less of the thread's CPU
// than hugeFast (about what 2 MiB of 4 KiB pages cost), the rest of the
// step follows in huge pages; otherwise the rest is populated in 4 KiB
// pages, and the next probes come after 1, 3, 7 … steps (at most
// maxProbeSkip), so that cold memory costs few probes. The reserve beyond
// the step is advised for what the last probe found, for the heap's own
// faults where it outruns the populating (and after bulk work). The
// heap's own writes mostly find their pages there. Work over a heap that
// has holes (a recompute or a copy of a loaded tenant, after collections
// returned memory) is not populated for: its heap fills the holes, below
// the extent the bytes taken suggest, and pages populated beyond were
// resident for nothing (the 1M recompute's peak RSS was 130 MiB higher,
// above its 2 GB bound). Pages populated and not used are at
// most prefaultAhead, resident until the runtime's scavenger or the
// process's end. On a host that backs a 4 KiB page only when it is first
// written, populating it ahead saves nothing (session 18): there the
// whole reserve is advised for huge pages instead, without populating.

// prefaultAhead is how far beyond the heap's extent the reserve is
// populated while bulk work runs. (A window that started at one step and
// doubled while the heap kept up, or populating from the heap's extent
// when the work starts rather than from the last step populated, made the
// 1M restart 0.3–0.8 s slower: the heap outran the populating.)
const prefaultAhead = 128 << 20

// prefaultStep is the bytes populated per call.
const prefaultStep = 16 << 20

// prefaultIdle is how long the populating goroutine waits once it is
// ahead of the heap by prefaultAhead.
const prefaultIdle = time.Millisecond

// probeSize is the part of a step that probes whether huge pages are
// cheap (one huge page).
const probeSize = 2 << 20

// hugeFast is the thread CPU time under which a probe's huge page counts
// as cheap: warm, a 2 MiB huge page took ~0.2 ms and 2 MiB of 4 KiB pages
// ~0.6–0.9 ms; cold, the huge page ~4.4 ms.
const hugeFast = time.Millisecond

// maxProbeSkip bounds the steps populated in 4 KiB pages between probes.
const maxProbeSkip = 63

// pager is the kernel's part of prefaulting (prefault_linux.go; tests
// fake it).
type pager interface {
	// advise advises [addr, addr+n) for huge pages or against them.
	advise(addr, n uintptr, huge bool) error
	// populate faults [addr, addr+n) in as if written.
	populate(addr, n uintptr) error
	// threadCPU is the calling thread's CPU time.
	threadCPU() time.Duration
}

var prefaulter prefaultState

// prefaultState is the prefaulter's state (prefaulter).
type prefaultState struct {
	sync.Mutex
	base, size uintptr // the reserve (0: none)
	taken0     uint64  // the heap's taken bytes when the reserve was made
	done       uintptr // bytes of the reserve populated
	active     int     // bulk work running
	stop       chan struct{}
	stopped    chan struct{}
	pager      pager
	taken      func() uint64 // heapTaken (tests fake it)
	noHuge     bool          // huge pages cannot be advised: every step in 4 KiB pages
	aheadHuge  bool          // the reserve beyond what is populated is advised for huge pages
	skip       int           // steps to populate in 4 KiB pages before the next probe
	backoff    int           // skip after the next failed probe
	// hugeBytes and smallBytes are the bytes populated in huge and in
	// 4 KiB pages, slowProbes the probes that found huge pages dear
	// (their probeSize is in smallBytes, yet in a huge page).
	hugeBytes, smallBytes uintptr
	slowProbes            int
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
func setPrefaultReserve(base, size uintptr, p pager) {
	prefaulter.Lock()
	defer prefaulter.Unlock()
	prefaulter.base, prefaulter.size, prefaulter.done = base, size, 0
	prefaulter.taken, prefaulter.taken0 = heapTaken, heapTaken()
	prefaulter.pager = p
	prefaulter.noHuge, prefaulter.aheadHuge, prefaulter.skip, prefaulter.backoff = false, false, 0, 0
	prefaulter.hugeBytes, prefaulter.smallBytes, prefaulter.slowProbes = 0, 0, 0
}

// Prefaulted reports the bytes the prefaulter has populated in huge and in
// 4 KiB pages, and the probes that found huge pages dear.
func Prefaulted() (huge, small int64, dearProbes int) {
	prefaulter.Lock()
	defer prefaulter.Unlock()
	return int64(prefaulter.hugeBytes), int64(prefaulter.smallBytes), prefaulter.slowProbes
}

// HeapGrows is called before work that grows the heap by about bytes at
// once outside a pause of the collector (a large bundle's reading); call
// the returned function when it ends. Under a policy with HeapReserve it
// populates the reserve ahead of the heap meanwhile, from
// HeapGrowsMin bytes.
func HeapGrows(bytes int64) (done func()) {
	if bytes < HeapGrowsMin || !Current().HeapReserve {
		return func() {}
	}
	bulkStarted()
	var once sync.Once
	return func() { once.Do(bulkEnded) }
}

// HeapGrowsMin is the growth from which HeapGrows populates ahead.
const HeapGrowsMin = 64 << 20

// extent is the bytes of the reserve the heap has taken: those it has
// touched since the reserve was made, which it takes lowest address first
// (prefaulter held).
func (p *prefaultState) extent() uintptr {
	if t := p.taken(); t > p.taken0 {
		return uintptr(t - p.taken0)
	}
	return 0
}

// bulkStarted starts populating ahead of the heap when the first bulk
// work starts (LoadWork, BoundHeap, HeapGrows); bulkEnded stops it when
// the last ends.
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
	// The probes read the thread's CPU time around a call: the goroutine
	// stays on its thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
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
// extent plus prefaultAhead is beyond what is populated, in huge pages if
// a probe finds them cheap (see above); it reports whether it did. A
// failing populate (a kernel without MADV_POPULATE_WRITE) ends the
// populating for good. The calls run unlocked: pauses start and end
// meanwhile, and two goroutines populating the same step (one ending as
// another starts) is harmless.
func prefaultStep1() bool {
	prefaulter.Lock()
	if prefaulter.size == 0 {
		prefaulter.Unlock()
		return false
	}
	want := min(prefaulter.extent()+prefaultAhead, prefaulter.size)
	off := prefaulter.done
	if off >= want {
		prefaulter.Unlock()
		return false
	}
	n := min(uintptr(prefaultStep), prefaulter.size-off)
	probe := !prefaulter.noHuge && prefaulter.skip == 0 && n > probeSize
	if !probe && prefaulter.skip > 0 {
		prefaulter.skip--
	}
	pg, addr, end, aheadHuge := prefaulter.pager, prefaulter.base+off, prefaulter.base+prefaulter.size, prefaulter.aheadHuge
	prefaulter.Unlock()

	huge, ahead, noHuge, err := populateStep(pg, addr, n, end, probe, aheadHuge)

	prefaulter.Lock()
	defer prefaulter.Unlock()
	prefaulter.aheadHuge = ahead
	if err != nil {
		prefaulter.size = 0
		return false
	}
	switch {
	case noHuge:
		prefaulter.noHuge = true
	case probe && huge:
		prefaulter.backoff = 0
	case probe:
		prefaulter.slowProbes++
		prefaulter.backoff = min(2*prefaulter.backoff+1, maxProbeSkip)
		prefaulter.skip = prefaulter.backoff
	}
	if huge {
		prefaulter.hugeBytes += n
	} else {
		prefaulter.smallBytes += n
	}
	prefaulter.done = max(prefaulter.done, off+n)
	return true
}

// populateStep populates the n bytes at addr of the reserve that ends at
// end. With probe, their first probeSize go into a huge page, and if that
// was cheap the rest of the step does too, else into 4 KiB pages; the
// reserve beyond the step is advised for what the probe found
// (aheadHuge: what it is advised for now), so that the heap's own faults
// there, where it outruns the populating, get the cheaper pages. It
// reports whether the step went into huge pages, what the reserve beyond
// it is advised for, and noHuge when huge pages cannot be advised here.
func populateStep(pg pager, addr, n, end uintptr, probe, aheadHuge bool) (huge, ahead, noHuge bool, err error) {
	if !probe {
		return aheadHuge, aheadHuge, false, pg.populate(addr, n)
	}
	if pg.advise(addr, probeSize, true) != nil {
		return false, false, true, pg.populate(addr, n)
	}
	t := pg.threadCPU()
	if err := pg.populate(addr, probeSize); err != nil {
		return false, aheadHuge, false, err
	}
	cheap := pg.threadCPU()-t < hugeFast
	if rest := addr + probeSize; cheap != aheadHuge && rest < end {
		if err := pg.advise(rest, end-rest, cheap); err != nil {
			cheap = false // the advice against huge pages cannot fail where the one for them did not
		}
	}
	return cheap, cheap, false, pg.populate(addr+probeSize, n-probeSize)
}
