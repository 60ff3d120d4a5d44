package position

import "time"

// Split makes Compute split tenants of at least from users between at
// least workers goroutines, until restore is called.
func Split(from, workers int) (restore func()) {
	f, w := parallelFrom, minWorkers
	parallelFrom, minWorkers = from, workers
	return func() { parallelFrom, minWorkers = f, w }
}

// ObserveWorkers makes Compute call fn with each worker's wall time and
// the chunks of users it took, and ChunkUsers sets the users of a chunk,
// until restore is called.
func ObserveWorkers(fn func(busy []time.Duration, chunks []int)) (restore func()) {
	h := workerHook
	workerHook = fn
	return func() { workerHook = h }
}

func ChunkUsers(n int) (restore func()) {
	c := chunkUsers
	chunkUsers = n
	return func() { chunkUsers = c }
}

// SeatLimitMax makes every seat limit n seats, until restore is called.
func SeatLimitMax(n int) (restore func()) {
	o := seatLimitOverride
	seatLimitOverride = n
	return func() { seatLimitOverride = o }
}

// CapGate turns the seat limits' gate (caps.go) on or off until restore
// is called; CapSkips is the number of users it spared a solve so far.
func CapGate(on bool) (restore func()) {
	o := capGateOff
	capGateOff = !on
	return func() { capGateOff = o }
}

func CapSkips() int64 { return capSkips.Load() }
