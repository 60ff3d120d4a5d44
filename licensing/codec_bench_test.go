package licensing_test

import (
	"encoding/json"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
)

// codecSample is the users and license records of a synthetic tenant of
// 20,000 users in the shape of the engine benchmarks, recomputed: what
// a tenant stores.
var codecSample = sync.OnceValues(func() ([]licensing.User, []licensing.License) {
	t := synth.Generate(catalog.Default(), synth.Config{Users: 20_000, Groups: 200, SKUs: 50, GroupLicenses: 100, Seed: 1})
	e := licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})
	if err := t.LoadInto(e); err != nil {
		panic(err)
	}
	e.Recompute(licensing.Op{Now: time.Date(2026, 1, 1, 8, 30, 0, 123456000, time.UTC)})
	var users []licensing.User
	var lics []licensing.License
	e.ForEachUser(func(u *licensing.User) bool {
		users = append(users, *u)
		lics = append(lics, e.Licenses(u.ID)...)
		return true
	})
	return users, lics
})

// codecRecords is the number of records one operation encodes and
// decodes: the sample, cycled.
const codecRecords = 1_000_000

// BenchmarkRecordCodec: encode and decode 1,000,000 users and 1,000,000
// license records, binary (licensing.AppendUserBinary, …) against JSON
// (what the store held before). B/record is the stored body's size.
func BenchmarkRecordCodec(b *testing.B) {
	users, lics := codecSample()
	b.Run("user/binary", func(b *testing.B) {
		codecBench(b, users, licensing.AppendUserBinary, licensing.DecodeUser)
	})
	b.Run("user/json", func(b *testing.B) { jsonBench(b, users) })
	b.Run("license/binary", func(b *testing.B) {
		codecBench(b, lics, licensing.AppendLicenseBinary, licensing.DecodeLicense)
	})
	b.Run("license/json", func(b *testing.B) { jsonBench(b, lics) })
}

// BenchmarkRecordCodecCompressed: the size of the bodies of the sample in
// parts of 8,192 records compressed with zstd at its fastest level (what
// store/statelog's snapshots are), binary against JSON, with the ids the
// store keeps beside each body.
func BenchmarkRecordCodecCompressed(b *testing.B) {
	users, lics := codecSample()
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		b.Fatal(err)
	}
	part := func(b *testing.B, n int, id func(i int) string, body func(dst []byte, i int) []byte) {
		var raw, packed int
		for b.Loop() {
			raw, packed = 0, 0
			var buf, out []byte
			for start := 0; start < n; start += 8192 {
				buf = buf[:0]
				for i := start; i < min(n, start+8192); i++ {
					buf = append(buf, id(i)...)
					buf = body(buf, i)
				}
				raw += len(buf)
				out = zenc.EncodeAll(buf, out[:0])
				packed += len(out)
			}
		}
		b.ReportMetric(float64(raw)/float64(n), "B/record")
		b.ReportMetric(float64(packed)/float64(n), "zstd-B/record")
	}
	userID := func(i int) string { return users[i].ID }
	licID := func(i int) string { return lics[i].UserID + "/" + lics[i].SKUID }
	b.Run("user/binary", func(b *testing.B) {
		part(b, len(users), userID, func(dst []byte, i int) []byte { return licensing.AppendUserBinary(dst, &users[i]) })
	})
	b.Run("user/json", func(b *testing.B) {
		part(b, len(users), userID, func(dst []byte, i int) []byte { j, _ := json.Marshal(&users[i]); return append(dst, j...) })
	})
	b.Run("license/binary", func(b *testing.B) {
		part(b, len(lics), licID, func(dst []byte, i int) []byte { return licensing.AppendLicenseBinary(dst, &lics[i]) })
	})
	b.Run("license/json", func(b *testing.B) {
		part(b, len(lics), licID, func(dst []byte, i int) []byte { j, _ := json.Marshal(&lics[i]); return append(dst, j...) })
	})
}

func codecBench[T any](b *testing.B, sample []T, enc func([]byte, *T) []byte, dec func([]byte) (T, error)) {
	b.ReportAllocs()
	var buf []byte
	size := 0
	c0 := cpuTime()
	for b.Loop() {
		size = 0
		for i := range codecRecords {
			buf = enc(buf[:0], &sample[i%len(sample)])
			size += len(buf)
			if _, err := dec(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(size)/codecRecords, "B/record")
}

func jsonBench[T any](b *testing.B, sample []T) {
	b.ReportAllocs()
	size := 0
	c0 := cpuTime()
	for b.Loop() {
		size = 0
		for i := range codecRecords {
			buf, err := json.Marshal(&sample[i%len(sample)])
			if err != nil {
				b.Fatal(err)
			}
			size += len(buf)
			var v T
			if err := json.Unmarshal(buf, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(size)/codecRecords, "B/record")
}

// cpuTime is the process's CPU time so far (user and system, all threads,
// the garbage collector's too): on a shared machine it says what wall
// time cannot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
