// Package testfile holds file helpers shared by tests: databases kept
// gzipped under testdata and unpacked into a test's directory.
package testfile

import (
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// Gunzip writes the gzipped file from, uncompressed, to the file to; any
// error fails the test.
func Gunzip(t testing.TB, from, to string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
