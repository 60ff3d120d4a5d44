package memtune

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The huge-page heap. Every page of memory a process touches for the first
// time costs a page fault, and on a virtual machine a fault is dear: on
// the 2-core VM of docs/BENCHMARKS.md a 4 KiB fault costs ~10 µs, so
// touching 1 GiB costs 2.5 s, against 0.4–1.0 s when the same memory is
// faulted as 2 MiB transparent huge pages (BenchmarkFirstTouch). A 1M-user
// import or restart touches 3.5 GB: most of its time was these faults.
//
// Go's heap is not advised for huge pages (with the kernel's usual
// transparent_hugepage=madvise it gets 4 KiB pages), and the runtime maps
// its heap in pieces as it grows, each a new mapping without the advice.
// So the heap is grown once, at start-up, by a reserve that is allocated
// and never touched (no fault, no resident memory), advised with
// MADV_HUGEPAGE, and freed: the runtime keeps the mapping and fills its
// lowest free pages first, so the heap's first bytes, as many as the reserve, are
// faulted as huge pages from then on. What is not touched stays free; the
// runtime's scavenger returns freed memory as before (it avoids splitting
// huge pages where it can). The cost: the runtime's page metadata for the
// reserve, ~1 MiB resident per GiB reserved.
//
// How the reserve is used depends on the machine, and a probe at start-up
// chooses (chooseReserve). On the benchmarks' VMs two kinds of host were
// seen (docs/BENCHMARKS.md, sessions 17 and 18):
//   - One backs a page when the guest's kernel populates it: 4 KiB pages
//     populated ahead of the heap (MADV_POPULATE_WRITE, prefault.go) cost
//     0.6–0.9 s per 2 GiB, and huge pages after a quiet spell 4.3–4.7 s.
//     The 1M restart after idle took 4.3–4.7 s prefaulted and 6.3–6.8 s
//     with the whole reserve in huge pages.
//   - The other backs a 4 KiB page only when it is first written, even
//     after the kernel populated it: 4.6 µs per page, 0.6 s per 512 MiB,
//     on the process's own threads, warm or cold. Huge pages cost nothing
//     more once the memory was used, and a process that frees them leaves
//     them ready for the next (a server restarted at once). The 1M
//     restart took 5.8–8.3 s prefaulted and 3.7–4.6 s (5.8–6.6 s after
//     idle) with the whole reserve in huge pages; the import 19–19.6 s
//     against 15.5–16.7 s.
//
// So by default the probe writes to a few populated 4 KiB pages
// (populatedWriteCost): when the first write still costs a fault of the
// host (at least hostFaultMin a page), the whole reserve is advised for
// huge pages; otherwise it is populated ahead of bulk work, in huge pages
// only where a probe finds them cheap (prefault.go). ALLOT_HUGE_PAGES=on,
// or N (GiB) for a reserve of that size, advises huge pages whatever the
// probe finds; prefault populates ahead whatever it finds; off: no
// reserve, the runtime's heap as it is. The reserve is half the machine's
// memory (or of the cgroup's limit, or of GOMEMLIMIT, when lower), at
// most 16 GiB; none when the kernel refuses overcommit
// (vm.overcommit_memory=2: the reserve would be counted as committed), and
// no huge-page reserve when huge pages are off.

// HugeReserveMax is the largest default reserve.
const HugeReserveMax = 16 << 30

// writeProbeBytes is the memory populatedWriteCost populates and writes,
// in writeProbeChunks timed chunks (4 MiB: ~5 ms where each page costs
// the host's fault, well under 1 ms where none does).
const (
	writeProbeBytes  = 4 << 20
	writeProbeChunks = 16
)

// hostFaultMin is the cost per page, of a first write to a populated
// 4 KiB page, from which the probe takes it that the host backs memory
// only when written: such a write cost 4.6 µs; a write to a page that is
// backed costs a cache miss, well under a microsecond.
const hostFaultMin = time.Microsecond

// writeCost is the probe chooseReserve asks (tests replace it).
var writeCost = populatedWriteCost

// reserveKind is how the heap's reserve is used.
type reserveKind int

const (
	reserveNone     reserveKind = iota
	reservePrefault             // populated ahead of bulk work (prefault.go)
	reserveHuge                 // advised for transparent huge pages
)

var hugeHeap struct {
	once sync.Once
	kind reserveKind
	size int64 // bytes reserved, 0 when none
	note string
}

// reserveHeapOnce reserves the first part of the heap, for huge pages or
// prefaulting (once per process).
func reserveHeapOnce() {
	hugeHeap.once.Do(func() {
		kind, size, why := heapReserve(os.Getenv("ALLOT_HUGE_PAGES"))
		if size <= 0 {
			hugeHeap.note = why
			return
		}
		got, err := reserveHeap(size, kind == reserveHuge)
		hugeHeap.kind, hugeHeap.size, hugeHeap.note = kind, got, why
		if err != nil {
			hugeHeap.note = fmt.Sprintf("madvise: %v", err)
		}
	})
}

// HeapReserve reports the bytes of the heap's reserve (0: none) and how
// it is used, or why there is none.
func HeapReserve() (int64, string) { return hugeHeap.size, hugeHeap.note }

// heapReserve is the reserve for the setting env (ALLOT_HUGE_PAGES) on
// this machine: its use, its size, and how they were chosen.
func heapReserve(env string) (reserveKind, int64, string) {
	env = strings.TrimSpace(strings.ToLower(env))
	var (
		kind reserveKind
		how  string
		size int64
	)
	switch env {
	case "off", "0", "false", "no":
		return reserveNone, 0, "off (ALLOT_HUGE_PAGES)"
	case "":
		kind, how = chooseReserve(hugePagesAvailable(), writeCost)
	case "prefault":
		kind, how = reservePrefault, prefaultNote+" (ALLOT_HUGE_PAGES)"
	case "on", "true", "yes":
		kind, how = reserveHuge, "advised for huge pages (ALLOT_HUGE_PAGES)"
	default:
		n, err := strconv.ParseFloat(env, 64)
		if err != nil || n < 0 || n > 1<<20 {
			return reserveNone, 0, fmt.Sprintf("none: ALLOT_HUGE_PAGES=%q is not on, off, prefault or a number of GiB", env)
		}
		kind, size, how = reserveHuge, int64(n*(1<<30)), fmt.Sprintf("advised for huge pages, %s GiB (ALLOT_HUGE_PAGES)", env)
	}
	if kind == reserveHuge && !hugePagesAvailable() {
		return reserveNone, 0, "none: transparent huge pages are off in this kernel"
	}
	if overcommitStrict() {
		return reserveNone, 0, "none: vm.overcommit_memory=2 would count the reserve as committed"
	}
	if size > 0 {
		return kind, size, how
	}
	mem := memoryAvailable()
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < mem {
		mem = lim
	}
	if mem <= 0 {
		return reserveNone, 0, "none: the machine's memory is unknown"
	}
	return kind, min(mem/2, HugeReserveMax), how + "; half the memory, at most 16 GiB"
}

// chooseReserve is the default use of the reserve (see above): huge pages
// when a populated 4 KiB page's first write costs a fault of the host, or
// when the kernel cannot populate; else populated ahead. Without huge
// pages in the kernel it is populated ahead (the pages are 4 KiB anyway).
func chooseReserve(huge bool, probe func() (time.Duration, error)) (reserveKind, string) {
	if !huge {
		return reservePrefault, prefaultNote
	}
	cost, err := probe()
	switch {
	case err != nil:
		return reserveHuge, fmt.Sprintf("advised for huge pages: the kernel cannot populate ahead (%v)", err)
	case cost >= hostFaultMin:
		return reserveHuge, fmt.Sprintf("advised for huge pages: a populated 4 KiB page still cost %.1f µs when first written, a fault of the host", float64(cost)/float64(time.Microsecond))
	}
	return reservePrefault, fmt.Sprintf("%s (a populated 4 KiB page cost %d ns when first written)", prefaultNote, cost.Nanoseconds())
}

// prefaultNote says how a prefaulted reserve is used (HeapReserve).
const prefaultNote = "populated ahead of bulk work, in huge or 4 KiB pages as a probe finds cheaper"
