package statelog

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"sync"
)

// A tenant's log is folded into a new snapshot (compacted) in the
// background once it has CompactRecords records or CompactBytes bytes after
// its snapshot: a restart then reads the snapshot and a short log.
//
// ALLOT_COMPACT_RECORDS, when set to a positive number, replaces
// CompactRecords (the crash tests compact every few commits with it).
var (
	CompactRecords int64 = envInt("ALLOT_COMPACT_RECORDS", 4096)
	CompactBytes   int64 = 64 << 20
)

func envInt(name string, def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && n > 0 {
		return n
	}
	return def
}

// Compactor runs a store's compactions one at a time on a goroutine of its
// own.
type Compactor struct {
	compact func(ctx context.Context, tenantID string) error
	mu      sync.Mutex
	pending map[string]bool
	wake    chan struct{}
	done    chan struct{}
	stop    chan struct{}
	once    sync.Once
}

// StartCompactor starts the goroutine that calls compact for the tenants
// Consider picks.
func StartCompactor(compact func(ctx context.Context, tenantID string) error) *Compactor {
	c := &Compactor{compact: compact, pending: map[string]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{}), stop: make(chan struct{})}
	go c.run()
	return c
}

// Consider asks for a compaction of the tenant if its log is long enough.
func (c *Compactor) Consider(tenantID string, records, bytes int64) {
	if records < CompactRecords && bytes < CompactBytes {
		return
	}
	c.mu.Lock()
	c.pending[tenantID] = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Request asks for a compaction of the tenant whatever its log's length
// (the first snapshot of a tenant an earlier version stored).
func (c *Compactor) Request(tenantID string) {
	c.mu.Lock()
	c.pending[tenantID] = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// LegacyTenantsSQL selects the tenants that still have objects rows of an
// earlier version and no snapshot: opening a store requests a compaction of
// each, which moves them into a snapshot in the background.
const LegacyTenantsSQL = `SELECT t.tenant_id FROM tenants t
	WHERE EXISTS (SELECT 1 FROM objects o WHERE o.tenant_id = t.tenant_id)
	AND NOT EXISTS (SELECT 1 FROM state_heads h WHERE h.tenant_id = t.tenant_id AND h.snapshot_seq >= 0)
	ORDER BY t.tenant_id`

func (c *Compactor) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			var id string
			for k := range c.pending {
				id = k
				break
			}
			delete(c.pending, id)
			c.mu.Unlock()
			if id == "" {
				break
			}
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-c.stop:
					cancel()
				case <-ctx.Done():
				}
			}()
			if err := c.compact(ctx, id); err != nil && ctx.Err() == nil {
				slog.Warn("compacting a tenant's log failed; the next commit tries again", "tenant", id, "err", err)
			}
			cancel()
		}
	}
}

// Close stops the compactor; a compaction in progress is abandoned (its
// parts are never read, and the next compaction deletes them).
func (c *Compactor) Close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

// WorthCompacting says whether a tenant whose head is h is compacted: not
// when no record follows its snapshot; for onlyLong (the background
// compactor), not either when its log is short again (under CompactRecords
// and CompactBytes) and it has a snapshot. Every commit of a long log asks
// the background compactor for a compaction, also those made while one
// runs: without onlyLong the compaction ran a second time at once,
// rewriting the whole snapshot for the few records committed meanwhile.
func WorthCompacting(h Head, onlyLong bool) bool {
	short := h.Snap >= 0 && h.Last-h.Snap < CompactRecords && h.LogBytes < CompactBytes
	return h.Last != h.Snap && !(onlyLong && short)
}
