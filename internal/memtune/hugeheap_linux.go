package memtune

import (
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// hugePageSize is the x86-64 and arm64 (4 KiB base pages) transparent
// huge page size; the advice is aligned to it.
const hugePageSize = 2 << 20

// reserveHeap grows the heap by size bytes it never touches, advises them
// MADV_HUGEPAGE (huge) or MADV_NOHUGEPAGE and hands them to the
// prefaulter, frees them and returns them to the runtime's free pages
// (see hugeheap.go). It returns the bytes reserved.
func reserveHeap(size int64, huge bool) (int64, error) {
	b := make([]byte, size) // fresh pages: the runtime does not zero them, nothing is faulted
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	beg := (start + hugePageSize - 1) &^ (hugePageSize - 1)
	end := (start + uintptr(size)) &^ (hugePageSize - 1)
	var err error
	if beg < end {
		advice := uintptr(syscall.MADV_HUGEPAGE)
		if !huge {
			advice = syscall.MADV_NOHUGEPAGE
		}
		// Without huge pages in the kernel, MADV_NOHUGEPAGE fails: the
		// pages are 4 KiB anyway.
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, beg, end-beg, advice); e != 0 && huge {
			err = e
		}
	}
	runtime.KeepAlive(b)
	b = nil
	debug.FreeOSMemory() // a collection of a heap of a few MiB at start-up, and the reserve marked returned
	if err != nil || beg >= end {
		return 0, err
	}
	if !huge {
		setPrefaultReserve(beg, end-beg, linuxPager{})
	}
	return int64(end - beg), nil
}

// linuxPager is the kernel's part of prefaulting (prefault.go).
type linuxPager struct{}

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14): fault the range in
// as if written, without writing it.
const madvPopulateWrite = 23

func (linuxPager) populate(addr, n uintptr) error { return madvise(addr, n, madvPopulateWrite) }

func (linuxPager) advise(addr, n uintptr, huge bool) error {
	if huge {
		return madvise(addr, n, syscall.MADV_HUGEPAGE)
	}
	return madvise(addr, n, syscall.MADV_NOHUGEPAGE)
}

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID).
func (linuxPager) threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// populatedWriteCost is what the first write to a 4 KiB page costs after
// the kernel populated it (MADV_POPULATE_WRITE): it populates
// writeProbeBytes of fresh memory, writes one byte per page in
// writeProbeChunks chunks timed on the thread's CPU clock, and returns the
// median chunk's cost per page (a chunk the host preempted does not
// count). An error: the kernel cannot populate.
func populatedWriteCost() (time.Duration, error) {
	m, err := syscall.Mmap(-1, 0, writeProbeBytes, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, err
	}
	defer syscall.Munmap(m)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(m)))
	_ = madvise(addr, writeProbeBytes, syscall.MADV_NOHUGEPAGE) // fails only without huge pages: 4 KiB pages anyway
	if err := madvise(addr, writeProbeBytes, madvPopulateWrite); err != nil {
		return 0, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var pg linuxPager
	const chunk = writeProbeBytes / writeProbeChunks
	costs := make([]time.Duration, writeProbeChunks)
	for c := range costs {
		t0 := pg.threadCPU()
		for i := c * chunk; i < (c+1)*chunk; i += 4096 {
			m[i] = 1
		}
		costs[c] = (pg.threadCPU() - t0) / (chunk / 4096)
	}
	slices.Sort(costs)
	return costs[len(costs)/2], nil
}

func madvise(addr, n, advice uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, n, advice); e != 0 {
		return e
	}
	return nil
}

// hugePagesAvailable: /sys/kernel/mm/transparent_hugepage/enabled is
// "always" or "madvise" (selected in brackets).
func hugePagesAvailable() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return false
	}
	s := string(b)
	return strings.Contains(s, "[always]") || strings.Contains(s, "[madvise]")
}

// overcommitStrict: vm.overcommit_memory is 2 (mapped memory is committed
// memory).
func overcommitStrict() bool {
	b, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	return err == nil && strings.TrimSpace(string(b)) == "2"
}

// memoryAvailable is the machine's memory, or the cgroup's limit when
// lower (cgroup v2 memory.max, v1 limit_in_bytes).
func memoryAvailable() int64 {
	var si syscall.Sysinfo_t
	mem := int64(0)
	if syscall.Sysinfo(&si) == nil {
		mem = int64(si.Totalram) * int64(si.Unit)
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (mem <= 0 || n < mem) {
			mem = n
		}
	}
	return mem
}
