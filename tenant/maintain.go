package tenant

import (
	"context"
	"time"

	"allot/audit"
	"allot/licensing"
)

// MaintenanceTask is periodic work another package runs on every tenant
// (e.g. the partner API's subscription lifecycle), listed in
// Options.Maintenance. Run is a command: it reads the time from tx.Op.Now
// only, so a pass is deterministic for the time it is given.
type MaintenanceTask struct {
	Name  string // for logs
	Actor string // the audit actor; "" is group-based licensing
	Why   string // the audit reason of the command
	Run   func(tx *Tx) error
}

// Maintain runs periodic work on every tenant until ctx ends, every
// interval (MaintainAt with the runtime's clock).
func (r *Runtime) Maintain(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.MaintainAt(ctx, r.now())
	}
}

// MaintainAt runs one maintenance pass on every tenant as of now: dynamic
// membership rules that read system.now (hire dates relative to today) are
// re-evaluated, as Entra does on its own schedule, then every registered
// task of Options.Maintenance runs, in its order, each as one command
// per tenant. Errors are logged; one tenant's failure does not stop the
// others.
func (r *Runtime) MaintainAt(ctx context.Context, now time.Time) {
	for _, info := range r.List() {
		t, ok := r.Get(info.ID)
		if !ok || len(t.Problems()) > 0 { // read-only until repaired
			continue
		}
		err := t.Do(ctx, licensing.Op{Actor: audit.ActorGroupLicensing, Now: now, Why: "scheduled re-evaluation of date rules"},
			func(tx *Tx) error { return tx.Engine.ReevaluateTimeRules(tx.Op) })
		if err != nil && ctx.Err() == nil {
			r.log.Error("re-evaluating date rules", "tenant", info.ID, "err", err)
		}
		for _, m := range r.reg.maintenance {
			actor := m.Actor
			if actor == "" {
				actor = audit.ActorGroupLicensing
			}
			err := t.Do(ctx, licensing.Op{Actor: actor, Now: now, Why: m.Why}, m.Run)
			if err != nil && ctx.Err() == nil {
				r.log.Error("maintenance", "task", m.Name, "tenant", info.ID, "err", err)
			}
		}
	}
}
