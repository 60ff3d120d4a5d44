package position

// Split makes Compute split tenants of at least from users between at
// least workers goroutines, until restore is called.
func Split(from, workers int) (restore func()) {
	f, w := parallelFrom, minWorkers
	parallelFrom, minWorkers = from, workers
	return func() { parallelFrom, minWorkers = f, w }
}
