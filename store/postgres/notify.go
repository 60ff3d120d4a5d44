package postgres

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The notifications of a shared store's commits (changelog.go) are sent
// after the commit, not in its transaction: PostgreSQL serialises the
// commits of every transaction that notified, WAL flush included (the
// notification queue's lock on the database, held until the commit
// ends), which capped the commits of all tenants together at about one
// flush each — ~900 a second on this project's test machine against ~2,700
// without (docs/BENCHMARKS.md, session 9). A notifier goroutine sends the
// pending notifications in one statement in a transaction of its own with
// synchronous_commit off (it writes nothing durable: the queue lives in
// memory, and the listeners read the log itself), so the lock is held for
// microseconds and never across a flush. Several commits of one tenant
// pending together are told as one, with the highest number; a
// notification is still sent only for a change that committed. It may be
// lost if the process ends between the commit and the send, or if the
// send fails: the followers' poll finds the change (tenant/follow.go).

// sqlNotify sends one notification per payload ($1), in a transaction
// that commits without waiting for its WAL flush.
const sqlNotify = `SELECT count(pg_notify('` + notifyChannel + `', p))
	FROM (SELECT set_config('synchronous_commit', 'off', true)) AS c, unnest($1::text[]) AS p`

// notifier sends the notifications of committed changes (above).
type notifier struct {
	pool    *pgxpool.Pool
	mu      sync.Mutex
	pending map[string]int64 // tenant → highest number to tell
	wake    chan struct{}    // buffered 1: something is pending
	stop    chan struct{}
	done    chan struct{}
}

func startNotifier(pool *pgxpool.Pool) *notifier {
	n := &notifier{pool: pool, pending: map[string]int64{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go n.run()
	return n
}

// tell queues the notification of tenant's change seq (committed).
func (n *notifier) tell(tenantID string, seq int64) {
	n.mu.Lock()
	if seq > n.pending[tenantID] {
		n.pending[tenantID] = seq
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *notifier) run() {
	defer close(n.done)
	for {
		select {
		case <-n.wake:
			n.send()
		case <-n.stop:
			n.send()
			return
		}
	}
}

// send sends what is pending, in one statement; what is told meanwhile
// waits for the next.
func (n *notifier) send() {
	n.mu.Lock()
	p := n.pending
	if len(p) == 0 {
		n.mu.Unlock()
		return
	}
	n.pending = map[string]int64{}
	n.mu.Unlock()
	payloads := make([]string, 0, len(p))
	for id, seq := range p {
		payloads = append(payloads, strconv.FormatInt(seq, 10)+" "+id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.pool.Exec(ctx, sqlNotify, payloads); err != nil {
		slog.Warn("store/postgres: notifying other processes of commits failed; they find the changes at their next poll", "tenants", len(payloads), "err", err)
	}
}

// close sends what is pending and stops (before the pool closes).
func (n *notifier) close() {
	close(n.stop)
	<-n.done
}
