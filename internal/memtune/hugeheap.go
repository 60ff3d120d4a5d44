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
// ALLOT_HUGE_PAGES=off turns it off; ALLOT_HUGE_PAGES=N (GiB) sets the
// reserve. By default it is half the machine's memory (or of the cgroup's
// limit, or of GOMEMLIMIT, when lower), at most 16 GiB; none when the
// kernel refuses overcommit (vm.overcommit_memory=2: the reserve would be
// counted as committed) or huge pages are off.

// HugeReserveMax is the largest default reserve.
const HugeReserveMax = 16 << 30

var hugeHeap struct {
	once sync.Once
	size int64 // bytes advised, 0 when none
	note string
}

// reserveHugeHeapOnce reserves the heap's huge-page part (once per
// process).
func reserveHugeHeapOnce() {
	hugeHeap.once.Do(func() {
		size, why := hugeReserveSize(os.Getenv("ALLOT_HUGE_PAGES"))
		if size <= 0 {
			hugeHeap.note = why
			return
		}
		got, err := reserveHugeHeap(size)
		hugeHeap.size, hugeHeap.note = got, why
		if err != nil {
			hugeHeap.note = fmt.Sprintf("madvise: %v", err)
		}
	})
}

// HugeHeap reports the bytes of the heap advised for huge pages (0: none)
// and why that many (or why none).
func HugeHeap() (int64, string) { return hugeHeap.size, hugeHeap.note }

// hugeReserveSize is the reserve for the setting env (ALLOT_HUGE_PAGES)
// on this machine, and how it was chosen.
func hugeReserveSize(env string) (int64, string) {
	env = strings.TrimSpace(strings.ToLower(env))
	switch env {
	case "off", "0", "false", "no":
		return 0, "off (ALLOT_HUGE_PAGES)"
	}
	if !hugePagesAvailable() {
		return 0, "none: transparent huge pages are off in this kernel"
	}
	if overcommitStrict() {
		return 0, "none: vm.overcommit_memory=2 would count the reserve as committed"
	}
	if env != "" {
		n, err := strconv.ParseFloat(env, 64)
		if err != nil || n < 0 || n > 1<<20 {
			return 0, fmt.Sprintf("none: ALLOT_HUGE_PAGES=%q is not off or a number of GiB", env)
		}
		return int64(n * (1 << 30)), fmt.Sprintf("%s GiB (ALLOT_HUGE_PAGES)", env)
	}
	mem := memoryAvailable()
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < mem {
		mem = lim
	}
	if mem <= 0 {
		return 0, "none: the machine's memory is unknown"
	}
	return min(mem/2, HugeReserveMax), "half the memory, at most 16 GiB"
}
