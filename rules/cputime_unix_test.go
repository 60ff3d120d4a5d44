//go:build unix

package rules

import (
	"syscall"
	"time"
)

// processCPUTime returns the CPU time (user and system) the process has used,
// so that benchmarks can report cost independent of other load on the
// machine.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
