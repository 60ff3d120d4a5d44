package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"allot/store/storetest"
)

// go test ./store/sqlite -run '^$' -bench . -benchtime 3s

func BenchmarkCommitSmall(b *testing.B)   { storetest.BenchCommitSmall(b, openStore(b)) }
func BenchmarkCommitBatch64(b *testing.B) { storetest.BenchCommitBatch64(b, openStore(b)) }
func BenchmarkCommitBulk(b *testing.B)    { storetest.BenchCommitBulk(b, openStore(b)) }

// BenchmarkFsync measures the floor under every durable commit on this
// machine: appending 4 KiB to a file in the benchmark's temp directory (the
// directory the database lives in) and fsyncing it.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := f.Write(page); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds())/1e3, "p99-µs")
}
