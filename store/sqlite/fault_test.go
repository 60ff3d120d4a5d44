package sqlite_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"allot/store"
	"allot/store/sqlite"
)

// Failed writes are classified: a read-only or full database refuses
// writes until an operator acts (store.ErrUnwritable, with the reason);
// ProbeWrite sees a read-only database the same way (a full one only when
// even a write that adds nothing has no room) and recovers with it.
func TestWriteFailuresAreClassified(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	commit := func(id string, size int) error {
		m := store.Mutation{Kind: store.KindUser, ID: id, Body: []byte(`{"x":"` + strings.Repeat("x", size) + `"}`)}
		return s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{m}}})
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("probe of a healthy database: %v", err)
	}
	for _, c := range []struct {
		pragma, undo, reason string
		probeFails           bool
	}{
		{"PRAGMA query_only = 1", "PRAGMA query_only = 0", "read-only", true},
		{"PRAGMA max_page_count = 1", "PRAGMA max_page_count = 1073741823", "full", false},
	} {
		if err := sqlite.WriterExec(s, c.pragma); err != nil {
			t.Fatal(err)
		}
		failed := map[string]error{"commit": commit("u-"+c.reason, 64<<10)}
		if c.probeFails {
			failed["probe"] = s.ProbeWrite(ctx)
		}
		for name, err := range failed {
			f := store.FaultOf(err)
			if !errors.Is(err, store.ErrUnwritable) || f == nil || !strings.Contains(f.Reason, c.reason) {
				t.Fatalf("%s on a %s database: %v", name, c.reason, err)
			}
		}
		if err := sqlite.WriterExec(s, c.undo); err != nil {
			t.Fatal(err)
		}
		if err := s.ProbeWrite(ctx); err != nil {
			t.Fatalf("probe after %s: %v", c.undo, err)
		}
		if err := commit("u-"+c.reason, 64<<10); err != nil {
			t.Fatalf("commit after %s: %v", c.undo, err)
		}
	}
}
