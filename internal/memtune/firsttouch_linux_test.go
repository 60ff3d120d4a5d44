package memtune

import (
	"syscall"
	"testing"
)

// BenchmarkFirstTouch measures what this machine charges for memory a
// process touches for the first time: it maps 256 MiB and writes one byte
// per 4 KiB page (ns/op is per 256 MiB; MB/s is of first-touched memory).
// Every byte of an import's peak heap is touched once, so on a machine
// where this is slow (a VM whose host backs guest memory lazily: ~3 s per
// GiB was measured) a lower peak is also a shorter import.
func BenchmarkFirstTouch(b *testing.B) {
	const size = 256 << 20
	b.SetBytes(size)
	for b.Loop() {
		m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < size; i += 4096 {
			m[i] = 1
		}
		if err := syscall.Munmap(m); err != nil {
			b.Fatal(err)
		}
	}
}
