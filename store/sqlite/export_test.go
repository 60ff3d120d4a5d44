package sqlite

// SetWALLimit sets the log size over which the checkpointer truncates the
// log (walLimit).
func SetWALLimit(s *Store, n int64) { s.ckpt.limit.Store(n) }

// WriterExec runs a statement on the writer connection (a PRAGMA that
// makes the database refuse writes, say).
func WriterExec(s *Store, q string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.writer.Exec(q)
	return err
}
