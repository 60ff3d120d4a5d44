package connections_test

import (
	"context"
	"testing"

	"allot/m365"
	"allot/tenant"
)

// TestInterruptedSyncConverges: a sync stopped in the middle (its context
// ends while it reads, as a killed process stops) changes nothing and
// leaves the previous cursor; the next sync converges. A kill between the
// reads and the commit is the same case: the sync is one command.
func TestInterruptedSyncConverges(t *testing.T) {
	w := newWorld(t, 4)
	for _, u := range []string{"a", "b", "c"} {
		w.ruser(u + "@fabrikam.example")
	}
	conn := w.connect(false)
	w.sync(conn)
	w.ruser("d@fabrikam.example")
	lt, _ := w.local.RT.Get(w.lid)
	for _, stopAt := range []int64{1, 2, 3, 5} {
		ctx, cancel := context.WithCancel(context.Background())
		base := w.proxy.n.Load()
		f := func(n int64) {
			if n-base >= stopAt {
				cancel()
			}
		}
		w.proxy.onRequest.Store(&f)
		_, err := m365.Sync(ctx, lt, w.mgr.Env, conn, nil, "test")
		w.proxy.onRequest.Store(nil)
		cancel()
		if err == nil {
			t.Fatalf("stopped after %d requests: the sync did not fail", stopAt)
		}
		var st m365.SyncState
		var users int
		lt.Read(func(s *tenant.State) { st, users = m365.State(s, conn), s.Engine.UserCount() })
		if users != 3 || st.LastError == "" {
			t.Fatalf("after a sync stopped at request %d: %d users (want 3, unchanged), last error %q", stopAt, users, st.LastError)
		}
	}
	res := w.sync(conn)["result"].(map[string]any)
	if res["kind"] != "delta" {
		t.Fatalf("the sync after the interrupted ones: %v, want a delta from the kept cursor", res)
	}
	rd := directory(t, w.remote, w.radmin, nil)
	ld := directory(t, w.local, w.ladmin, nil)
	equalMaps(t, "user", ld.Users, rd.Users)
}
