package usage

import (
	"maps"
	"slices"
)

// clone returns an independent copy of the aggregates (a tenant snapshot:
// tenant.State.Snapshot). Everything a later command changes in place is
// copied: the user table, each user's feature and activation slices
// (carved from two blocks, with no spare capacity so that a later append
// copies them out), the event-id ring and the meta object. The copy has no
// command running.
func (a *Aggregates) clone() *Aggregates {
	c := &Aggregates{
		byID:  maps.Clone(a.byID),
		names: a.names.clone(),
		meta:  a.meta,
		dirty: a.dirty,
		skus:  a.skus.clone(),
	}
	c.meta.Deltas = slices.Clone(a.meta.Deltas)
	c.meta.Reports = slices.Clone(a.meta.Reports)
	c.ids = a.ids.clone()

	nf, na := 0, 0
	for _, ch := range a.users.chunks {
		for k := range ch {
			nf += len(ch[k].feats)
			na += len(ch[k].acts)
		}
	}
	feats, acts := make([]featUse, nf), make([]activation, na)
	c.users = userTable{chunks: make([][]userAgg, len(a.users.chunks)), n: a.users.n}
	for i, ch := range a.users.chunks {
		cc := make([]userAgg, len(ch), cap(ch))
		copy(cc, ch)
		for k := range cc {
			u := &cc[k]
			if n := copy(feats, u.feats); n > 0 {
				u.feats, feats = feats[:n:n], feats[n:]
			} else {
				u.feats = u.feats[:0:0] // nothing shared to append into
			}
			if n := copy(acts, u.acts); n > 0 {
				u.acts, acts = acts[:n:n], acts[n:]
			} else {
				u.acts = u.acts[:0:0]
			}
		}
		c.users.chunks[i] = cc
	}
	return c
}

// clone copies the ring (chunks are written in place).
func (r *idRing) clone() idRing {
	c := idRing{head: r.head, stale: r.stale}
	for i, ch := range r.chunks {
		if ch != nil {
			c.chunks[i] = slices.Clone(ch)
		}
	}
	c.set = idSet{slots: slices.Clone(r.set.slots), n: r.set.n}
	return c
}
