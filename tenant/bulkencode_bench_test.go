package tenant

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
)

// BenchmarkEncodeRecords encodes the records of a 100,000-user import, as
// a bulk commit streams them, with one worker and one per processor. It
// reports the CPU time of the process per encoding too (cpu-ns/op, the
// robust figure on a shared machine).
func BenchmarkEncodeRecords(b *testing.B) {
	e := benchEngine(b)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				if err := encodeRecords(e, workers, func(b *recBatch) bool { b.free(); return true }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func benchEngine(b *testing.B) *licensing.Engine {
	s := synth.Generate(catalog.Default(), synth.Config{Users: 100_000, Groups: 1000, GroupLicenses: 500, MembershipsPerUser: 2, Seed: 7})
	d := licensing.ImportData{Units: map[string]int{}, Users: s.Users, Groups: s.Groups, Members: s.Members}
	for id, u := range s.Units {
		d.Units[id] = u.Enabled
	}
	for owner, ls := range s.GroupLicenses {
		for _, l := range ls {
			d.GroupLicenses = append(d.GroupLicenses, licensing.OwnedSource{Owner: owner, LicenseSource: l})
		}
	}
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if _, err := e.Import(licensing.Op{Actor: "bench"}, d); err != nil {
		b.Fatal(err)
	}
	return e
}

// processCPU is the user and system time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
