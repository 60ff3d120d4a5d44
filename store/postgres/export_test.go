package postgres

import "context"

// LoseOwnerLock simulates a lost lock connection that the store does not
// take back (its watcher stopped), as when another process wins the lock
// first after a PostgreSQL restart.
func (s *Store) LoseOwnerLock() {
	o := s.owner
	o.halt.Do(func() { close(o.stop) })
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	o.conn.Close(context.Background())
	o.conn = nil
}

// CompactLong is the background compactor's compaction (compactLong).
func CompactLong(s *Store, tenantID string) error {
	return s.compactLong(context.Background(), tenantID)
}
