package memtune

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
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
	if os.Getenv("MEMTUNE_HUGE_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestHugeHeapBacksLaterAllocations$", "-test.v")
		cmd.Env = append(os.Environ(), "MEMTUNE_HUGE_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestHugeHeapBacksLaterAllocations") {
			t.Fatalf("the test in a fresh process: %v\n%s", err, out)
		}
		return
	}
	const reserve = 256 << 20
	before := rssOf(t)
	got, err := reserveHugeHeap(reserve)
	if err != nil || got < reserve-2*hugePageSize {
		t.Fatalf("reserveHugeHeap: %d bytes advised, %v", got, err)
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

func TestHugeReserveSize(t *testing.T) {
	for _, c := range []struct {
		env  string
		size int64
		ok   bool
	}{{"off", 0, true}, {"0", 0, true}, {"2", 2 << 30, true}, {"0.5", 512 << 20, true}, {"lots", 0, false}, {"-1", 0, false}} {
		size, why := hugeReserveSize(c.env)
		if !hugePagesAvailable() || overcommitStrict() {
			if size != 0 {
				t.Errorf("%q: %d without huge pages or with strict overcommit", c.env, size)
			}
			continue
		}
		if size != c.size || c.ok == strings.Contains(why, "not off or a number") {
			t.Errorf("ALLOT_HUGE_PAGES=%q: %d (%s), want %d", c.env, size, why, c.size)
		}
	}
	if size, _ := hugeReserveSize(""); hugePagesAvailable() && !overcommitStrict() && (size <= 0 || size > HugeReserveMax) {
		t.Errorf("default reserve %d, want (0, %d]", size, int64(HugeReserveMax))
	}
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
