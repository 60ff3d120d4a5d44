package memtune

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestHugeHeapBacksLaterAllocations: after the reserve, memory the heap
// allocates and touches is backed by huge pages (the kernel's
// AnonHugePages of the mapping that holds it), and the reserve itself
// left nothing resident. It runs in a fresh process, as the reserve does
// at a server's start: in this one, other tests have left free memory
// below the reserve, which the heap would fill first.
func TestHugeHeapBacksLaterAllocations(t *testing.T) {
	if !hugePagesAvailable() {
		t.Skip("transparent huge pages are off in this kernel")
	}
	if inParent(t) {
		return
	}
	const reserve = 256 << 20
	before := rssOf(t)
	got, err := reserveHeap(reserve, true)
	if err != nil || got < reserve-2*hugePageSize {
		t.Fatalf("reserveHeap: %d bytes advised, %v", got, err)
	}
	if grew := rssOf(t) - before; grew > 32<<20 {
		t.Fatalf("the reserve made %d MiB resident; it must touch nothing but the runtime's page metadata", grew>>20)
	}
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	huge := anonHugeIn(t, addr, addr+uintptr(len(b)))
	runtime.KeepAlive(b)
	if huge < 32<<20 {
		t.Fatalf("a 64 MiB allocation after the reserve has %d MiB in huge pages, want most of it", huge>>20)
	}
}

// ALLOT_HUGE_PAGES chooses the reserve: by default as the write probe
// finds (faked here: a cheap first write, so prefaulted), huge pages when
// on or a size, prefaulted when prefault, none when off or not understood.
func TestHeapReserveSetting(t *testing.T) {
	strict := overcommitStrict()
	defer func(f func() (time.Duration, error)) { writeCost = f }(writeCost)
	writeCost = func() (time.Duration, error) { return 50 * time.Nanosecond, nil }
	for _, c := range []struct {
		env  string
		kind reserveKind
		size int64 // 0: the default size
		bad  bool
	}{
		{"", reservePrefault, 0, false},
		{"prefault", reservePrefault, 0, false},
		{"off", reserveNone, 0, false},
		{"0", reserveNone, 0, false},
		{"on", reserveHuge, 0, false},
		{"2", reserveHuge, 2 << 30, false},
		{"0.5", reserveHuge, 512 << 20, false},
		{"lots", reserveNone, 0, true},
		{"-1", reserveNone, 0, true},
	} {
		kind, size, why := heapReserve(c.env)
		want, wantSize := c.kind, c.size
		if want == reserveHuge && !hugePagesAvailable() || want != reserveNone && strict {
			want = reserveNone
		}
		if want == reserveNone {
			wantSize = 0
		}
		if kind != want || c.bad != strings.Contains(why, "not on, off, prefault or a number") {
			t.Errorf("ALLOT_HUGE_PAGES=%q: %v (%s), want %v", c.env, kind, why, want)
		}
		switch {
		case want == reserveNone && size != 0:
			t.Errorf("ALLOT_HUGE_PAGES=%q: a reserve of %d without one", c.env, size)
		case want != reserveNone && wantSize == 0 && (size <= 0 || size > HugeReserveMax):
			t.Errorf("ALLOT_HUGE_PAGES=%q: default reserve %d, want (0, %d]", c.env, size, int64(HugeReserveMax))
		case wantSize != 0 && size != wantSize:
			t.Errorf("ALLOT_HUGE_PAGES=%q: reserve %d, want %d", c.env, size, wantSize)
		}
	}
}

// TestDefaultReserveFollowsTheWriteProbe: by default the reserve is
// advised for huge pages where a populated page's first write still costs
// a fault of the host, or where the kernel cannot populate, and is
// populated ahead where the write is cheap or huge pages are off; the note
// says what the probe found.
func TestDefaultReserveFollowsTheWriteProbe(t *testing.T) {
	fixed := func(d time.Duration, err error) func() (time.Duration, error) {
		return func() (time.Duration, error) { return d, err }
	}
	for _, c := range []struct {
		huge  bool
		probe func() (time.Duration, error)
		want  reserveKind
		note  string
	}{
		{true, fixed(4600*time.Nanosecond, nil), reserveHuge, "still cost 4.6 µs when first written"},
		{true, fixed(hostFaultMin, nil), reserveHuge, "still cost 1.0 µs"},
		{true, fixed(hostFaultMin-1, nil), reservePrefault, "cost 999 ns when first written"},
		{true, fixed(40*time.Nanosecond, nil), reservePrefault, "cost 40 ns"},
		{true, fixed(0, errors.New("invalid argument")), reserveHuge, "cannot populate ahead (invalid argument)"},
		{false, fixed(4600*time.Nanosecond, nil), reservePrefault, "populated ahead"},
	} {
		kind, note := chooseReserve(c.huge, c.probe)
		if kind != c.want || !strings.Contains(note, c.note) {
			t.Errorf("huge pages %v, want %v with %q: %v (%s)", c.huge, c.want, c.note, kind, note)
		}
	}
	defer func(f func() (time.Duration, error)) { writeCost = f }(writeCost)
	writeCost = fixed(5*time.Microsecond, nil)
	want := reserveHuge
	if !hugePagesAvailable() {
		want = reservePrefault
	}
	if kind, _, why := heapReserve(""); kind != want && !overcommitStrict() {
		t.Errorf("default reserve with a dear first write: %v (%s), want %v", kind, why, want)
	}
}

// TestPopulatedWriteCostMeasuresAWrite: the probe populates, writes and
// returns a cost per page that a page write can have (the machine decides
// which side of hostFaultMin it is on).
func TestPopulatedWriteCostMeasuresAWrite(t *testing.T) {
	cost, err := populatedWriteCost()
	if err != nil {
		t.Skipf("this kernel cannot populate (MADV_POPULATE_WRITE, Linux 5.14): %v", err)
	}
	if cost <= 0 || cost > 10*time.Millisecond {
		t.Fatalf("a first write to a populated page cost %v", cost)
	}
	t.Logf("a populated 4 KiB page's first write: %v", cost)
}

// TestPrefaultedHeapIsPopulatedAheadOfBulkWork: with the default reserve,
// a large load's pause (LoadWork) makes the reserve's pages ahead of the heap
// resident without the process touching them, in 4 KiB pages, up to
// prefaultAhead beyond the heap; the populating stops when the pause
// ends. It runs in a fresh process, as the reserve is made at a server's
// start.
func TestPrefaultedHeapIsPopulatedAheadOfBulkWork(t *testing.T) {
	if inParent(t) {
		return
	}
	const reserve = 512 << 20
	got, err := reserveHeap(reserve, false)
	if err != nil || got < reserve-2*hugePageSize {
		t.Fatalf("reserveHeap: %d bytes reserved, %v", got, err)
	}
	if err := (linuxPager{}).populate(prefaulter.base, 4096); err != nil {
		t.Skipf("this kernel cannot populate (MADV_POPULATE_WRITE, Linux 5.14): %v", err)
	}
	before := rssOf(t)
	Enable(Policy{PauseGC: true})
	defer Enable(Policy{})
	pause := LoadWork()
	resume := pause.End
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && populated() < prefaultAhead {
		time.Sleep(time.Millisecond)
	}
	if grew := rssOf(t) - before; populated() < prefaultAhead || grew < prefaultAhead*3/4 {
		t.Fatalf("during the pause: %d MiB populated, RSS grew %d MiB; want %d MiB ahead of the heap", populated()>>20, grew>>20, prefaultAhead>>20)
	}
	if ahead := populated(); ahead > prefaultAhead+2*prefaultStep {
		t.Fatalf("%d MiB populated for a heap that did not grow; want about %d MiB", ahead>>20, prefaultAhead>>20)
	}
	// The heap grows: the populating follows it.
	b := make([]byte, 192<<20)
	for time.Now().Before(deadline) && populated() < 192<<20+prefaultAhead {
		time.Sleep(time.Millisecond)
	}
	if populated() < 192<<20+prefaultAhead {
		t.Fatalf("after the heap grew 192 MiB: %d MiB populated, want %d", populated()>>20, (192<<20+prefaultAhead)>>20)
	}
	prefaulter.Lock()
	hugeBytes, smallBytes, slow, done := prefaulter.hugeBytes, prefaulter.smallBytes, prefaulter.slowProbes, prefaulter.done
	base := prefaulter.base
	prefaulter.Unlock()
	if hugeBytes+smallBytes != done {
		t.Fatalf("%d MiB in huge and %d MiB in 4 KiB pages, %d MiB populated", hugeBytes>>20, smallBytes>>20, done>>20)
	}
	// Steps in 4 KiB pages are not huge (the reserve is advised against
	// it) but for their probe's first huge page. smaps counts whole
	// mappings, and the populating goes on while it is read: a step in
	// flight beyond done, in a mapping advised for huge pages like the
	// steps before it, may be counted too (it was: 326 MiB counted for
	// 320 MiB populated in huge pages and no slow probe).
	if huge := anonHugeIn(t, base, base+done); uintptr(huge) > hugeBytes+uintptr(slow)*probeSize+prefaultStep {
		t.Fatalf("%d MiB of the populated reserve in huge pages; the prefaulter chose %d MiB and %d probes", huge>>20, hugeBytes>>20, slow)
	}
	t.Logf("populated %d MiB in huge pages, %d MiB in 4 KiB pages (%d slow probes)", hugeBytes>>20, smallBytes>>20, slow)
	runtime.KeepAlive(b)
	resume()
	after := populated()
	time.Sleep(20 * prefaultIdle)
	c := make([]byte, 256<<20) // the heap grows again, with no bulk work
	time.Sleep(20 * prefaultIdle)
	runtime.KeepAlive(c)
	if populated() != after {
		t.Fatalf("%d MiB populated after the pause ended, %d MiB when it ended", populated()>>20, after>>20)
	}
}

// populated is the bytes of the reserve the prefaulter has populated.
func populated() uintptr {
	prefaulter.Lock()
	defer prefaulter.Unlock()
	return prefaulter.done
}

// inParent runs the test t again in a fresh process (the heap's reserve is
// made at a process's start: in this one, other tests have left free
// memory below it, which the heap would fill first) and reports true,
// after failing t if the child did not pass; in that child it reports
// false, and the test goes on.
func inParent(t *testing.T) bool {
	t.Helper()
	if os.Getenv("MEMTUNE_CHILD") == t.Name() {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), "MEMTUNE_CHILD="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test in a fresh process: %v\n%s", err, out)
	}
	return true
}

// rssOf is this process's resident memory.
func rssOf(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * int64(os.Getpagesize())
}

// anonHugeIn is the AnonHugePages of the mappings that overlap [lo, hi)
// (/proc/self/smaps).
func anonHugeIn(t *testing.T, lo, hi uintptr) int64 {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, seen := false, false
	var sum int64
	for sc.Scan() {
		line := sc.Text()
		var from, to uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &from, &to); n == 2 && !strings.HasSuffix(strings.Fields(line)[0], ":") {
			in = from < hi && lo < to
			seen = seen || in
			continue
		}
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			sum += kb << 10
		}
	}
	if !seen {
		t.Fatalf("no mapping holds %#x", lo)
	}
	return sum
}
