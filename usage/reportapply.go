package usage

import "allot/tenant"

// Apply aggregates the report into the tenant's usage: run it inside
// Tenant.Do (the whole report is one command: all or nothing).
//
// A report is identified by its type and Report Refresh Date: importing it
// again changes nothing and answers Duplicate, unless force is set (forcing
// is safe: every aggregate is idempotent; it serves to re-read a report
// after a concealed-name mapping was added). A report none of whose rows
// matches a user is not recorded (NotRecorded, with a Message saying what
// to do): importing it again needs no force. The active-user report's
// License Assign Dates date the seats that have no grant date from
// imported data yet (grantDates, Engine.SetGrantDates). Each activity date counts as
// a use of the workload's feature on that day and as activity for
// activation; mailbox facts replace older ones only. A report is applied by
// one command at a time (its lookups use the report's buffers).
func (r *Report) Apply(tx *tenant.Tx, force bool) (Result, error) {
	a := Of(tx.State)
	res := Result{Report: r.Kind}
	res.addRejected(r.Rejected)
	prev := -1
	if r.RefreshDate != 0 {
		res.ReportRefreshDate = r.RefreshDate.String()
		prev = a.meta.report(r.Kind, res.ReportRefreshDate)
	}
	if prev >= 0 && !force {
		res.Duplicate = true
		res.done()
		return res, nil
	}
	a.begin()
	a.reserve(r.n)
	limit := DayOf(tx.Op.Now.Add(maxFuture))
	r.res.prepare(tx, a, r.n, func(i int) (string, string) {
		row := r.row(i)
		if future(row.obs[:row.nobs], row.refresh, limit) {
			return "", "" // rejected below
		}
		return row.user, row.userID
	})
	if err := r.res.failed(); err != nil {
		return Result{}, err
	}
	r.aggregate(tx, a, &res, limit, EvidenceReport(r.Kind))
	if res.Accepted == 0 && res.UnmatchedCount > 0 {
		// Nothing matched: nothing is recorded, so that the same report
		// can be imported again once it can match (no force needed).
		res.NotRecorded, res.Message = true, unmatchedMessage
		if res.ConcealedCount > 0 {
			res.Message = concealedMessage
		}
		res.done()
		return res, a.finish(tx, true)
	}
	if dates := r.grantDates(tx); len(dates) > 0 {
		tx.Engine.SetGrantDates(dates)
	}
	entry := ImportedReport{Report: r.Kind, ReportRefreshDate: res.ReportRefreshDate, Rows: r.Rows,
		Accepted: res.Accepted, Unmatched: res.UnmatchedCount, Rejected: res.RejectedCount, ImportedDateTime: tx.Op.Now.UTC()}
	if r.RefreshDate != 0 { // else no row was read: nothing identifies the report
		if prev >= 0 {
			a.meta.Reports[prev] = entry
		} else {
			a.meta.Reports = append(a.meta.Reports, entry)
		}
		if err := tx.Persist(kindRep, entry.Report+"/"+entry.ReportRefreshDate, entry); err != nil {
			return res, err
		}
	}
	res.done()
	return res, a.finish(tx, true)
}

// aggregate applies the rows to the aggregates (after prepare).
func (r *Report) aggregate(tx *tenant.Tx, a *Aggregates, res *Result, limit Day, src Evidence) {
	for i := 0; i < r.n; i++ {
		row := r.row(i)
		obs := row.obs[:row.nobs]
		if future(obs, row.refresh, limit) {
			res.reject(int(row.line), "a date of the row is in the future")
			continue
		}
		w := r.res.resolve(a, i)
		if w.agg < 0 {
			res.UnmatchedCount++
			if w.concealed {
				res.ConcealedCount++
			}
			name := row.user
			if name == "" {
				name = row.userID
			}
			res.unmatched(Unmatched{Line: int(row.line), User: name, Concealed: w.concealed, Count: 1,
				AssignedProducts: r.productNames(tx, row.products)})
			continue
		}
		u := a.users.at(w.agg)
		held := r.res.heldOf(&w)
		if u.feats == nil {
			u.feats = a.feats.carve(len(obs))
		}
		ch := false
		for _, o := range obs {
			t := dayStamp(o.d)
			if t == 0 {
				continue // before 2000
			}
			if u.observe(o.f, t, o.d, src) {
				ch = true
			}
			if u.activity(held, t, true) {
				ch = true
			}
		}
		if r.Kind == ReportMailboxUsage && u.mailboxFacts(row) {
			ch = true
		}
		if ch {
			a.touch(w.agg)
		}
		res.Accepted++
	}
}

func future(obs []observation, refresh, limit Day) bool {
	if refresh > limit {
		return true
	}
	for _, o := range obs {
		if o.d > limit {
			return true
		}
	}
	return false
}

// report returns the index of an imported report, -1 if none.
func (m *meta) report(kind, refreshDate string) int {
	for i, r := range m.Reports {
		if r.Report == kind && r.ReportRefreshDate == refreshDate {
			return i
		}
	}
	return -1
}

// mailboxFacts records a mailbox report row's facts unless a newer report
// already gave them. A row without any (storage, recipient type and
// archive all empty, as a report written for a user whose mailbox is
// unknown has) gives none: the facts stay unknown.
func (u *userAgg) mailboxFacts(row *reportRow) bool {
	m := &u.mbx
	changed := false
	if row.refresh >= m.storageDay && (row.storage >= 0 || row.rtype != 0 || row.archive == 0 || row.archive == 1) {
		old := *m
		m.storageDay = row.refresh
		if row.storage >= 0 {
			m.storage = row.storage
		}
		if row.rtype != 0 {
			m.rtype = row.rtype
		}
		switch row.archive {
		case 1:
			m.flags |= mbxArchive
		case 0:
			m.flags &^= mbxArchive
		}
		changed = *m != old
	}
	if row.hold >= 0 && u.setHold(row.hold == 1, row.refresh) {
		changed = true
	}
	return changed
}
