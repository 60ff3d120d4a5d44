package crashtest

import (
	"allot/internal/pgtest"
	"archive/zip"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// figures are what a run measured, logged for docs/RELIABILITY.md.
type figures struct {
	kills, acked, violations int
}

func (f figures) log(t *testing.T, what string) {
	t.Logf("FIGURES %s: kills=%d acknowledged=%d violations=%d", what, f.kills, f.acked, f.violations)
}

// rounds is the number of kills per backend and scenario.
func rounds() int {
	if long() {
		return 30
	}
	return 10
}

// backends returns the databases to run a scenario on: a SQLite file and
// a schema of the shared PostgreSQL server.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "allot.db") },
		"postgres": func(t *testing.T) string { return pgtest.Schema(t) },
	}
}

// kill -9 of allot serve while clients write: after the restart every
// acknowledged write is there, nothing is half-applied, no seat is
// oversubscribed.
//
// "compacting": the server folds each tenant's log into a new snapshot
// every 8 records (ALLOT_COMPACT_RECORDS), so kills also land while a
// snapshot is being written or installed.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	for _, mode := range []struct {
		name string
		env  []string
	}{{"", nil}, {"compacting-", []string{"ALLOT_COMPACT_RECORDS=8"}}} {
		for name, open := range backends(t) {
			name, env := mode.name+name, mode.env
			t.Run(name, func(t *testing.T) { killDuringWrites(t, name, open, env) })
		}
	}
}

func killDuringWrites(t *testing.T, name string, open func(t *testing.T) string, env []string) {
	{
		{
			db := open(t)
			s := startServe(t, db, env, nil)
			w := newWorld(t, s, "Writes")
			var f figures
			var a acks
			for round := range rounds() {
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() { w.write(s, &a, 4, fmt.Sprintf("r%d-", round), stop); close(done) }()
				target := a.n.Load() + int64(5+rand.IntN(30))
				for a.n.Load() < target {
					select {
					case <-done:
						t.Fatalf("the writers stopped before the kill:\n%s", s.output())
					case <-time.After(time.Millisecond):
					}
				}
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				s.kill()
				close(stop)
				<-done
				f.kills++
				s = startServe(t, db, env, nil)
				f.violations += w.verify(t, s, &a)
			}
			f.acked = int(a.n.Load())
			f.log(t, "kill during writes ("+name+")")
			if f.violations > 0 {
				t.Fatalf("%d violations", f.violations)
			}
		}
	}
}

// kill -9 of allot serve during tenant imports: an import is all or
// nothing, and an acknowledged one is all there.
func TestKillDuringImportIsAllOrNothing(t *testing.T) {
	n := 3000
	if long() {
		n = 20000
	}
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			s := startServe(t, db, nil, nil)
			var f figures
			var whole time.Duration // round 0: how long a whole import takes
			during := 0             // kills that landed before the acknowledgement
			for round := range rounds() + 1 {
				tid, admin := s.customer(fmt.Sprintf("Import%d", round), 0)
				body := zipDir(t, writeBundle(t, fmt.Sprintf("import%d.example", round), n))
				type result struct {
					status int
					body   []byte
				}
				res := make(chan result, 1)
				start := time.Now()
				go func() {
					st, b := call("POST", s.URL+"/allot/v1/tenants/"+tid+"/import", admin, body, "application/zip")
					res <- result{st, b}
				}()
				killed := round > 0 // round 0 measures a whole import
				if killed {
					time.Sleep(time.Duration(rand.Int64N(int64(whole) + 1)))
					s.kill()
					f.kills++
				}
				r := <-res
				if round == 0 {
					whole = time.Since(start)
				}
				acked := r.status == 200
				if killed && !acked {
					during++
				}
				if !acked && !killed {
					t.Fatalf("import: %d %s", r.status, r.body)
				}
				if acked {
					f.acked++
				}
				if killed {
					s = startServe(t, db, nil, nil)
				}
				got := s.countUsers(t, admin, "bulk")
				switch {
				case acked && got != n:
					f.violations++
					t.Errorf("round %d: the acknowledged import has %d of %d users", round, got, n)
				case got != 0 && got != n:
					f.violations++
					t.Errorf("round %d: a killed import left %d of %d users", round, got, n)
				}
				t.Logf("round %d: killed=%v acknowledged=%v users=%d", round, killed, acked, got)
			}
			f.log(t, fmt.Sprintf("kill during imports (%s, %d users per import, %d kills before the acknowledgement)", name, n, during))
		})
	}
}

// zipDir zips the files of a bundle folder.
func zipDir(t testing.TB, dir string) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := z.Create(e.Name())
		w.Write(data)
	}
	z.Close()
	return b.Bytes()
}
