package sqlite

// SetWALLimit sets the log size over which the checkpointer truncates the
// log (walLimit).
func SetWALLimit(s *Store, n int64) { s.ckpt.limit.Store(n) }
