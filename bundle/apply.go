package bundle

import (
	"context"
	"errors"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/subscription"
	"allot/tenant"
)

// importSubscriptionID is the id of the subscription an import uses to
// bring a product's units to the bundle's quantity.
func importSubscriptionID(skuID string) string { return "import-" + skuID }

// Apply imports a bundle into a tenant as one command: validated against
// the tenant inside the command, all or nothing, durable when it returns.
// subscriptions.csv gives the tenant's subscriptions and each product's
// units by status (units.go: planUnits); import subscriptions make up the
// difference to the tenant's other subscriptions.
// Importing the same bundle again changes nothing.
//
// The import is a bulk command (tenant.Tenant.DoBulk): into a tenant without
// users and groups its records are streamed to the store, and the runtime's
// readers' copy is replaced by the writer's (no second copy is built until
// the next command comes).
func Apply(ctx context.Context, t *tenant.Tenant, b *Bundle, actor string, now time.Time) (licensing.ImportStats, error) {
	return ApplyWithin(ctx, t, b, actor, now, nil, nil)
}

// Consume makes the bundle's next Apply (or ApplyWithin) its last: that
// import takes the bundle's rows and lets go of each kind once the
// tenant's engine holds copies of its own (licensing.Engine.ImportFrom),
// instead of the bundle keeping them until the caller drops it — a
// million users' rows are hundreds of megabytes. The bundle is consumed
// by that Apply whether it succeeds or not; applying it again is refused,
// and its Data is empty once that Apply has validated it. It returns b.
func (b *Bundle) Consume() *Bundle {
	b.consume = true
	return b
}

// errConsumed refuses a bundle that an Apply has consumed (Consume).
var errConsumed = errors.New("bundle: the bundle was consumed by an import (Bundle.Consume) and cannot be applied again")

// release lets go of the bundle's rows when it is to be consumed: Validate's
// result data holds what the import needs (the memberships are a copy of
// their own by then; the other rows are shared with data).
func (b *Bundle) release() {
	if !b.consume {
		return
	}
	b.Data = licensing.ImportData{}
	b.memberUser, b.graphDates, b.subs = nil, nil, nil
	// Where the rows came from is read by the checks above only; the
	// engine's refusals name allotments, seats and units (placed).
	b.userLine, b.groupLine, b.memberLine, b.glLine, b.dlLine = places{}, places{}, places{}, places{}, places{}
}

// ApplyWithin is Apply with the caller's own changes in the same command:
// before runs first (on the state the bundle is then validated against),
// after once the bundle is imported; an error of either refuses the whole
// command. nil functions are skipped.
func ApplyWithin(ctx context.Context, t *tenant.Tenant, b *Bundle, actor string, now time.Time, before, after func(*tenant.Tx) error) (licensing.ImportStats, error) {
	if b.consumed {
		return licensing.ImportStats{}, errConsumed
	}
	b.consumed = b.consume
	var stats licensing.ImportStats
	err := t.DoBulk(ctx, licensing.Op{Actor: actor, Now: now, Why: "tenant import"}, func(tx *tenant.Tx) error {
		if before != nil {
			if err := before(tx); err != nil {
				return err
			}
		}
		data, err := b.Validate(tx.Engine)
		if err != nil {
			return err
		}
		if err := b.CheckIdentity(tx.State, &data); err != nil {
			return err
		}
		subs, totals, err := planUnits(tx, b.subs, now)
		b.release() // data and subs have what the rest needs
		if err != nil {
			return err
		}
		// The engine's rules for units (each product's total after the
		// import), allotments and seat claims (those of the API's
		// commands), before anything is written; Import checks them again.
		data.Units = totals
		if err := tx.Engine.CheckImport(&data); err != nil {
			return b.placed(tx.Engine.Catalog(), err)
		}
		for _, s := range subs {
			if err := subscription.Put(tx, s); err != nil {
				return err
			}
		}
		data.Units = nil
		data.KeepUsers = b.consume // released above: the engine may keep the user rows as they are
		st, err := tx.Engine.ImportFrom(tx.Op, &data)
		stats = st
		if err != nil {
			return b.placed(tx.Engine.Catalog(), err)
		}
		if after != nil {
			return after(tx)
		}
		return nil
	})
	return stats, err
}

// placed prefixes a refusal of the engine's import rules with the file and
// line (or Graph JSON page and index) of the record, keeping its code.
func (b *Bundle) placed(cat *catalog.Catalog, err error) error {
	var ie *licensing.ImportError
	if !errors.As(err, &ie) {
		return err
	}
	where := ""
	switch ie.Part {
	case "allotments":
		where = b.allotLine.at(ie.Index)
	case "seats":
		where = b.seatLine.at(ie.Index)
	case "units":
		for part, at := range b.subLine {
			if s, ok := cat.SKU(part); ok && s.ID == ie.Key {
				where = at
			}
		}
	}
	if where == "" {
		return err
	}
	return allot.Errorf(allot.ErrorCode(err), "%s: %s", where, allot.ErrorMessage(err))
}
