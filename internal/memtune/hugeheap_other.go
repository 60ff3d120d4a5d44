//go:build !linux

package memtune

import (
	"errors"
	"time"
)

// The heap's reserve is made on Linux only.
func reserveHeap(int64, bool) (int64, error) { return 0, nil }
func hugePagesAvailable() bool               { return false }
func overcommitStrict() bool                 { return false }
func memoryAvailable() int64                 { return 0 }

func populatedWriteCost() (time.Duration, error) {
	return 0, errors.New("no MADV_POPULATE_WRITE")
}
