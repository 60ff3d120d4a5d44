package sqlite

import "context"

// SetWALLimit sets the log size over which the checkpointer truncates the
// log (walLimit).
func SetWALLimit(s *Store, n int64) { s.ckpt.limit.Store(n) }

// WriterExec runs a statement on the writer connection (a PRAGMA that
// makes the database refuse writes, say). The writer then forgets what it
// knew of the tenants' logs (tails.go): the statement may have changed them.
func WriterExec(s *Store, q string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.forgetTails("")
	_, err := s.wconn.ExecContext(context.Background(), q)
	return err
}

// WriterQueryInt runs a query that answers one integer on the writer
// connection.
func WriterQueryInt(s *Store, q string) (int64, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var n int64
	err := s.wconn.QueryRowContext(context.Background(), q).Scan(&n)
	return n, err
}

// PauseAuditIndex stops the audit index file's background rounds.
func PauseAuditIndex(s *Store) { s.auditIdx.paused.Store(true) }

// CatchUpAuditIndex indexes every committed audit row now.
func CatchUpAuditIndex(s *Store) error { return s.auditIdx.catchUp(context.Background()) }

// AuditIndexProgress is the last audit id the index file holds.
func AuditIndexProgress(s *Store) (int64, error) {
	var n int64
	err := s.auditIdx.db.QueryRow(`SELECT last_id FROM progress`).Scan(&n)
	return n, err
}

// AuditIndexPath is the index file of the database at path.
func AuditIndexPath(path string) string { return indexPath(path) }

// WriterQueryString runs a query that answers one string on the writer
// connection.
func WriterQueryString(s *Store, q string) (string, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var v string
	err := s.wconn.QueryRowContext(context.Background(), q).Scan(&v)
	return v, err
}

// PauseCheckpoints empties the log (a TRUNCATE checkpoint) and stops the
// checkpointer's rounds until the store closes: the log then holds every
// frame written since.
func PauseCheckpoints(s *Store) error {
	s.ckpt.paused.Store(true)
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, _, err := s.ckpt.checkpoint("TRUNCATE")
	return err
}

// CompactLong is the background compactor's compaction (compactLong).
func CompactLong(s *Store, tenantID string) error {
	return s.compactLong(context.Background(), tenantID)
}

// MoveAudit moves every tenant's pending audit entries into audit_rows now
// (auditlog.go).
func MoveAudit(s *Store) error { return s.moveAllAudit(context.Background()) }

// PendingAuditSQL counts the records of tenant ?1 whose audit entries are
// pending.
const PendingAuditSQL = `SELECT count(*) FROM (` + pendingAuditSQL + `)`
