package licensing

import (
	"encoding/json"

	"allot"
	"allot/audit"
)

// changeDetail is the Detail of an audit entry that changes a value:
// {"oldValue":…,"newValue":…} (the names of Entra's audit
// modifiedProperties), so that every change of units, quantities and
// settings records what it was and what it became.
func changeDetail(before, after any) string {
	b, err := json.Marshal(struct {
		Old any `json:"oldValue"`
		New any `json:"newValue"`
	}{before, after})
	if err != nil {
		return ""
	}
	return string(b)
}

// SetUnits sets a SKU's prepaid units and status. Units move between the
// lifecycle states (enabled, warning, suspended, lockedOut) without touching
// assignments: holders keep their seats, and their service follows the
// SKU's capabilityStatus. Lowering the total units below the seats in use is
// refused with the number of assignments that must go first. Raising the
// assignable units admits waiting users.
func (e *Engine) SetUnits(op Op, skuID string, u Units) error {
	return e.setUnits(op, skuID, u, false)
}

// SetUnitsReleasing sets a SKU's units like SetUnits, but the total may drop
// below the seats in use (a subscription is deleted): the youngest holders
// lose their seats and wait again (CountViolation), so the oldest claims
// keep the remaining seats. Allotments must still fit in the units.
func (e *Engine) SetUnitsReleasing(op Op, skuID string, u Units) error {
	return e.setUnits(op, skuID, u, true)
}

func (e *Engine) setUnits(op Op, skuID string, u Units, release bool) error {
	s, ok := e.cat.SKU(skuID)
	if !ok {
		return allot.Errorf(allot.EINVALID, "Unknown product %s.", skuID)
	}
	if u.Enabled < 0 || u.Warning < 0 || u.Suspended < 0 || u.LockedOut < 0 {
		return allot.Errorf(allot.EINVALID, "Unit counts cannot be negative.")
	}
	if u.Status == "" {
		u.Status = StatusOf(u)
	}
	switch u.Status {
	case "Enabled", "Warning", "Suspended", "LockedOut", "Deleted":
	default:
		return allot.Errorf(allot.EINVALID, "Invalid capabilityStatus %q.", u.Status)
	}
	p := e.pools[s.ID]
	held := 0
	if p != nil && !release {
		held = p.consumed // a release may leave holders beyond the units
	}
	if err := fitUnits(s, u.Total(), e.allotted[s.ID], held); err != nil {
		return err
	}
	now := e.tick(op.Now)
	if p == nil {
		p = e.ensurePool(s)
	}
	before := p.units
	old := before.Status
	p.units = u
	mark(&e.delta.Pools, s.ID, true)
	e.auditDetail(op, "Update subscription units", "", "", s.ID, changeDetail(before, u))
	if p.consumed > p.capacity() {
		e.releaseYoungest(p, "the subscription of "+s.PartNumber+" no longer has the units")
	}
	if old != u.Status && e.dyn != nil {
		// The holders' assignedPlans capabilityStatus changed: rules that
		// read assigned plans are evaluated again.
		for _, id := range e.dyn.Affected([]string{"assignedplans"}) {
			if g := e.groups[id]; g != nil {
				e.applyRule(op, g, e.dyn.Get(id), now)
			}
		}
	}
	e.pendSKU(s.ID)
	e.settle(now)
	return nil
}

// releaseYoungest returns the youngest holders of a pool over its capacity
// to the waiting room, in a command: their sources are restated
// (CountViolation).
func (e *Engine) releaseYoungest(p *pool, why string) {
	for _, l := range e.shrink(p) {
		// Reclaimed, not only restated: what the claim phase derives from
		// the user's seats (all-or-none siblings, kept sources) changes.
		e.touch(l.user, audit.ActorGroupLicensing, why)
	}
}
