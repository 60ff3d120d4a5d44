package usage

import (
	"strings"
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

// resolver resolves the users a command's input names. A command runs
// twice: on the writer's copy, then, once committed, replayed on the
// readers' copy, whose engine is then in exactly the state the writer's
// was. So the engine lookups of the first run (user, seats held) are kept
// and reused by the replay; only the aggregates' own index is looked up
// in each copy.
type resolver struct {
	entries []resolved
	held    []heldLic
	replay  bool
}

type resolved struct {
	uid          string // "" if unmatched
	held0, held1 int32
	concealed    bool
}

// start begins a run over n names.
func (c *resolver) start(tx *tenant.Tx, n int) {
	c.replay = !tx.Writing() && len(c.entries) == n
	if !c.replay {
		c.entries, c.held = c.entries[:0], c.held[:0]
	}
}

// resolve resolves name i (names are resolved in order, from 0): by id
// when the input has one, else by userPrincipalName or id, a concealed
// hash going through the tenant's mapping.
func (c *resolver) resolve(a *Aggregates, e *licensing.Engine, i int, key, id string) who {
	if !c.replay {
		uid, concealed := a.lookup(e, key, id)
		r := resolved{uid: uid, held0: int32(len(c.held)), concealed: concealed}
		if uid != "" {
			for _, l := range e.Licenses(uid) {
				if !l.Held {
					continue
				}
				h, ok := stampOf(l.HeldSince)
				if !ok {
					h = 1
				}
				c.held = append(c.held, heldLic{sku: internSKU(l.SKUID), held: h})
			}
		}
		r.held1 = int32(len(c.held))
		c.entries = append(c.entries, r)
	}
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
		upn, ok := a.names[h]
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
// by one command at a time (the replay reuses the first run's lookups).
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
	b.res.start(tx, len(b.users))
	for i, key := range b.users {
		whos[i] = b.res.resolve(a, tx.Engine, i, key, "")
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
		if it.idh != 0 && a.ids.seen(it.idh) {
			r.Duplicates++
			continue
		}
		u := a.users.at(w.agg)
		var ch bool
		if b.Kind == FeatureEvents {
			ch = u.observe(it.f, it.t, it.t.day())
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
