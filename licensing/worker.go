package licensing

import (
	"runtime"
	"slices"
	"sync"
)

// A worker reconciles users. The engine's own worker (Engine.w) serves
// commands and records straight into the engine's delta. A full recompute
// splits the users into contiguous ranges of Engine.all and runs one
// parallel worker per range: a parallel worker only changes the users of
// its range and their license records, reads everything else, and keeps
// what it changed in its own lists, which are appended to the engine's
// delta in range order afterwards — so the result, and the order of the
// delta, are those of a serial run.
type worker struct {
	e        *Engine
	scratch  scratch
	slab     []license     // see newLicense
	states   []SourceState // see stateBacking
	parallel bool
	// Parallel workers only: the license records written or deleted, in
	// the order of a serial run; dels lists the positions in events of the
	// deletions (the others are changed records).
	events []*license
	dels   []int32
	// changes counts the license changes of a full recompute, summarised
	// in one audit entry.
	changes int
	// A full recompute's tallies of the worker's users: claims per pool
	// (seats held, claims waiting in user order) and sources in error per
	// group. Merged by Recompute in worker order.
	seats  map[*pool]*seatTally
	errors map[*group]*errorTally
}

type seatTally struct {
	held    int
	waiting []*license
}

// tallySeats adds the user's claims to the worker's seat tallies.
func (w *worker) tallySeats(u *user) {
	if w.seats == nil {
		w.seats = make(map[*pool]*seatTally)
	}
	var last *pool
	var t *seatTally
	for _, l := range u.licenses {
		l.waitIdx = -1
		if !l.Claimed {
			continue
		}
		if l.pool != last {
			last = l.pool
			if t = w.seats[last]; t == nil {
				t = &seatTally{}
				w.seats[last] = t
			}
		}
		if l.Held {
			t.held++
		} else {
			t.waiting = append(t.waiting, l)
		}
	}
}

// tallyErrors adds the user's group sources in error to the worker's
// error tallies.
func (w *worker) tallyErrors(u *user) {
	if w.errors == nil {
		w.errors = make(map[*group]*errorTally)
	}
	for _, l := range u.licenses {
		w.e.forEachGroupInError(l.Sources, func(g *group, code SourceErrorCode) {
			t := w.errors[g]
			if t == nil {
				t = &errorTally{}
				w.errors[g] = t
			}
			t.add(code, 1)
		})
	}
}

// dirtyLicense records that a license record changed.
func (w *worker) dirtyLicense(l *license) {
	if !w.parallel {
		w.e.dirtyLicense(l)
		return
	}
	if !l.dirty {
		l.dirty = true
		w.events = append(w.events, l)
	}
}

// deletedLicense records that a license record is gone.
func (w *worker) deletedLicense(l *license) {
	if !w.parallel {
		w.e.deletedLicense(l)
		return
	}
	w.dels = append(w.dels, int32(len(w.events)))
	w.events = append(w.events, l)
}

// countErrors adjusts the groups' error counts; a full recompute recounts
// them at the end instead.
func (w *worker) countErrors(ss []SourceState, delta int) {
	if !w.e.bulk {
		w.e.countErrors(ss, delta)
	}
}

// newLicense hands out license records from slabs of 1,024, so that a bulk
// load allocates a few thousand times instead of once per record. A slab
// stays alive while any of its records does.
func (w *worker) newLicense() *license {
	if len(w.slab) == 0 {
		if w.e.bulk {
			w.slab = make([]license, bulkSlab)
		} else {
			w.slab = make([]license, 1024)
		}
	}
	l := &w.slab[0]
	w.slab = w.slab[1:]
	return l
}

// stateBacking returns an empty slice with room for n source states, for
// the states of one user's licenses in a full recompute: carved from shared
// chunks (one allocation per few thousand users; a chunk lives while any
// license uses it).
func (w *worker) stateBacking(n int) []SourceState {
	if cap(w.states)-len(w.states) < n {
		w.states = make([]SourceState, 0, max(n, bulkSlab))
	}
	b := w.states[len(w.states) : len(w.states) : len(w.states)+n]
	w.states = w.states[:len(w.states)+n]
	return b
}

// unreserveStates gives back the last stateBacking(n) of a full recompute
// when none of its states were kept.
func (w *worker) unreserveStates(n int) {
	tail := w.states[len(w.states)-n:]
	clear(tail) // drop the references for the next user
	w.states = w.states[:len(w.states)-n]
}

// bulkSlab is the number of records (licenses, source states) a full
// recompute allocates at once: a few megabytes, so that huge pages can back
// them.
const bulkSlab = 32768

// recomputeWorkers, when positive, fixes the number of workers of a full
// recompute (tests use it to run the parallel path on small tenants).
var recomputeWorkers = 0

// minUsersPerWorker keeps small recomputes serial: below it the
// goroutines cost more than they save.
const minUsersPerWorker = 16384

// workersFor is the number of goroutines that share a walk over n users
// (a full recompute, a clone): one per CPU, none with fewer than
// minUsersPerWorker users, or recomputeWorkers when a test sets it.
func workersFor(n int) int {
	w := recomputeWorkers
	if w <= 0 {
		w = min(runtime.GOMAXPROCS(0), n/minUsersPerWorker)
	}
	return max(min(w, n), 1)
}

// forEachUserParallel runs fn for every user, split into contiguous ranges
// of Engine.all across workers, then appends what the workers recorded to
// the engine's delta in range order, and returns the workers in that order
// (for their tallies). fn must only change the user it is given and that
// user's license records. With presize, each worker's list starts with
// room for every record of its users to change (the claim phase of a bulk
// load changes them all).
func (e *Engine) forEachUserParallel(presize bool, fn func(w *worker, u *user)) []*worker {
	n := workersFor(len(e.all))
	if n == 1 {
		for _, u := range e.all {
			fn(&e.w, u)
		}
		return []*worker{&e.w}
	}
	ws := make([]worker, n)
	var wg sync.WaitGroup
	for i := range ws {
		w := &ws[i]
		w.e, w.parallel = e, true
		from, to := i*len(e.all)/n, (i+1)*len(e.all)/n
		wg.Go(func() {
			if presize {
				n := 0
				for _, u := range e.all[from:to] {
					n += len(u.licenses) + len(u.direct) + len(u.groups)
				}
				w.events = make([]*license, 0, n)
			}
			for _, u := range e.all[from:to] {
				fn(w, u)
			}
		})
	}
	wg.Wait()
	// Each worker copies its records into its own region of the engine's
	// lists, at the offsets of a serial run.
	nd, nk := len(e.dirty), len(e.delta.Licenses)
	dirtyAt, keysAt := make([]int, n), make([]int, n)
	for i := range ws {
		w := &ws[i]
		dirtyAt[i], keysAt[i] = nd, nk
		nd += len(w.events) - len(w.dels)
		nk += len(w.events)
		e.w.changes += w.changes
	}
	e.dirty = slices.Grow(e.dirty, nd-len(e.dirty))[:nd]
	e.delta.Licenses = slices.Grow(e.delta.Licenses, nk-len(e.delta.Licenses))[:nk]
	for i := range ws {
		w := &ws[i]
		dirty, keys := e.dirty[dirtyAt[i]:], e.delta.Licenses[keysAt[i]:]
		wg.Go(func() {
			d, dels := 0, w.dels
			for j, l := range w.events {
				if len(dels) > 0 && dels[0] == int32(j) {
					dels = dels[1:]
				} else {
					dirty[d] = l
					d++
				}
				keys[j] = Key2{l.userID(), l.pool.key}
			}
			w.events, w.dels = nil, nil
		})
	}
	wg.Wait()
	out := make([]*worker, n)
	for i := range ws {
		out[i] = &ws[i]
	}
	return out
}

// poolsFromTallies rebuilds every pool's consumption and waiting room
// from the workers' seat tallies (tallySeats), in worker order — a serial
// walk's — and lets go of the tallies. The waiting rooms are not heaps
// yet. It returns the pools by key.
func (e *Engine) poolsFromTallies(ws []*worker) []*pool {
	pools := e.allPools()
	for _, p := range pools {
		p.consumed = 0
		n := 0
		for _, w := range ws {
			if t := w.seats[p]; t != nil {
				p.consumed += t.held
				n += len(t.waiting)
			}
		}
		if cap(p.waiting) < n {
			p.waiting = make(waitHeap, 0, n)
		}
		p.waiting = p.waiting[:0]
		for _, w := range ws {
			if t := w.seats[p]; t != nil {
				p.waiting = append(p.waiting, t.waiting...)
			}
		}
	}
	for _, w := range ws {
		w.seats = nil
	}
	return pools
}

// errorsFromTallies sets every group's error counts to the sum of the
// workers' tallies (tallyErrors) and lets go of the tallies.
func (e *Engine) errorsFromTallies(ws []*worker) {
	for _, g := range e.groups {
		g.errors = errorTally{}
	}
	for _, w := range ws {
		for g, t := range w.errors {
			g.errors.merge(t)
		}
		w.errors = nil
	}
}
