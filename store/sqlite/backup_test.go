package sqlite_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"allot/store"
)

func TestBackupIsAConsistentWorkingDatabase(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	write := func(from, n int) {
		t.Helper()
		ch := store.Change{TenantID: "t1"}
		for i := from; i < from+n; i++ {
			ch.Mutations = append(ch.Mutations, store.Mutation{Kind: store.KindUser, ID: fmt.Sprintf("u%04d", i), Body: []byte(`{}`)})
		}
		if err := s.Commit(ctx, []store.Change{ch}); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 1000)
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	write(1000, 10) // after the backup: not in it
	if err := s.Backup(ctx, path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Backup over an existing file = %v, want fs.ErrExist", err)
	}
	if _, err := os.Stat(path + ".partial"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a partial backup file is left behind: %v", err)
	}

	b := openAt(t, path)
	n := 0
	if err := b.LoadObjects(ctx, "t1", func(store.Object) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1000 {
		t.Fatalf("the backup holds %d objects, want the 1000 committed before it", n)
	}
}
