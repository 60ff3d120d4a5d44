package tenant

import (
	"context"
	"time"

	"allot/audit"
	"allot/licensing"
)

// Maintain runs periodic work on every tenant until ctx ends: dynamic
// membership rules that read system.now (hire dates relative to today) are
// re-evaluated every interval, as Entra does on its own schedule.
func (r *Runtime) Maintain(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, info := range r.List() {
			t, ok := r.Get(info.ID)
			if !ok || len(t.Problems()) > 0 { // read-only until repaired
				continue
			}
			err := t.Do(ctx, licensing.Op{Actor: audit.ActorGroupLicensing, Now: r.now(), Why: "scheduled re-evaluation of date rules"},
				func(tx *Tx) error { return tx.Engine.ReevaluateTimeRules(tx.Op) })
			if err != nil && ctx.Err() == nil {
				r.log.Error("re-evaluating date rules", "tenant", info.ID, "err", err)
			}
		}
	}
}
