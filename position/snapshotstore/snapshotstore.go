// Package snapshotstore keeps a tenant's license positions: it computes
// the position of a tenant copy (its engine, usage aggregates, price list
// and snapshot history) and saves, lists and reads snapshots, stored as
// tenant objects in a tenant extension. Package position stays pure: it
// computes, renders and compares, and never touches a store or a tenant.
package snapshotstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strconv"
	"time"

	"allot"
	"allot/audit"
	"allot/chargeback"
	"allot/internal/memtune"
	"allot/licensing"
	"allot/position"
	"allot/prices"
	"allot/store"
	"allot/tenant"
	"allot/usage"
)

// How snapshots are stored: each is two tenant objects with the snapshot's
// id — KindSnapshot, the summary (kept in memory by the tenant extension,
// a few kilobytes, with the chargeback per group of the tenant's trend
// groupings: chargeback.SnapshotCosts), and KindSnapshotFindings, the packed finding
// references (position.EncodeFindings), which stay in the store and are read only
// to compare (LoadFindings). At most MaxSnapshots are kept: saving one
// more deletes the oldest.
const (
	KindSnapshot         store.Kind = "positionSnapshot"
	KindSnapshotFindings store.Kind = "positionSnapshotFindings"
	MaxSnapshots                    = 400
	extName                         = "position-snapshots"
)

type snapshots struct{ list []position.Snapshot } // by TakenAt, then id

// Extension is the tenant's snapshots as a tenant extension; a runtime
// that serves the position lists it in tenant.Options.Extensions.
var Extension = tenant.NewExtension(tenant.ExtensionType[*snapshots]{
	Name:  extName,
	Kinds: []store.Kind{KindSnapshot, KindSnapshotFindings},
	New:   func() *snapshots { return &snapshots{} },
	Load: func(ss *snapshots, o store.Object) error {
		if o.Kind != KindSnapshot {
			return nil // findings stay in the store
		}
		var s position.Snapshot
		if err := json.Unmarshal(o.Body, &s); err != nil {
			return err
		}
		ss.put(s)
		return nil
	},
	Remove: func(ss *snapshots, kind store.Kind, id string) {
		if kind == KindSnapshot {
			ss.list = slices.DeleteFunc(ss.list, func(x position.Snapshot) bool { return x.ID == id })
		}
	},
	// Snapshots are replaced whole, never changed in place.
	Clone: func(ss *snapshots) *snapshots { return &snapshots{list: slices.Clone(ss.list)} },
})

func (ss *snapshots) put(s position.Snapshot) {
	ss.list = slices.DeleteFunc(ss.list, func(x position.Snapshot) bool { return x.ID == s.ID })
	ss.list = append(ss.list, s)
	sort.SliceStable(ss.list, func(i, j int) bool {
		a, b := &ss.list[i], &ss.list[j]
		if !a.TakenAt.Equal(b.TakenAt) {
			return a.TakenAt.Before(b.TakenAt)
		}
		return a.ID < b.ID
	})
}

// List returns the tenant's snapshots, oldest first. Call inside
// Tenant.Read; the slice is the caller's.
func List(s *tenant.State) []position.Snapshot {
	return slices.Clone(tenant.Ext(s, Extension).list)
}

type storedFindings struct {
	Encoding string `json:"encoding"` // "gzip+tsv"
	Count    int    `json:"count"`
	Data     []byte `json:"data"`
}

// Save stores a snapshot and its packed findings (position.EncodeFindings);
// run it inside Tenant.Do with values computed before. A snapshot with the
// same id is replaced; beyond MaxSnapshots the oldest are deleted.
func Save(tx *tenant.Tx, snap position.Snapshot, findings []byte, count int) error {
	ss := tenant.Ext(tx.State, Extension)
	ss.put(snap)
	if err := tx.Persist(KindSnapshot, snap.ID, snap); err != nil {
		return err
	}
	if err := tx.Persist(KindSnapshotFindings, snap.ID, storedFindings{Encoding: "gzip+tsv", Count: count, Data: findings}); err != nil {
		return err
	}
	for len(ss.list) > MaxSnapshots {
		old := ss.list[0]
		ss.list = ss.list[1:]
		tx.Unpersist(KindSnapshot, old.ID)
		tx.Unpersist(KindSnapshotFindings, old.ID)
	}
	return nil
}

// LoadFindings reads a snapshot's finding references from the store
// (ENOTFOUND if it has none).
func LoadFindings(ctx context.Context, st store.Store, tenantID, id string) ([]position.FindingRef, error) {
	o, err := st.GetObject(ctx, tenantID, KindSnapshotFindings, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, allot.Errorf(allot.ENOTFOUND, "Snapshot %s has no stored findings.", id)
	}
	if err != nil {
		return nil, err
	}
	var sf storedFindings
	if err := json.Unmarshal(o.Body, &sf); err != nil {
		return nil, err
	}
	return position.DecodeFindings(sf.Data)
}

// Position computes the position of a tenant copy: its engine, usage aggregates,
// price list and snapshot history. Call it inside Tenant.Read.
func Position(s *tenant.State, o position.Options) (*position.Position, error) {
	pl, _, err := prices.Of(s)
	if err != nil {
		return nil, err
	}
	return position.Compute(position.Input{Engine: s.Engine, Usage: usage.Of(s), Prices: pl, AsOf: o.AsOf, WindowDays: o.WindowDays,
		History: position.History(List(s)), Scope: o.Scope, Progress: o.Progress, Now: o.Now}), nil
}

// Take computes the tenant's position as of the day of now and saves it
// as a snapshot with the given id and origin (one command). It returns the
// snapshot and the position.
func Take(ctx context.Context, t *tenant.Tenant, id, origin, actor string, now time.Time) (position.Snapshot, *position.Position, error) {
	// Computed on a snapshot, not inside Tenant.Read (seconds at a million
	// users): see Tenant.Snapshot.
	state, err := t.Snapshot(ctx)
	if err != nil {
		return position.Snapshot{}, nil, err
	}
	p, err := Position(state, position.Options{AsOf: usage.DayOf(now), Now: now})
	if err != nil {
		return position.Snapshot{}, nil, err
	}
	snap := position.NewSnapshot(id, origin, now, p)
	if snap.Chargeback, err = chargeback.SnapshotCosts(state); err != nil {
		return position.Snapshot{}, nil, err
	}
	blob := position.EncodeFindings(position.Refs(p))
	n := p.FindingCount()
	// The copy is read no more: an idle tenant's writer keeps it, so that
	// the command below does not make another (Tenant.Return).
	t.Return(ctx, state)
	state = nil
	err = t.Do(ctx, licensing.Op{Actor: actor, Now: now}, func(tx *tenant.Tx) error {
		tx.Audit(audit.Entry{Action: "Take license position snapshot", Why: origin,
			Detail: id + " as of " + snap.AsOf + ", " + strconv.Itoa(n) + " findings"})
		return Save(tx, snap, blob, n)
	})
	return snap, p, err
}

// DailyID is the id of a tenant's daily snapshot of a day.
func DailyID(day usage.Day) string { return "daily-" + day.String() }

// TakeDaily takes the daily snapshot of each tenant that has none for
// today (the day of now) and returns how many it took. It stops at the
// first error (tenant.ErrClosed when the runtime shuts down).
func TakeDaily(ctx context.Context, rt *tenant.Runtime, now time.Time) (int, error) {
	taken := 0
	id := DailyID(usage.DayOf(now))
	for _, info := range rt.List() {
		t, ok := rt.Get(info.ID)
		if !ok {
			continue
		}
		have := false
		t.Read(func(s *tenant.State) {
			for _, sn := range List(s) {
				if sn.ID == id {
					have = true
				}
			}
		})
		if have {
			continue
		}
		if _, _, err := Take(ctx, t, id, position.OriginDaily, "allot (daily position snapshot)", now); err != nil {
			return taken, err
		}
		taken++
		// The computation's working memory is garbage now; a large
		// tenant's would stay resident until the collector's goal is
		// reached again (Tenant.Snapshot's copy leaves it at about twice
		// the live heap).
		users := 0
		t.Read(func(s *tenant.State) { users = s.Engine.UserCount() })
		memtune.AfterComputation(users)
	}
	return taken, nil
}
