package usage

import (
	"runtime"
	"strings"
	"sync"
	"time"

	"allot/licensing"
	"allot/tenant"
)

// maxFuture is how far after the command's time an event or report date
// may lie: a clock a little ahead is fine, a date in the future would shift
// every day window and is refused.
const maxFuture = 24 * time.Hour

// who is a resolved user of the running command.
type who struct {
	agg          int32 // index in Aggregates.users; -1: unmatched
	held0, held1 int32 // the user's held seats: resolver.held[held0:held1]
	concealed    bool  // named by a concealed hash without a mapping
	count        int   // unmatched rows or events
}

// resolver resolves the users a command's input names (the engine
// lookups: user, seats held), in buffers reused by the next command.
type resolver struct {
	entries []resolved
	held    []heldLic

	errMu sync.Mutex
	err   error // the first error of prepare (a product beyond MaxSKUs)
}

// fail records an error of prepare (from any of its goroutines); the first
// one is kept.
func (c *resolver) fail(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// failed returns prepare's error and forgets it.
func (c *resolver) failed() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	err := c.err
	c.err = nil
	return err
}

type resolved struct {
	uid          string // "" if unmatched
	held0, held1 int32
	concealed    bool
}

// parallelResolve is the number of names from which the writer resolves
// on all processors.
const parallelResolve = 8192

// prepare resolves the n names of the command's input: name(i) gives the
// key and id of name i (both empty: resolve nothing, the row is skipped).
// Each name is resolved by id when the input has one, else by
// userPrincipalName or id, a concealed hash going through the tenant's
// mapping; with it, the seats the user holds.
//
// The lookups only read the engine and the aggregates (nothing changes
// them during a command), so a large input is resolved by several
// goroutines over ranges of names; each name's answer lands at its own
// index, and the held seats are concatenated in range order: the result
// is the same however the work is scheduled.
func (c *resolver) prepare(tx *tenant.Tx, a *Aggregates, n int, name func(i int) (key, id string)) {
	e := tx.Engine
	c.held = c.held[:0]
	if cap(c.entries) < n {
		c.entries = make([]resolved, n)
	}
	c.entries = c.entries[:n]
	workers := 1
	if n >= parallelResolve {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	if workers == 1 {
		c.held = c.resolveRange(a, e, 0, n, name, c.held)
		return
	}
	parts := make([][]heldLic, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[w] = c.resolveRange(a, e, n*w/workers, n*(w+1)/workers, name, nil)
		}()
	}
	wg.Wait()
	for w := range workers {
		base := int32(len(c.held))
		for i := n * w / workers; i < n*(w+1)/workers; i++ {
			c.entries[i].held0 += base
			c.entries[i].held1 += base
		}
		c.held = append(c.held, parts[w]...)
	}
}

// resolveRange resolves names [from, to) into c.entries, appending their
// held seats to held (offsets relative to held).
func (c *resolver) resolveRange(a *Aggregates, e *licensing.Engine, from, to int, name func(int) (string, string), held []heldLic) []heldLic {
	for i := from; i < to; i++ {
		key, id := name(i)
		var uid string
		var concealed bool
		if key != "" || id != "" {
			uid, concealed = a.lookup(e, key, id)
		}
		r := resolved{uid: uid, held0: int32(len(held)), concealed: concealed}
		if ls, ok := e.UserLicensesOf(uid); ok && uid != "" {
			for k := range ls.Len() {
				l := ls.At(k)
				if !l.Held {
					continue
				}
				h, ok := stampOf(l.HeldSince.Time())
				if !ok {
					h = 1
				}
				sku, err := a.skus.intern(l.SKUID)
				if err != nil {
					c.fail(err)
					continue
				}
				held = append(held, heldLic{sku: sku, held: h})
			}
		}
		r.held1 = int32(len(held))
		c.entries[i] = r
	}
	return held
}

// resolve returns resolved name i, with the user's aggregates (created
// when new).
func (c *resolver) resolve(a *Aggregates, i int) who {
	r := &c.entries[i]
	if r.uid == "" {
		return who{agg: -1, concealed: r.concealed}
	}
	return who{agg: a.user(r.uid), held0: r.held0, held1: r.held1}
}

func (c *resolver) heldOf(w *who) []heldLic { return c.held[w.held0:w.held1] }

// lookup finds a user in the engine; concealed reports a concealed name
// the tenant has no mapping for.
func (a *Aggregates) lookup(e *licensing.Engine, key, id string) (uid string, concealed bool) {
	if id != "" {
		if u, ok := e.User(id); ok {
			return u.ID, false
		}
	}
	if key == "" {
		return "", false
	}
	if h, ok := parseConcealed(key); ok {
		upn, ok := a.names.get(h)
		if !ok {
			return "", true
		}
		key = upn
	}
	if u, ok := e.UserByUPN(key); ok {
		return u.ID, false
	}
	if u, ok := e.User(key); ok {
		return u.ID, false
	}
	if u, ok := e.User(strings.ToLower(key)); ok {
		return u.ID, false
	}
	return "", false
}

// Apply aggregates the batch into the tenant's usage: run it inside
// Tenant.Do (all of it is one command: all or nothing). Events dated more
// than a day after the command's time are rejected; events whose id was
// seen recently are counted as duplicates and skipped. A batch is applied
// by one command at a time (its lookups use the batch's buffers).
func (b *Batch) Apply(tx *tenant.Tx) (Result, error) {
	a := Of(tx.State)
	a.begin()
	var r Result
	r.addRejected(b.Rejected)
	limit, ok := stampOf(tx.Op.Now.Add(maxFuture))
	if !ok {
		limit = ^stamp(0)
	}
	a.reserve(len(b.users))
	whos := make([]who, len(b.users))
	b.res.prepare(tx, a, len(b.users), func(i int) (string, string) { return b.users[i], "" })
	if err := b.res.failed(); err != nil {
		return Result{}, err
	}
	for i := range b.users {
		whos[i] = b.res.resolve(a, i)
	}
	a.aggregate(b, whos, b.res.held, limit, &r)
	for i := range whos {
		if w := &whos[i]; w.agg < 0 && w.count > 0 {
			r.unmatched(Unmatched{Line: int(b.userLine[i]), User: b.users[i], Concealed: w.concealed, Count: w.count})
		}
	}
	r.done()
	return r, a.finish(tx, false)
}

// aggregate applies the batch's events to resolved users (the pure part of
// Apply: no engine, no store).
func (a *Aggregates) aggregate(b *Batch, whos []who, held []heldLic, limit stamp, r *Result) {
	for _, it := range b.items {
		w := &whos[it.user]
		if w.agg < 0 {
			w.count++
			r.UnmatchedCount++
			continue
		}
		if it.t > limit {
			r.reject(int(it.line), "at "+it.t.Time().Format(time.RFC3339)+" is in the future")
			continue
		}
		if it.idh != 0 {
			if a.ids.seen(it.idh) {
				r.Duplicates++
				continue
			}
		}
		u := a.users.at(w.agg)
		var ch bool
		if b.Kind == FeatureEvents {
			ch = u.observe(it.f, it.t, it.t.day(), EvidenceEvent)
			if it.f == featLitigationHold {
				ch = u.setHold(true, it.t.day()) || ch
			}
		} else {
			ch = u.recordSignIn(it.t, it.interactive)
		}
		if u.activity(held[w.held0:w.held1], it.t, false) {
			ch = true
		}
		if ch {
			a.touch(w.agg)
		}
		r.Accepted++
	}
}

// setHold records the litigation hold state reported on day d (a later
// report wins).
func (u *userAgg) setHold(on bool, d Day) bool {
	m := &u.mbx
	if d < m.holdDay {
		return false
	}
	flags := m.flags &^ mbxHold
	if on {
		flags |= mbxHold
	}
	if flags == m.flags && d == m.holdDay {
		return false
	}
	m.flags, m.holdDay = flags, d
	return true
}
