package usage

// Non-copying, non-allocating reads of one user's aggregates, for readers
// that go over many users (the license position). Contract of everything
// in this file:
//
//   - Read-only: call inside Tenant.Read (or a command) on the copy the
//     Aggregates came from, and never change what you are given.
//   - Valid during the call: a UserView, and the values passed to a
//     callback, must not be kept after Tenant.Read returns (a FeatureUse's
//     Plans slice is shared with the feature map: never modify it).
//   - Safe for concurrent readers: nothing here writes to shared memory
//     (no caches, no scratch), so any number of goroutines may read the
//     same readers' copy at once; the runtime changes that copy only while
//     readers are locked out.
//   - No allocation: values are built on the stack and passed by value.
//     (An activation's SKU id is read from the aggregates' SKU table under
//     its read lock — still no allocation.)

// UserView is a read-only handle on one user's aggregates (see the
// contract above). The zero UserView has no aggregates.
type UserView struct {
	u    *userAgg
	skus *skuTable
}

// View returns the handle on a user's aggregates; false if nothing was
// ever recorded for the user. One map lookup; no allocation.
func (a *Aggregates) View(userID string) (UserView, bool) {
	i, ok := a.byID[userID]
	if !ok {
		return UserView{}, false
	}
	return UserView{a.users.at(i), a.skus}, true
}

// ForEachView calls fn with every user's aggregates, in no particular
// order, until fn returns false.
func (a *Aggregates) ForEachView(fn func(UserView) bool) {
	n := a.users.len()
	for c := range a.users.chunks {
		chunk := a.users.chunks[c]
		for i := range chunk {
			if c*userChunk+i >= n {
				return
			}
			if !fn(UserView{&chunk[i], a.skus}) {
				return
			}
		}
	}
}

// ForEachPlanUse calls fn with the use of every service plan some feature
// the user used grants (the union of those features' uses, as
// UserUsage.Plan computes it for one plan), in no particular order, until
// fn returns false. It reports whether the user has aggregates.
func (a *Aggregates) ForEachPlanUse(userID string, fn func(PlanUse) bool) bool {
	v, ok := a.View(userID)
	if ok {
		v.ForEachPlanUse(fn)
	}
	return ok
}

// ForEachFeatureUse calls fn with every feature the user used, by feature
// (feature-map order, plans named directly by events after), until fn
// returns false. It reports whether the user has aggregates.
func (a *Aggregates) ForEachFeatureUse(userID string, fn func(FeatureUse) bool) bool {
	v, ok := a.View(userID)
	if ok {
		v.ForEachFeatureUse(fn)
	}
	return ok
}

// Valid reports whether the view has aggregates.
func (v UserView) Valid() bool { return v.u != nil }

// UserID returns the user's id.
func (v UserView) UserID() string {
	if v.u == nil {
		return ""
	}
	return v.u.id
}

// SignIns returns the user's sign-in facts.
func (v UserView) SignIns() SignInFacts {
	if v.u == nil {
		return SignInFacts{}
	}
	s := &v.u.signIn
	return SignInFacts{First: s.first.Time(), Last: s.last.Time(), LastInteractive: s.interactive.Time(), Days: s.days()}
}

// Mailbox returns the user's mailbox facts.
func (v UserView) Mailbox() MailboxFacts {
	if v.u == nil {
		return MailboxFacts{}
	}
	return v.u.mbx.facts()
}

// ForEachActivation calls fn with every activation, by SKU, until fn
// returns false.
func (v UserView) ForEachActivation(fn func(Activation) bool) {
	if v.u == nil {
		return
	}
	for _, a := range v.u.acts {
		if !fn(Activation{SKUID: v.skus.id(a.sku), Granted: a.held.Time(), Activated: a.at.Time()}) {
			return
		}
	}
}

// ForEachFeatureUse calls fn with every feature the user used, by feature
// (feature-map order, plans named directly by events after), until fn
// returns false.
func (v UserView) ForEachFeatureUse(fn func(FeatureUse) bool) {
	if v.u == nil {
		return
	}
	for i := range v.u.feats {
		if !fn(v.u.feats[i].use()) {
			return
		}
	}
}

// planAcc accumulates one plan's use.
type planAcc struct {
	days        DaySet
	first, last stamp
	pix         planIdx
	src         Evidence
}

func (p *planAcc) add(f *featUse) {
	if f.first < p.first {
		p.first = f.first
	}
	if f.last > p.last {
		p.last = f.last
	}
	p.days.Union(f.days())
	p.src |= f.src
}

func (p *planAcc) use() PlanUse {
	return PlanUse{PlanID: p.pix.id(), First: p.first.Time(), Last: p.last.Time(), Days: p.days, Evidence: p.src}
}

// Bounds of the fast path of ForEachPlanUse: plans are gathered through a
// slot table on the stack indexed by planIdx.
const (
	walkSlots = 512 // plans with a smaller planIdx use the slot table
	walkPlans = 96  // distinct plans a user may have on the fast path
)

// ForEachPlanUse calls fn with the use of every service plan some feature
// the user used grants (the union of those features' uses), in no
// particular order, until fn returns false.
func (v UserView) ForEachPlanUse(fn func(PlanUse) bool) {
	if v.u == nil {
		return
	}
	feats := v.u.feats
	var slot [walkSlots]uint8 // 1 + index in acc; 0: not seen
	var acc [walkPlans]planAcc
	n := 0
	for i := range feats {
		f := &feats[i]
		for _, p := range f.f.info().pix {
			if int(p) >= walkSlots {
				v.forEachPlanUseSlow(fn)
				return
			}
			if s := slot[p]; s != 0 {
				acc[s-1].add(f)
				continue
			}
			if n == walkPlans {
				v.forEachPlanUseSlow(fn)
				return
			}
			acc[n] = planAcc{days: f.days(), first: f.first, last: f.last, pix: p, src: f.src}
			n++
			slot[p] = uint8(n)
		}
	}
	for k := 0; k < n; k++ {
		if !fn(acc[k].use()) {
			return
		}
	}
}

// forEachPlanUseSlow is ForEachPlanUse without bounds, in quadratic time:
// a plan is emitted at its first appearance, united over the features
// from there on.
func (v UserView) forEachPlanUseSlow(fn func(PlanUse) bool) {
	feats := v.u.feats
	for i := range feats {
		for j, p := range feats[i].f.info().pix {
			if planSeenBefore(feats, i, j, p) {
				continue
			}
			acc := planAcc{days: feats[i].days(), first: feats[i].first, last: feats[i].last, pix: p, src: feats[i].src}
			for k := i + 1; k < len(feats); k++ {
				for _, q := range feats[k].f.info().pix {
					if q == p {
						acc.add(&feats[k])
						break
					}
				}
			}
			if !fn(acc.use()) {
				return
			}
		}
	}
}

// planSeenBefore reports whether plan p is granted by a feature before
// feats[i] or appears before position j in feats[i]'s plans.
func planSeenBefore(feats []featUse, i, j int, p planIdx) bool {
	for k := 0; k <= i; k++ {
		for m, q := range feats[k].f.info().pix {
			if k == i && m == j {
				return false
			}
			if q == p {
				return true
			}
		}
	}
	return false
}

// use returns the public form of one feature's use.
func (f *featUse) use() FeatureUse {
	info := f.f.info()
	return FeatureUse{Feature: info.name, Workload: info.workload, Plans: info.plans,
		First: f.first.Time(), Last: f.last.Time(), Days: f.days(), Evidence: f.src}
}

// facts returns the public form of the mailbox facts.
func (m *mailbox) facts() MailboxFacts {
	return MailboxFacts{Known: m.storageDay != 0, RecipientType: recipientTypes[m.rtype], StorageUsedBytes: m.storage,
		HasArchive: m.flags&mbxArchive != 0, ReportDate: m.storageDay, HoldKnown: m.holdDay != 0,
		LitigationHold: m.flags&mbxHold != 0, HoldDate: m.holdDay}
}

// id returns the servicePlanId of an interned plan.
func (p planIdx) id() string {
	if int(p) < len(ft.planIDs) {
		return ft.planIDs[p]
	}
	return planFeatures().extra[int(p)-len(ft.planIDs)]
}
