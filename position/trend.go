package position

import "strconv"

// runningOut reports the products whose free seats run out within
// RunOutDays at the current assignment trend, or that have users waiting
// in the general pool. The trend is the change in assigned seats since the
// oldest snapshot of the last RunOutDays days (at least a day old); without
// one, the seats granted in the last RunOutDays days that are still held,
// per day — unknown when every seat held was granted in that time (an
// import, a new product: no trend to tell). The units to buy are those the
// trend needs beyond the free seats and the seats the findings free
// (idle, never activated, disabled accounts, guests, shared mailboxes).
// Users waiting in an allotment are not the general pool's: their
// licenseErrors findings say to raise the allotment or buy; a waiting
// user's unit is costed there, once.
func (r *run) runningOut(pos *Position) {
	for i := range pos.SKUs {
		row := &pos.SKUs[i]
		si := r.m.skuByID(row.SKUID)
		if si == nil || row.Owned == 0 && row.Assigned == 0 {
			continue
		}
		free := row.Free
		waiting := r.genWaiting[si.ix]
		reclaim := row.Seats.Idle + row.Seats.NeverActivated + row.Seats.Disabled + row.Seats.Guest + row.Seats.SharedMailbox
		seats, per, from := r.rate(row.SKUID, row.Assigned, si.ix)
		// The free seats last free·per/seats days; seats·RunOutDays/per are
		// needed over the horizon (integer arithmetic: exact).
		runsOut := seats > 0 && free*per < RunOutDays*seats
		units := 0
		if runsOut {
			units = max((seats*RunOutDays+per-1)/per-free-reclaim, 0)
		}
		if waiting == 0 && units == 0 {
			continue
		}
		detail := plural(free, "free seat", "free seats") + " of " + plural(row.Owned, "enabled unit", "enabled units") + "; " + from
		if seats > 0 {
			detail += "; at this pace the free seats last " + plural(free*per/seats, "day", "days")
		}
		if reclaim > 0 {
			detail += "; the findings free " + plural(reclaim, "seat", "seats")
		}
		if waiting > 0 {
			detail += "; " + plural(waiting, "user already waits", "users already wait") + " for a seat (see the license errors)"
		}
		fix := Fix{Units: units, Add: []string{si.sku.PartNumber}}
		if units > 0 {
			fix.Description = "Buy " + plural(units, "unit", "units") + " of " + si.name() + " to last the next " + strconv.Itoa(RunOutDays) + " days."
			if si.priced {
				fix.MonthlyDelta = money(int64(units) * si.price)
			}
		} else {
			fix.Description = "Free seats of " + si.name() + " (the findings say which) or buy one unit for each waiting user (see the license errors)."
			fix.Add = nil
		}
		r.evBuf = append(r.evBuf[:0], mkErec(sourceIx(SourceTrend), -1, r.part.text(detail), 0))
		r.add(SeatsRunningOut, nil, si, "", r.fix(fix), r.evBuf)
	}
}

// plural writes a count with its noun: "1 user", "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
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
		return d, age, plural(d, "more seat", "more seats") + " assigned since the snapshot of " + h.Day.String()
	}
	r.grow(ix)
	n := r.recent[ix]
	if n > 0 && n >= assigned {
		return 0, RunOutDays, "every seat held was granted in the last " + strconv.Itoa(RunOutDays) + " days: no trend yet"
	}
	return n, RunOutDays, plural(n, "seat", "seats") + " granted in the last " + strconv.Itoa(RunOutDays) + " days and still held"
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
		detail := "subscription status " + row.CapabilityStatus + "; " + plural(row.Assigned, "seat", "seats") + " assigned, " + plural(row.Owned, "enabled unit", "enabled units")
		if row.InGrace > 0 {
			detail += "; " + plural(row.InGrace, "seat", "seats") + " in the grace period of an expired subscription (users keep access until it is disabled)"
		}
		if row.Suspended > 0 {
			detail += "; " + plural(row.Suspended, "seat", "seats") + " in suspended or disabled units (users have no service; assignments are kept)"
		}
		fix := Fix{Units: n, Add: []string{si.sku.PartNumber},
			Description: "Renew or reactivate the subscription of " + si.name() + ", or buy " + plural(n, "unit", "units") + ", before the users lose (or to restore) the service."}
		if si.priced {
			fix.MonthlyDelta = money(int64(n) * si.price)
		}
		r.evBuf = append(r.evBuf[:0], mkErec(sourceIx(SourceLicense), -1, r.part.text(detail), 0))
		r.add(SubscriptionLapsing, nil, si, "", r.fix(fix), r.evBuf)
	}
}
