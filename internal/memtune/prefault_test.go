package memtune

import (
	"errors"
	"testing"
	"time"
)

// fakePager records the calls of the prefaulter; a huge probe costs
// probeCost of the thread's CPU time.
type fakePager struct {
	probeCost   func(probe int) time.Duration
	adviseErr   error
	populateErr error
	cpu         time.Duration
	probes      int
	advised     []advice  // every advice
	populated   []uintptr // populate calls' addresses, in order
	lastAdvised uintptr
}

// advice is one call of fakePager.advise.
type advice struct {
	addr, n uintptr
	huge    bool
}

func (f *fakePager) advise(addr, n uintptr, huge bool) error {
	if f.adviseErr != nil {
		return f.adviseErr
	}
	f.advised = append(f.advised, advice{addr, n, huge})
	if huge {
		f.lastAdvised = addr
	}
	return nil
}

func (f *fakePager) populate(addr, n uintptr) error {
	if f.populateErr != nil {
		return f.populateErr
	}
	f.populated = append(f.populated, addr)
	if addr == f.lastAdvised && n == probeSize {
		f.cpu += f.probeCost(f.probes)
		f.probes++
	}
	return nil
}

func (f *fakePager) threadCPU() time.Duration { return f.cpu }

// withFakeReserve sets a reserve of steps steps on f whose heap is always
// far ahead (every call populates a step), and restores none after.
func withFakeReserve(t *testing.T, f *fakePager, steps int) {
	t.Helper()
	setPrefaultReserve(1<<40, uintptr(steps)*prefaultStep, f)
	prefaulter.Lock()
	prefaulter.taken = func() uint64 { return 1 << 50 } // the heap is far beyond the reserve
	prefaulter.Unlock()
	t.Cleanup(func() { setPrefaultReserve(0, 0, nil) })
}

// stepsKinds runs the prefaulter's steps to the reserve's end and says
// which were huge (h), 4 KiB after a slow probe (p) and 4 KiB unprobed (.).
func stepsKinds(t *testing.T, f *fakePager, steps int) string {
	t.Helper()
	out := make([]byte, 0, steps)
	for range steps {
		probesBefore := f.probes
		hugeBefore := prefaulter.hugeBytes
		if !prefaultStep1() {
			t.Fatalf("a step did nothing after %q", out)
		}
		switch {
		case prefaulter.hugeBytes > hugeBefore:
			out = append(out, 'h')
		case f.probes > probesBefore:
			out = append(out, 'p')
		default:
			out = append(out, '.')
		}
	}
	return string(out)
}

// Cheap huge pages: every step is probed and populated in huge pages.
func TestPrefaultUsesHugePagesWhileTheyAreCheap(t *testing.T) {
	f := &fakePager{probeCost: func(int) time.Duration { return hugeFast / 4 }}
	withFakeReserve(t, f, 6)
	if got := stepsKinds(t, f, 6); got != "hhhhhh" {
		t.Fatalf("steps %q, want every one in huge pages", got)
	}
	if prefaulter.hugeBytes != 6*prefaultStep || prefaulter.smallBytes != 0 {
		t.Fatalf("%d bytes huge, %d small", prefaulter.hugeBytes, prefaulter.smallBytes)
	}
}

// Dear huge pages: 4 KiB pages, probed again after 1, 3, 7 … steps; a
// cheap probe goes back to huge pages at once.
func TestPrefaultProbesDearHugePagesLessAndLess(t *testing.T) {
	f := &fakePager{probeCost: func(int) time.Duration { return 5 * hugeFast }}
	withFakeReserve(t, f, 40)
	if got, want := stepsKinds(t, f, 40), "p.p...p.......p...............p........."; got != want {
		t.Fatalf("steps %q, want %q", got, want)
	}
	f = &fakePager{probeCost: func(i int) time.Duration {
		if i < 2 {
			return 5 * hugeFast
		}
		return 0
	}}
	withFakeReserve(t, f, 10)
	if got := stepsKinds(t, f, 10); got != "p.p...hhhh" {
		t.Fatalf("warm again after two dear probes: steps %q", got)
	}
	// The reserve beyond the step of the first cheap probe (the seventh)
	// was advised for huge pages, once: the heap's own faults there get
	// them too.
	base, end := uintptr(1<<40), uintptr(1<<40)+10*prefaultStep
	rest := base + 6*prefaultStep + probeSize
	var whole []advice
	for _, a := range f.advised {
		if a.n > prefaultStep {
			whole = append(whole, a)
		}
	}
	if len(whole) != 1 || whole[0] != (advice{rest, end - rest, true}) {
		t.Fatalf("advice of the reserve ahead: %+v, want once for huge pages from %#x", whole, rest)
	}
}

// A dear probe after cheap ones advises the rest of the reserve against
// huge pages before its step's rest is populated.
func TestPrefaultTurnsTheReserveAheadBackTo4KiBPages(t *testing.T) {
	f := &fakePager{probeCost: func(i int) time.Duration {
		if i < 2 {
			return 0
		}
		return 5 * hugeFast
	}}
	withFakeReserve(t, f, 6)
	if got := stepsKinds(t, f, 6); got != "hhp.p." {
		t.Fatalf("steps %q", got)
	}
	base, end := uintptr(1<<40), uintptr(1<<40)+6*prefaultStep
	want := []advice{{base + probeSize, end - base - probeSize, true}, {base + 2*prefaultStep + probeSize, end - base - 2*prefaultStep - probeSize, false}}
	var whole []advice
	for _, a := range f.advised {
		if a.n > prefaultStep {
			whole = append(whole, a)
		}
	}
	if len(whole) != 2 || whole[0] != want[0] || whole[1] != want[1] {
		t.Fatalf("advice of the reserve ahead: %+v, want %+v", whole, want)
	}
}

// A kernel that cannot advise huge pages is never probed again; one that
// cannot populate ends the prefaulting.
func TestPrefaultWithoutHugePagesOrPopulate(t *testing.T) {
	f := &fakePager{probeCost: func(int) time.Duration { return 0 }, adviseErr: errors.New("EINVAL")}
	withFakeReserve(t, f, 4)
	if got := stepsKinds(t, f, 4); got != "...." || len(f.populated) != 4 {
		t.Fatalf("steps %q with %d populate calls, want 4 whole steps in 4 KiB pages", got, len(f.populated))
	}
	f = &fakePager{probeCost: func(int) time.Duration { return 0 }, populateErr: errors.New("EINVAL")}
	withFakeReserve(t, f, 4)
	first := prefaultStep1()
	second := prefaultStep1()
	if first || second {
		t.Fatal("the prefaulter went on after populate failed")
	}
}

// HeapGrows populates ahead only from HeapGrowsMin bytes and under a
// policy with HeapReserve; its done stops the populating (once, however
// often called).
func TestHeapGrowsPopulatesOnlyLargeGrowthUnderThePolicy(t *testing.T) {
	f := &fakePager{probeCost: func(int) time.Duration { return 0 }}
	withFakeReserve(t, f, 4)
	prefaulter.Lock()
	prefaulter.taken = func() uint64 { return 0 } // the heap has taken nothing of the reserve yet
	prefaulter.Unlock()
	running := func() bool {
		prefaulter.Lock()
		defer prefaulter.Unlock()
		return prefaulter.stop != nil
	}
	defer Enable(Policy{})
	for _, c := range []struct {
		policy Policy
		bytes  int64
		want   bool
	}{
		{Policy{HeapReserve: true}, HeapGrowsMin, true},
		{Policy{HeapReserve: true}, HeapGrowsMin - 1, false},
		{Policy{}, HeapGrowsMin, false},
	} {
		policy.Store(&c.policy) // Enable would make a reserve of its own
		done := HeapGrows(c.bytes)
		if running() != c.want {
			t.Fatalf("HeapGrows(%d) under %+v: populating %v, want %v", c.bytes, c.policy, running(), c.want)
		}
		done()
		done()
		if running() {
			t.Fatalf("HeapGrows(%d) under %+v: still populating after done", c.bytes, c.policy)
		}
	}
	prefaulter.Lock()
	active := prefaulter.active
	prefaulter.Unlock()
	if active != 0 {
		t.Fatalf("%d bulk works counted after every done", active)
	}
}
