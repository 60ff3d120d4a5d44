//go:build !linux

package memtune

// The heap's reserve is made on Linux only.
func reserveHeap(int64, bool) (int64, error) { return 0, nil }
func hugePagesAvailable() bool               { return false }
func overcommitStrict() bool                 { return false }
func memoryAvailable() int64                 { return 0 }
