package web

import (
	"time"

	"allot/position/snapshotstore"
	"allot/tenant"
)

// positionFigures are the required and used seats of the tenant's latest
// license position snapshot (package position), by skuId: the dashboard
// shows them next to the engine's live figures, with the snapshot's date.
// Computing a position takes seconds at a million users, so the dashboard
// never computes one; snapshots are taken daily by allot serve, on demand
// through POST /allot/v1/position/snapshots, and by the demo.
type positionFigures struct {
	AsOf     string
	TakenAt  time.Time
	Required map[string]int
	Used     map[string]int
}

// latestPosition returns the figures of the latest snapshot; nil when the
// tenant has none. Call inside Tenant.Read.
func latestPosition(s *tenant.State) *positionFigures {
	snaps := snapshotstore.List(s)
	if len(snaps) == 0 {
		return nil
	}
	last := snaps[len(snaps)-1]
	f := &positionFigures{AsOf: last.AsOf, TakenAt: last.TakenAt, Required: map[string]int{}, Used: map[string]int{}}
	for _, k := range last.SKUs {
		f.Required[k.SKUID], f.Used[k.SKUID] = k.Required, k.Used
	}
	return f
}
