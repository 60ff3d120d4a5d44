//go:build race

package storetest

// The race detector slows modernc.org/sqlite (C translated to Go, every
// memory access instrumented) about tenfold; the big commit is scaled down
// under it. It checks sizes without -race.
const raceEnabled = true
