package tenant

import (
	"allot/internal/testfile"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"testing"

	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
)

// A database written by the previous version (session 4, a3ecc5d: `allot
// serve --demo`, one JSON row per object in objects) opens with this one:
// the schema migrates, every tenant's objects load exactly as they were
// stored, the tenants load without problems, and the first compaction
// moves each tenant into a snapshot — the objects rows are gone and the
// same objects and license state load afterwards.
func TestDatabaseOfThePreviousVersionOpensAndMigrates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allot.db")
	testfile.Gunzip(t, "testdata/session4-demo.db.gz", path)

	// What the previous version stored, read from its own table.
	legacy := map[string]map[string]string{} // tenant → kind/id → body
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT tenant_id, kind, id, body FROM objects`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var tn, kind, id string
		var body []byte
		if err := rows.Scan(&tn, &kind, &id, &body); err != nil {
			t.Fatal(err)
		}
		if legacy[tn] == nil {
			legacy[tn] = map[string]string{}
		}
		legacy[tn][kind+"/"+id] = string(body)
		n++
	}
	rows.Close()
	db.Close()
	if n < 1000 {
		t.Fatalf("the fixture holds %d objects; want a demo tenant", n)
	}

	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("opening the previous version's database: %v", err)
	}
	loadAll := func(tn string) map[string]string {
		got := map[string]string{}
		if err := st.LoadObjects(context.Background(), tn, func(o store.Object) error {
			got[string(o.Kind)+"/"+o.ID] = string(o.Body)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for tn, want := range legacy {
		if got := loadAll(tn); !equalMaps(got, want) {
			t.Fatalf("tenant %s: %d objects load, %d stored, or bodies differ", tn, len(got), len(want))
		}
	}
	digests := map[string]string{}
	rt := newRuntime(t, st)
	for tn := range legacy {
		if tn == store.PartnerTenant {
			continue
		}
		x, ok := rt.Get(tn)
		if !ok {
			t.Fatalf("tenant %s did not load", tn)
		}
		if ps := x.Problems(); len(ps) > 0 {
			t.Fatalf("tenant %s loads with problems: %v", tn, ps)
		}
		digests[tn] = licenseState(t, x)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := map[string]map[string]string{}
	for tn := range legacy {
		before[tn] = loadAll(tn)
		if err := st.Compact(context.Background(), tn); err != nil {
			t.Fatalf("compacting %s: %v", tn, err)
		}
		if got := loadAll(tn); !equalMaps(got, before[tn]) {
			t.Fatalf("tenant %s: the objects changed in the compaction", tn)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM objects`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("objects rows left after every tenant's first snapshot: %d, %v", left, err)
	}
	db.Close()

	st2, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	rt2 := newRuntime(t, st2)
	defer rt2.Close(context.Background())
	for tn, want := range digests {
		x, ok := rt2.Get(tn)
		if !ok {
			t.Fatalf("tenant %s did not load from its snapshot", tn)
		}
		if got := licenseState(t, x); got != want {
			t.Fatalf("tenant %s: license state %s from the snapshot, %s from the legacy rows", tn, got, want)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// licenseState digests every user's license records as the readers see
// them.
func licenseState(t *testing.T, x *Tenant) string {
	h := sha256.New()
	x.Read(func(s *State) {
		var lines []string
		s.Engine.ForEachUserLicenses(func(_ *licensing.User, ls licensing.UserLicenses) bool {
			for i := range ls.Len() {
				b, err := json.Marshal(ls.At(i))
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, string(b))
			}
			return true
		})
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Fprintf(h, "%s\n", l)
		}
	})
	return hex.EncodeToString(h.Sum(nil))
}
