package store

import "sync"

// Lifecycle is how a backend's Close refuses new operations and waits for
// those in progress (both SQL backends keep one): each operation calls
// Enter, which fails with Closed once Close has begun, and Leave when it is
// done.
type Lifecycle struct {
	// Closed is the error of an operation begun after Close.
	Closed error

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// Enter registers an operation; the caller calls Leave when it is done.
func (l *Lifecycle) Enter() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.Closed
	}
	l.inflight.Add(1)
	return nil
}

// Leave ends an operation Enter registered.
func (l *Lifecycle) Leave() { l.inflight.Done() }

// Close refuses new operations and waits for those in progress. It reports
// whether this call closed it (false: closed before).
func (l *Lifecycle) Close() bool {
	l.mu.Lock()
	was := l.closed
	l.closed = true
	l.mu.Unlock()
	if was {
		return false
	}
	l.inflight.Wait()
	return true
}
