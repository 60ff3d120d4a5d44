//go:build !linux

package memtune

// Huge pages are advised on Linux only.
func reserveHugeHeap(int64) (int64, error) { return 0, nil }
func hugePagesAvailable() bool             { return false }
func overcommitStrict() bool               { return false }
func memoryAvailable() int64               { return 0 }
