package graph

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"allot/directory"
	"allot/store"
	"allot/tenant"
)

// Changes rounds rebuilt from the tenant's change log (store.ChangeLog):
// what serves a token the directory index cannot (issued before a restart
// or by another process, or older than what the index remembers). The
// records after the token's number name the users, groups and memberships
// they wrote — a user's record or its licenses (store.KindUser,
// KindLicense, KindDirectLicense: "userId/skuId"), a group's record or
// its licenses (KindGroup, KindGroupLicense), a membership (KindMember,
// "groupId/memberId") — the same records a follower applies, so nothing a
// delta shows changes without one.
//
// A round walks the objects changed after its start in the order of
// their last change (its log number, then id), as the index's change sets
// do: each page reads the log up to the copy's number, so an object that
// changes while the round is paged moves to a later key and is sent again,
// and the round's deltaLink carries the number its last page read up to.
// Objects are sent in their current state; a group's members@delta are
// the memberships changed after the start, with their presence now.

// logEntry is an object and the log number of its last change.
type logEntry struct {
	seq uint64
	id  string
}

func compareLogEntries(a, b logEntry) int {
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// logChanges is what the tenant's log says changed after a number, read
// up to last. It is never changed once made (extend makes another).
type logChanges struct {
	after, last   uint64
	users, groups map[string]uint64            // id → last change
	members       map[string]map[string]uint64 // group → member → last change
	// The walks: users and groups by last change, then id.
	userWalk, groupWalk []logEntry
}

// readLogChanges returns base (the changes after after, or nothing yet
// when base is nil) extended with the tenant's records after base's last,
// up to upto: store.ErrCompacted when the log no longer has them (or
// does not reach upto).
func readLogChanges(ctx context.Context, cl store.ChangeLog, tenantID string, base *logChanges, after, upto uint64) (*logChanges, error) {
	lc := &logChanges{after: after, last: after, users: map[string]uint64{}, groups: map[string]uint64{}, members: map[string]map[string]uint64{}}
	if base != nil {
		lc.last, lc.users, lc.groups, lc.members = base.last, maps.Clone(base.users), maps.Clone(base.groups), maps.Clone(base.members)
	}
	if lc.last > math.MaxInt64 || upto < lc.last {
		return nil, store.ErrCompacted
	}
	copied := map[string]bool{} // the members maps of base already copied
	errEnough := errors.New("enough")
	_, err := cl.Changes(ctx, tenantID, int64(lc.last), func(seq int64, muts []store.Mutation) error {
		n := uint64(seq)
		if n > upto {
			return errEnough
		}
		lc.last = n
		for _, m := range muts {
			head, tail, _ := strings.Cut(m.ID, "/")
			switch m.Kind {
			case store.KindUser, store.KindLicense, store.KindDirectLicense:
				lc.users[head] = n
			case store.KindGroup, store.KindGroupLicense:
				lc.groups[head] = n
			case store.KindMember:
				lc.groups[head] = n
				ms := lc.members[head]
				if ms == nil || base != nil && !copied[head] {
					ms = maps.Clone(ms)
					if ms == nil {
						ms = map[string]uint64{}
					}
					lc.members[head], copied[head] = ms, true
				}
				ms[tail] = n
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	if lc.last < upto {
		return nil, store.ErrCompacted
	}
	lc.userWalk, lc.groupWalk = walkOf(lc.users), walkOf(lc.groups)
	return lc, nil
}

func walkOf(m map[string]uint64) []logEntry {
	es := make([]logEntry, 0, len(m))
	for id, seq := range m {
		es = append(es, logEntry{seq, id})
	}
	slices.SortFunc(es, compareLogEntries)
	return es
}

// The log changes read last are kept for the next pages of their round
// (a round of many pages reads each record once): by tenant (its runtime
// object: a tenant made again is another) and starting number. The
// records after a number never change, so an entry only grows (a newer
// one replaces it). One that a log compaction or a bulk import has passed
// still describes the numbers it covers; the next read after it, and the
// deltaLink past it, are answered 410 by the log.
type logKey struct {
	t     *tenant.Tenant
	after uint64
}

// logCacheSize bounds the entries kept; an entry holds the ids the log
// names after its number (bounded by the log a compaction leaves:
// statelog.CompactRecords records or CompactBytes bytes).
const logCacheSize = 4

var logCache struct {
	mu    sync.Mutex
	m     map[logKey]*logChanges
	order []logKey // oldest first
}

func cachedLog(k logKey) *logChanges {
	logCache.mu.Lock()
	defer logCache.mu.Unlock()
	return logCache.m[k]
}

func cacheLog(k logKey, lc *logChanges) {
	logCache.mu.Lock()
	defer logCache.mu.Unlock()
	if logCache.m == nil {
		logCache.m = map[logKey]*logChanges{}
	}
	if old, ok := logCache.m[k]; ok {
		if old.last < lc.last {
			logCache.m[k] = lc
		}
		return
	}
	logCache.order = append(logCache.order, k)
	if len(logCache.order) > logCacheSize {
		delete(logCache.m, logCache.order[0])
		logCache.order = logCache.order[1:]
	}
	logCache.m[k] = lc
}

// logChangesFor reads (or finds) the changes after tok.log up to the
// copy's current number.
func logChangesFor(ctx context.Context, h *handler, t *tenant.Tenant, tok *deltaToken) (*logChanges, error) {
	cl, ok := h.s.Store.(store.ChangeLog)
	now := t.LogSeq()
	if !ok || now < 0 {
		return nil, store.ErrCompacted // no log to rebuild from
	}
	key := logKey{t, tok.log}
	base := cachedLog(key)
	if base != nil && base.last >= uint64(now) {
		return base, nil
	}
	lc, err := readLogChanges(ctx, cl, t.ID, base, tok.log, uint64(now))
	if err != nil {
		return nil, err
	}
	cacheLog(key, lc)
	return lc, nil
}

// logPage is a page of a changes round rebuilt from the log: a round that
// starts (a deltaLink the index cannot serve, or a page of a round the
// index was serving, which starts again here) or one being paged ('r').
func logPage[T any](s *tenant.State, x *directory.Index, k *deltaKind[T], tok *deltaToken, lc *logChanges, size int, withMembers bool) *page {
	walk := lc.userWalk
	if k.code == 'g' {
		walk = lc.groupWalk
	}
	pg := &page{next: &deltaToken{}}
	resume := false
	if tok.phase == 'r' {
		cur := logEntry{tok.curSeq, tok.curID}
		start, _ := slices.BinarySearchFunc(walk, cur, func(e, cur logEntry) int {
			if compareLogEntries(e, cur) <= 0 {
				return -1
			}
			return 1
		})
		resume = tok.memAfter != ""
		walk = walk[start:]
		if resume { // the group at the cursor again, then what follows
			walk = append([]logEntry{cur}, walk[:min(len(walk), size)]...)
		}
	}
	if len(walk) > size {
		walk, pg.more = walk[:size], true
	}
	pg.ids = make([]string, len(walk))
	for i, e := range walk {
		pg.ids[i] = e.id
	}
	memAfter := ""
	if withMembers {
		entries := func(id string) []memberEntry {
			ms := lc.members[id]
			out := make([]memberEntry, 0, len(ms))
			for m := range ms {
				out = append(out, deltaMemberEntry(s, m, s.Engine.IsMember(id, m)))
			}
			slices.SortFunc(out, func(a, c memberEntry) int { return strings.Compare(a.id, c.id) })
			return out
		}
		var (
			kept int
			cut  bool
		)
		kept, pg.members, memAfter, cut = pageMembers(s, k, pg.ids, tok, resume, entries)
		pg.ids, walk, pg.more = pg.ids[:kept], walk[:kept], pg.more || cut
	}
	n := pg.next
	if pg.more {
		last := walk[len(walk)-1]
		n.phase, n.log, n.curSeq, n.curID, n.memAfter = 'r', lc.after, last.seq, last.id, memAfter
		return pg
	}
	// Every change up to lc.last was visited in this round.
	n.phase, n.log = 'l', lc.last
	if s.LogSeq() >= 0 && lc.last == logNumber(s) {
		n.epoch, n.idx = x.Epoch(), x.Seq() // the index's number paired with it
	}
	return pg
}
