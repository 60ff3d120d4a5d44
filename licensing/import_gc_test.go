package licensing

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"testing"

	"allot/internal/memtune"
)

// A large import collects the garbage of its rows before its recompute
// (memtune.BetweenBulkPhases), under the process's policy for bulk
// commits only: the recompute pauses the collector, and what it found
// uncollected stayed until the commit (the 1M import's peak varied by
// 0.3 GB with when the last cycle had run).
func TestALargeImportCollectsBeforeItsRecompute(t *testing.T) {
	defer memtune.Enable(memtune.Policy{})
	d := ImportData{}
	for i := range memtune.PauseMinUsers {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		d.Users = append(d.Users, User{ID: id, UserPrincipalName: id + "@t", AccountEnabled: true, UsageLocation: "US"})
	}
	collections := func(p memtune.Policy) uint32 {
		memtune.Enable(p)
		e := New(testCatalog(t), Settings{DefaultUsageLocation: "US"})
		percent := debug.SetGCPercent(-1) // no cycle but those asked for
		defer debug.SetGCPercent(percent)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := e.Import(Op{Actor: "test"}, d); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.NumGC - before.NumGC
	}
	if n := collections(memtune.Policy{}); n != 0 {
		t.Fatalf("without the policy the import collected %d times", n)
	}
	if n := collections(memtune.Policy{BoundBulkCommit: true}); n == 0 {
		t.Fatal("under the policy for bulk commits the import did not collect before its recompute")
	}
}
