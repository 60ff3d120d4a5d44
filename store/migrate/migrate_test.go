package migrate_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"allot/store/migrate"
)

func TestLoadOrdersByNumberAndRefusesBadNames(t *testing.T) {
	ms, err := migrate.Load(fstest.MapFS{
		"migrations/0010_later.sql": {Data: []byte("B")},
		"migrations/0002_first.sql": {Data: []byte("A")},
		"migrations/notes.txt":      {Data: []byte("ignored")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 2 || ms[0].Name != "0002_first.sql" || ms[0].SQL != "A" || ms[1].Version != 10 {
		t.Fatalf("Load = %+v", ms)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number":   {"migrations/init.sql": {}},
		"zero":        {"migrations/0000_init.sql": {}},
		"no _":        {"migrations/0001.sql": {}},
		"same number": {"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}},
		"none":        {},
	} {
		if _, err := migrate.Load(fsys); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
}

func TestChecksAndRun(t *testing.T) {
	ms := []migrate.File{{Version: 1, Name: "0001_a.sql"}, {Version: 3, Name: "0003_b.sql"}}
	if err := migrate.CheckNewest(ms, 3); err != nil {
		t.Fatal(err)
	}
	if err := migrate.CheckNewest(ms, 4); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("CheckNewest(4) = %v", err)
	}
	if err := migrate.CheckCurrent(ms, 1); err == nil || !strings.Contains(err.Error(), "older") {
		t.Fatalf("CheckCurrent(1) = %v", err)
	}
	if err := migrate.CheckCurrent(ms, 3); err != nil {
		t.Fatal(err)
	}
	var ran []int
	boom := errors.New("boom")
	err := migrate.Run(ms, func(f migrate.File) error {
		ran = append(ran, f.Version)
		if f.Version == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "0003_b.sql") || len(ran) != 2 {
		t.Fatalf("Run = %v after %v", err, ran)
	}
}
