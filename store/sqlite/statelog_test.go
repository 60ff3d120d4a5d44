package sqlite_test

import (
	"context"
	"fmt"
	"testing"

	"allot/store"
	"allot/store/sqlite"
	"allot/store/storetest"
)

// A database of an earlier version keeps its objects as one row each in
// objects: they load as the tenant's base, later commits apply on top, and
// the first compaction moves everything into a snapshot and deletes the
// rows, changing nothing that loads.
func TestLegacyObjectRowsMigrateAtFirstCompaction(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		q := fmt.Sprintf(`INSERT INTO objects (tenant_id, kind, id, body) VALUES ('t1', 'user', 'u%02d', '{"n":%d}')`, i, i)
		if err := sqlite.WriterExec(s, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{
		{Kind: store.KindUser, ID: "u03", Delete: true},
		{Kind: store.KindUser, ID: "u05", Body: []byte(`{"n":"five"}`)},
		{Kind: store.KindUser, ID: "u99", Body: []byte(`{"n":99}`)},
	}}}); err != nil {
		t.Fatal(err)
	}
	render := func() string {
		var out string
		if err := s.LoadObjects(ctx, "t1", func(o store.Object) error {
			out += fmt.Sprintf("%s/%s=%s\n", o.Kind, o.ID, o.Body)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := render()
	want := ""
	for i := range 20 {
		switch i {
		case 3:
		case 5:
			want += "user/u05={\"n\":\"five\"}\n"
		default:
			want += fmt.Sprintf("user/u%02d={\"n\":%d}\n", i, i)
		}
	}
	want += "user/u99={\"n\":99}\n"
	if before != want {
		t.Fatalf("legacy rows with a record on top load as\n%s\nwant\n%s", before, want)
	}
	if err := s.Compact(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if after := render(); after != before {
		t.Fatalf("after the first compaction:\n%s\nwant\n%s", after, before)
	}
	rows, err := sqlite.WriterQueryInt(s, `SELECT count(*) FROM objects WHERE tenant_id = 't1'`)
	if err != nil || rows != 0 {
		t.Fatalf("legacy rows left after the first snapshot: %d, %v", rows, err)
	}
	records, err := sqlite.WriterQueryInt(s, `SELECT count(*) FROM state_changes WHERE tenant_id = 't1'`)
	if err != nil || records != 0 {
		t.Fatalf("records left after compaction: %d, %v", records, err)
	}
}

// A compaction interrupted after writing some parts (kill -9) leaves them
// at the number the next compaction writes too: that one replaces them and
// succeeds. Two compactions of the same tenant at once (the background one
// and a caller's) both succeed, one after the other.
func TestCompactionAfterLeftoversAndConcurrently(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t1", CompanyName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Commit(ctx, []store.Change{{TenantID: "t1", Mutations: []store.Mutation{
			{Kind: store.KindUser, ID: fmt.Sprint("u", i), Body: []byte(fmt.Sprint(i))}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// Leftover of an interrupted compaction at record 3: garbage data.
	if err := sqlite.WriterExec(s, `INSERT INTO state_snapshots (tenant_id, seq, part, first_kind, first_id, data) VALUES ('t1', 3, 0, 'a', 'b', x'00')`); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- s.Compact(ctx, "t1") }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("Compact: %v", err)
		}
	}
	var got []string
	if err := s.LoadObjects(ctx, "t1", func(o store.Object) error {
		got = append(got, o.ID+"="+string(o.Body))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[u0=0 u1=1 u2=2]" {
		t.Fatalf("after compaction: %v", got)
	}
}

// The background compactor's compaction leaves a tenant whose log is short
// (the commits made while a compaction ran ask for one more), except a
// tenant without a snapshot; Compact compacts any log.
func TestTheBackgroundCompactionLeavesAShortLog(t *testing.T) {
	s := openStore(t)
	storetest.RunBackgroundCompactionLeavesAShortLog(t, s, func(id string) error { return sqlite.CompactLong(s, id) }, func(id string) int64 {
		t.Helper()
		n, err := sqlite.WriterQueryInt(s, `SELECT coalesce((SELECT snapshot_seq FROM state_heads WHERE tenant_id = '`+id+`'), -1)`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
}
