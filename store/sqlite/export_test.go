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

// WriterQueryInt runs a query that answers one integer on the writer
// connection.
func WriterQueryInt(s *Store, q string) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var n int64
	err := s.writer.QueryRow(q).Scan(&n)
	return n, err
}
