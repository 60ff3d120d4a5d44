package position

import "strconv"

// runningOut reports the products whose free seats run out within
// RunOutDays at the current assignment trend, or already have users
// waiting. The trend is the change in assigned seats since the oldest
// snapshot of the last RunOutDays days (at least a day old); without one,
// the seats granted in the last RunOutDays days that are still held, per
// day (which ignores seats released meanwhile, so it can only overstate
// the pace).
func (r *run) runningOut(pos *Position) {
	for i := range pos.SKUs {
		row := &pos.SKUs[i]
		si := r.m.skuByID(row.SKUID)
		if si == nil || row.Owned == 0 && row.Assigned == 0 {
			continue
		}
		free := max(row.Owned-row.Assigned, 0)
		seats, per, from := r.rate(row.SKUID, row.Assigned, si.ix)
		// The free seats last free·per/seats days; seats·RunOutDays/per are
		// needed over the horizon (integer arithmetic: exact).
		runsOut := seats > 0 && free*per < RunOutDays*seats
		if row.Waiting == 0 && !runsOut {
			continue
		}
		units := 0
		if seats > 0 {
			units = max((seats*RunOutDays+per-1)/per-free, 0)
		}
		detail := strconv.Itoa(max(free, 0)) + " free of " + strconv.Itoa(row.Owned) + "; " + from
		if seats > 0 {
			detail += "; at this pace the free seats last " + strconv.Itoa(free*per/seats) + " days"
		}
		if row.Waiting > 0 {
			detail += "; " + strconv.Itoa(row.Waiting) + " users already wait for a seat (see licenseErrors)"
		}
		fix := Fix{Units: units, Add: []string{si.sku.PartNumber}}
		if units > 0 {
			fix.Description = "Buy " + strconv.Itoa(units) + " units of " + si.sku.PartNumber + " to last the next " + strconv.Itoa(RunOutDays) + " days."
			if si.priced {
				fix.MonthlyDelta = money(int64(units) * si.price)
			}
		} else {
			fix.Description = "No new assignments are expected; buy units for the waiting users (see licenseErrors) or free seats."
			fix.Add = nil
		}
		r.evBuf = append(r.evBuf[:0], mkErec(sourceIx(SourceTrend), -1, r.part.text(detail), 0))
		r.add(SeatsRunningOut, nil, si, "", r.fix(fix), r.evBuf)
	}
}

// rate returns the assigned-seat trend of a product, seats per per days,
// and where it comes from.
func (r *run) rate(skuID string, assigned int, ix int32) (seats, per int, from string) {
	for _, h := range r.in.History {
		age := int(r.asOf - h.Day)
		if age < 1 || age > RunOutDays {
			continue
		}
		then, ok := h.Assigned[skuID]
		if !ok {
			continue
		}
		d := assigned - then
		return d, age, strconv.Itoa(d) + " more seats assigned since the snapshot of " + h.Day.String()
	}
	r.grow(ix)
	n := r.recent[ix]
	return n, RunOutDays, strconv.Itoa(n) + " seats granted in the last " + strconv.Itoa(RunOutDays) + " days and still held"
}

// lapsing reports the products with seats held in units of a lapsing
// subscription: in grace (expired: users keep the service until the
// subscription is disabled) or suspended / locked out (service off,
// assignments kept), so the admin renews, reactivates or buys before users
// lose their service.
func (r *run) lapsing(pos *Position) {
	for i := range pos.SKUs {
		row := &pos.SKUs[i]
		si := r.m.skuByID(row.SKUID)
		if si == nil || row.InGrace+row.Suspended == 0 {
			continue
		}
		n := row.InGrace + row.Suspended
		detail := "subscription status " + row.CapabilityStatus + "; " + strconv.Itoa(row.Assigned) + " seats assigned, " + strconv.Itoa(row.Owned) + " enabled units"
		if row.InGrace > 0 {
			detail += "; " + strconv.Itoa(row.InGrace) + " seats in the grace period of an expired subscription (users keep access until it is disabled)"
		}
		if row.Suspended > 0 {
			detail += "; " + strconv.Itoa(row.Suspended) + " seats in suspended or disabled units (users have no service; assignments are kept)"
		}
		fix := Fix{Units: n, Add: []string{si.sku.PartNumber},
			Description: "Renew or reactivate the subscription of " + si.sku.PartNumber + ", or buy " + strconv.Itoa(n) + " units, before the users lose (or to restore) the service."}
		if si.priced {
			fix.MonthlyDelta = money(int64(n) * si.price)
		}
		r.evBuf = append(r.evBuf[:0], mkErec(sourceIx(SourceLicense), -1, r.part.text(detail), 0))
		r.add(SubscriptionLapsing, nil, si, "", r.fix(fix), r.evBuf)
	}
}
