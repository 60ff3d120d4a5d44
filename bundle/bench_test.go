package bundle

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
)

// BenchmarkImportBundle: import a synthetic bundle (ALLOT_BENCH_USERS
// users, default 20,000; users/100 groups; ~2.5 memberships per user) into
// an empty tenant on SQLite: parse, validate, compute licenses, commit.
func BenchmarkImportBundle(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("ALLOT_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	dir, _ := writeSynthBundle(b, synth.Config{Users: n, Groups: max(10, n/100), GroupLicenses: max(5, n/200), Seed: 1})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rt, _ := runtime(&testing.T{})
		tn := newTenant(&testing.T{}, rt, "11111111-1111-4111-8111-111111111111")
		b.StartTimer()
		bd, err := Open(dir, catalog.Default())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Apply(context.Background(), tn, bd, "bench", time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		rt.Close(context.Background())
	}
	b.ReportMetric(float64(n), "users")
}

// writeSynthBundle writes the bundle of a synthetic tenant, its licenses
// computed, to a new folder, and returns the folder and the tenant's
// engine.
func writeSynthBundle(tb testing.TB, cfg synth.Config) (string, *licensing.Engine) {
	tb.Helper()
	tn := synth.Generate(catalog.Default(), cfg)
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if err := tn.LoadInto(e); err != nil {
		tb.Fatal(err)
	}
	e.Recompute(licensing.Op{Now: time.Now()})
	dir := filepath.Join(tb.TempDir(), "bundle")
	if err := Write(dir, e); err != nil {
		tb.Fatal(err)
	}
	return dir, e
}
