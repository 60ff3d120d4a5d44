package bundle_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"

	"allot"
	"allot/bundle"
	"allot/catalog"
)

// rawEntry is a .zip entry written as given: its declared sizes and CRC
// may lie.
type rawEntry struct {
	name         string
	data         []byte // uncompressed content
	method       uint16 // zip.Store or zip.Deflate (or an unknown method)
	declaredSize uint64 // 0: the real size
	badCRC       bool
}

func rawZip(t testing.TB, entries ...rawEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		body := e.data
		if e.method == zip.Deflate {
			var c bytes.Buffer
			fw, _ := flate.NewWriter(&c, flate.BestCompression)
			fw.Write(e.data)
			fw.Close()
			body = c.Bytes()
		}
		h := &zip.FileHeader{Name: e.name, Method: e.method, CRC32: crc32.ChecksumIEEE(e.data),
			CompressedSize64: uint64(len(body)), UncompressedSize64: uint64(len(e.data))}
		if e.declaredSize != 0 {
			h.UncompressedSize64 = e.declaredSize
		}
		if e.badCRC {
			h.CRC32++
		}
		w, err := zw.CreateRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readZipErr(t *testing.T, data []byte) error {
	t.Helper()
	_, err := bundle.ReadZip(data, catalog.Default())
	if err == nil {
		t.Fatal("the bundle was accepted")
	}
	if allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("want EINVALID, got %v (%v)", allot.ErrorCode(err), err)
	}
	return err
}

// An entry that declares a huge uncompressed size is not believed: nothing
// is allocated from the declaration (it used to size the row slices from
// it: a 447-byte upload declaring 8 GiB allocated ~60 GB), and the lie is
// a damaged bundle.
func TestZipEntryDeclaredSizeIsNeverTrusted(t *testing.T) {
	// More than the 64 KiB the reader peeks at, so that the header is
	// read before the lie shows.
	rows := "id,userPrincipalName\n" + strings.Repeat("u1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x\n", 2500)
	data := rawZip(t, rawEntry{name: "users.csv", method: zip.Deflate, declaredSize: 4 << 20, data: []byte(rows)})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	readZipErr(t, data)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Fatalf("reading a %d-byte bundle allocated %d MiB", len(data), n>>20)
	}
}

// A record longer than MaxRecord is refused while it is read, with the file
// and line; the rest is not read.
func TestBundleRecordLongerThanTheLimitIsRefused(t *testing.T) {
	long := strings.Repeat("x", bundle.MaxRecord+200<<10)
	data := rawZip(t, rawEntry{name: "users.csv", method: zip.Store,
		data: []byte("id,userPrincipalName,displayName\nu1,a@x,ok\nu2,b@x," + long + "\n")})
	err := readZipErr(t, data)
	if !strings.Contains(err.Error(), "users.csv:3") || !strings.Contains(err.Error(), "longer than 1 MiB") {
		t.Fatalf("message: %v", err)
	}
	// The same inside one quoted field spread over many short lines.
	quoted := `"` + strings.Repeat("y\n", bundle.MaxRecord) + `"`
	data = rawZip(t, rawEntry{name: "users.csv", method: zip.Store,
		data: []byte("id,userPrincipalName,displayName\nu1,a@x," + quoted + "\n")})
	if err := readZipErr(t, data); !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("message: %v", err)
	}
}

// A small .zip that expands far beyond what CSV compresses to (a
// decompression bomb) is refused by the bytes actually read.
func TestZipBombIsRefusedByTheBytesRead(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,userPrincipalName\n")
	for b.Len() < 8<<20 {
		b.WriteString("u,a@x\n")
	}
	data := rawZip(t, rawEntry{name: "users.csv", method: zip.Deflate, data: []byte(b.String())})
	err := readZipErr(t, data)
	if !strings.Contains(err.Error(), "expands more than") {
		t.Fatalf("message: %v", err)
	}
}

func TestZipWithTooManyEntriesIsRefused(t *testing.T) {
	var es []rawEntry
	for i := range bundle.MaxZipEntries + 1 {
		es = append(es, rawEntry{name: fmt.Sprintf("extra/%d.txt", i), method: zip.Store, data: []byte("x")})
	}
	err := readZipErr(t, rawZip(t, es...))
	if !strings.Contains(err.Error(), "entries") {
		t.Fatalf("message: %v", err)
	}
}

// Damaged .zip files are the client's mistake: EINVALID (400), never an
// internal error.
func TestDamagedZipIsInvalid(t *testing.T) {
	users := []byte("id,userPrincipalName\nu1,a@x\n")
	cases := map[string][]byte{
		"unknown method": rawZip(t, rawEntry{name: "users.csv", method: 77, data: users}),
		"bad checksum":   rawZip(t, rawEntry{name: "users.csv", method: zip.Deflate, data: users, badCRC: true}),
		"short entry":    rawZip(t, rawEntry{name: "users.csv", method: zip.Store, data: users, declaredSize: uint64(len(users)) + 10}),
	}
	// A local header that is not one: the central directory points at junk.
	d := rawZip(t, rawEntry{name: "users.csv", method: zip.Store, data: users})
	junk := bytes.Clone(d)
	copy(junk[0:4], "JUNK")
	cases["bad local header"] = junk
	// Deflate data cut in the middle.
	d = rawZip(t, rawEntry{name: "users.csv", method: zip.Deflate, data: bytes.Repeat(users, 50)})
	cut := bytes.Clone(d)
	for i := 40; i < 60; i++ {
		cut[i] ^= 0xff
	}
	cases["corrupt deflate"] = cut
	for name, data := range cases {
		t.Run(name, func(t *testing.T) { readZipErr(t, data) })
	}
}
