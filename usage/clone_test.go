package usage

import (
	"reflect"
	"testing"

	"allot/tenant"
)

// A tenant snapshot holds the aggregates as they were: later events and
// reports, which change users' aggregates in place, do not show in it.
func TestSnapshotAggregatesAreIndependent(t *testing.T) {
	e := newEnv(t)
	e.addUsers(at("2024-05-01T00:00:00Z"), 3, "SPE_E5")
	now := at("2024-06-03T00:00:00Z")
	e.events(now, `{"id":"a","user":"user1@contoso.example","feature":"attackSimulation","at":"2024-06-01T10:00:00Z"}
{"id":"b","user":"user2@contoso.example","feature":"copilot","at":"2024-06-02T10:00:00Z"}`)
	var snap *tenant.State
	e.tn.Read(func(s *tenant.State) { snap = s.Snapshot() })
	before := e.snapshot()
	if got := snapshot(Of(snap)); !reflect.DeepEqual(got, before) {
		t.Fatalf("snapshot differs from its tenant:\n%s", diffSnapshots(before, got))
	}
	head, ring := Of(snap).ids.head, ringSum(&Of(snap).ids)
	// The same users and features again (updated in place), new features
	// (appended) and a new user's first use.
	e.events(now, `{"id":"c","user":"user1@contoso.example","feature":"attackSimulation","at":"2024-06-02T11:00:00Z"}
{"id":"d","user":"user1@contoso.example","feature":"copilot","at":"2024-06-02T12:00:00Z"}
{"id":"e","user":"user2@contoso.example","feature":"copilot","at":"2024-06-02T18:00:00Z"}
{"id":"f","user":"user3@contoso.example","feature":"copilot","at":"2024-06-02T18:00:00Z"}`)
	if reflect.DeepEqual(e.snapshot(), before) {
		t.Fatal("the later events changed nothing: the test is too weak")
	}
	if got := snapshot(Of(snap)); !reflect.DeepEqual(got, before) {
		t.Fatalf("later events show in the snapshot:\n%s", diffSnapshots(before, got))
	}
	if got := Of(snap).ids.head; got != head {
		t.Fatalf("snapshot's event-id ring moved from %d to %d", head, got)
	}
	if got := ringSum(&Of(snap).ids); got != ring {
		t.Fatal("later event ids show in the snapshot's ring")
	}
}

// ringSum sums the ids the ring remembers.
func ringSum(r *idRing) uint64 {
	var s uint64
	for _, ch := range r.chunks {
		for _, h := range ch {
			s += h
		}
	}
	return s
}
