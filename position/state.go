package position

import (
	"context"
	"strconv"
	"time"

	"allot/audit"
	"allot/licensing"
	"allot/prices"
	"allot/tenant"
	"allot/usage"
)

// Options choose what Of computes.
type Options struct {
	AsOf       usage.Day // required
	WindowDays int       // 0: DefaultWindowDays
	Scope      *Scope
	Progress   func(done, total int)
	Now        time.Time
}

// Of computes the position of a tenant copy: its engine, usage aggregates,
// price list and snapshot history. Call it inside Tenant.Read.
func Of(s *tenant.State, o Options) (*Position, error) {
	pl, _, err := prices.Of(s)
	if err != nil {
		return nil, err
	}
	return Compute(Input{Engine: s.Engine, Usage: usage.Of(s), Prices: pl, AsOf: o.AsOf, WindowDays: o.WindowDays,
		History: History(Snapshots(s)), Scope: o.Scope, Progress: o.Progress, Now: o.Now}), nil
}

// Take computes the tenant's position as of the day of now and saves it
// as a snapshot with the given id and origin (one command). It returns the
// snapshot and the position.
func Take(ctx context.Context, t *tenant.Tenant, id, origin, actor string, now time.Time) (Snapshot, *Position, error) {
	// Computed on a snapshot, not inside Tenant.Read (seconds at a million
	// users): see Tenant.Snapshot.
	state, err := t.Snapshot(ctx)
	if err != nil {
		return Snapshot{}, nil, err
	}
	p, err := Of(state, Options{AsOf: usage.DayOf(now), Now: now})
	if err != nil {
		return Snapshot{}, nil, err
	}
	snap := NewSnapshot(id, origin, now, p)
	blob := EncodeFindings(Refs(p))
	n := p.FindingCount()
	err = t.Do(ctx, licensing.Op{Actor: actor, Now: now}, func(tx *tenant.Tx) error {
		tx.Audit(audit.Entry{Action: "Take license position snapshot", Why: origin,
			Detail: id + " as of " + snap.AsOf + ", " + strconv.Itoa(n) + " findings"})
		return SaveSnapshot(tx, snap, blob, n)
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
			for _, sn := range Snapshots(s) {
				if sn.ID == id {
					have = true
				}
			}
		})
		if have {
			continue
		}
		if _, _, err := Take(ctx, t, id, OriginDaily, "allot (daily position snapshot)", now); err != nil {
			return taken, err
		}
		taken++
	}
	return taken, nil
}
