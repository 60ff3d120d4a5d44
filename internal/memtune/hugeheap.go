package memtune

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
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
// On a VM that gives memory free for a few seconds back to its host, huge
// pages made a start after idle the slowest of all (prefault.go), so the
// whole reserve is advised for huge pages only when asked:
// ALLOT_HUGE_PAGES=on, or N (GiB) for a reserve of that size. By default
// the reserve is populated ahead of bulk work instead, in huge pages only
// where a probe finds them cheap (prefault.go); ALLOT_HUGE_PAGES=off: no
// reserve, the
// runtime's heap as it is. The reserve is half the machine's memory (or of
// the cgroup's limit, or of GOMEMLIMIT, when lower), at most 16 GiB; none
// when the kernel refuses overcommit (vm.overcommit_memory=2: the reserve
// would be counted as committed), and no huge-page reserve when huge pages
// are off.

// HugeReserveMax is the largest default reserve.
const HugeReserveMax = 16 << 30

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
	kind, how := reservePrefault, "populated ahead of bulk work, in huge or 4 KiB pages as a probe finds cheaper"
	var size int64
	switch env {
	case "off", "0", "false", "no":
		return reserveNone, 0, "off (ALLOT_HUGE_PAGES)"
	case "":
	case "on", "true", "yes":
		kind, how = reserveHuge, "advised for huge pages (ALLOT_HUGE_PAGES)"
	default:
		n, err := strconv.ParseFloat(env, 64)
		if err != nil || n < 0 || n > 1<<20 {
			return reserveNone, 0, fmt.Sprintf("none: ALLOT_HUGE_PAGES=%q is not on, off or a number of GiB", env)
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
