package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints. SQLite's default runs a checkpoint inside the COMMIT that
// pushes the write-ahead log past 1,000 pages: that commit then also copies
// the log into the database file and fsyncs it, which is what made one
// commit in a hundred slow. The writer runs with wal_autocheckpoint=0, and a
// checkpointer goroutine on its own connection runs PASSIVE checkpoints
// shortly after writes instead: they never block the writer, and the log is
// reused from its start by the next write after a checkpoint that copied
// everything. A checkpoint is safe at any moment, so nothing is lost if the
// process dies between commits and checkpoints; the log is simply longer
// when the database is reopened.
//
// PASSIVE checkpoints alone cannot bound the log: the log starts over from
// its beginning only when a write begins after a checkpoint copied every
// frame and no reader still reads from the log, and under sustained writes
// (with readers) that moment never comes — the log grew to 600 MB beside a
// 22 MB database and kept that size while idle. So when the log file passes
// walLimit after a PASSIVE checkpoint, the checkpointer takes the store's
// write lock (commits queue in Go for the moment) and runs a TRUNCATE
// checkpoint, which waits for readers to leave the log, copies what is left
// and truncates the file to zero bytes. The log is thus at most walLimit
// plus what commits add during one checkpointDelay while writes go on, and
// it is emptied the same way once writes pause for idleDelay.
//
// Without readers in the way the log starts over long before that: after
// a PASSIVE checkpoint that copied every frame it found, the checkpointer
// takes the write lock and runs a second one (settle), which copies the
// few frames commits added meanwhile. The log is then wholly in the
// database when the next write begins, and that write starts the log
// again from its beginning. Under continuous commits the unlocked
// checkpoint alone never ends on a wholly copied log, so before this the
// log grew to walLimit and was truncated with the writers held off for
// the whole copy (about 30 ms every 64 MB, one commit in 4,000 of
// BenchmarkDurableMembershipChange), and every commit's fsync appended to
// the file (block allocation and a journal commit of the file system on
// every fsync); starting over, commits overwrite the blocks of the file.
// The settle holds writes for a checkpoint of about a millisecond of
// commits, once per round.

// checkpointDelay is how long the checkpointer waits after a write before
// checkpointing, so that a burst of commits is checkpointed once.
const checkpointDelay = 200 * time.Millisecond

// walLimit is the log size over which the checkpointer truncates the log.
const walLimit = 64 << 20

type checkpointer struct {
	db      *sql.DB
	wal     string        // the log file's path
	writeMu *sync.Mutex   // the store's write lock, held for TRUNCATE
	limit   atomic.Int64  // walLimit (tests set less)
	paused  atomic.Bool   // no checkpoints (a benchmark that counts the log's frames)
	written chan struct{} // a write happened (buffered, 1)
	stop    chan struct{}
	done    sync.WaitGroup
}

func startCheckpointer(abs string, writeMu *sync.Mutex) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(abs, connCheckpointer))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, wal: abs + "-wal", writeMu: writeMu, written: make(chan struct{}, 1), stop: make(chan struct{})}
	c.limit.Store(walLimit)
	c.done.Add(1)
	go c.run()
	return c, nil
}

// wrote tells the checkpointer that a transaction committed.
func (c *checkpointer) wrote() {
	select {
	case c.written <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer c.done.Done()
	for {
		select {
		case <-c.stop:
			return
		case <-c.written:
		}
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointDelay):
		}
		if c.paused.Load() {
			continue
		}
		// An error (SQLITE_BUSY while a backup holds the database, say) is
		// harmless: the next write tries again.
		if logPages, copied, err := c.checkpoint("PASSIVE"); err == nil && copied == logPages {
			c.settle()
		}
		c.bound()
		// Writes paused: empty the log, so that an idle database keeps
		// no log beside it (the checkpoint has little or nothing to copy).
		select {
		case <-c.stop:
			return
		case <-c.written:
			c.wrote() // not idle: the next round checkpoints
		case <-time.After(idleDelay):
			c.truncate()
		}
	}
}

// idleDelay is how long writes must pause before the log is emptied.
const idleDelay = time.Second

// checkpointBusy is how long a checkpoint waits for readers (and so, for
// TRUNCATE, how long commits may wait for it).
const checkpointBusy = time.Second

// truncate runs a TRUNCATE checkpoint with the writers held off.
func (c *checkpointer) truncate() {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.checkpoint("TRUNCATE")
}

// settle checkpoints the frames written since the last checkpoint with
// the writers held off, so that the next write starts the log over (see
// above).
func (c *checkpointer) settle() {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.checkpoint("PASSIVE")
}

// bound truncates the log when its file is over the limit, with the
// writers held off (see above). A reader that keeps the log busy beyond
// the busy timeout makes it fail harmlessly; the next write tries again.
func (c *checkpointer) bound() {
	fi, err := os.Stat(c.wal)
	if err != nil || fi.Size() <= c.limit.Load() {
		return
	}
	c.truncate()
}

// checkpoint runs one checkpoint in the given mode and returns the log's
// size in pages and the pages copied.
func (c *checkpointer) checkpoint(mode string) (logPages, copied int, err error) {
	var busy int
	err = c.db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logPages, &copied)
	if err != nil {
		return 0, 0, fmt.Errorf("store/sqlite: checkpoint: %w", err)
	}
	return logPages, copied, nil
}

// close stops the checkpointer after a last checkpoint that empties the log
// (the writes are over).
func (c *checkpointer) close() error {
	close(c.stop)
	c.done.Wait()
	_, _, err := c.checkpoint("TRUNCATE")
	return joinErr(err, c.db.Close())
}

func joinErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
