package position

import (
	"encoding/binary"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"allot/licensing"
	"allot/prices"
)

// findingID is stable for the same kind, user, product and group: FNV-1a
// (64 bits) of the four strings, each followed by a zero byte, with the
// top bit set.
func findingID(kind, userID, skuID, groupID string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, s := range [...]string{kind, userID, skuID, groupID} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * prime
		}
		h *= prime // the zero byte: h ^ 0 == h
	}
	return h | 1<<63 // always 16 hex digits
}

func money(units int64) *float64 {
	v := prices.FromUnits(units)
	return &v
}

// fix adds a fix to the part's table and returns its index.
func (r *run) fix(f Fix) int32 {
	return r.part.fixes.add(f)
}

// fixFor returns the index of the fix built once per key.
func (r *run) fixFor(key textKey, build func() Fix) int32 {
	if i, ok := r.fixByKey[key]; ok {
		return i
	}
	i := r.fix(build())
	r.fixByKey[key] = i
	return i
}

type textKey struct {
	kind string
	a, b int32
	s    string
}

// keepOnLeave reports an idle seat of a user on leave (attribute value
// v): an Idle finding whose fix keeps the seat; the seat stays (it counts
// as required: the user comes back to it).
func (r *run) keepOnLeave(i int, v string) {
	c := &r.cur
	st := &c.seats[i]
	if st.removed || st.leave {
		return
	}
	st.leave = true
	detail := r.idleText[0]
	if !c.active2 {
		detail = r.idleText[1]
	}
	fix := r.fixFor(textKey{kind: "leave", a: st.si.ix}, func() Fix {
		f := Fix{Description: "Keep the " + st.si.sku.PartNumber + " seat: the user is on leave; review it when they are back."}
		if st.si.priced {
			f.MonthlyDelta = money(0)
		}
		return f
	})
	r.evBuf = append(r.evBuf[:0], r.ev(SourceSignIn, "", detail, c.last, 0),
		r.ev(SourceDirectory, "", "on leave: "+r.leaveName+" is "+strconv.Quote(v)+" (the tenant's leave attribute)", time.Time{}, 0))
	r.add(Idle, c.u, st.si, "", fix, r.evBuf)
}

// add records a finding with its evidence.
func (r *run) add(kind string, u *licensing.User, si *skuInfo, groupID string, fix int32, evs []erec) {
	if r.in.Scope != nil && (si == nil || !r.in.Scope.sku(si.sku.ID)) {
		return // a delegated owner sees findings of its allotments' products only
	}
	if r.coverOnly && !r.inCover {
		return
	}
	p := r.part
	f := frec{user: -1, sku: -1, group: p.group(groupID), fix: fix, nev: int32(len(evs))}
	uid, sid := "", ""
	if u != nil {
		f.user, uid = p.user(u.ID, u.UserPrincipalName), u.ID
	}
	if si != nil {
		f.sku, sid = si.ix, si.sku.ID
	}
	if r.idAllot != "" {
		sid += "/" + r.idAllot // a second seat of the product, in an allotment
	}
	f.id = findingID(kind, uid, sid, groupID)
	if len(evs) > 0 {
		f.ev = p.evs.add(evs...)
	}
	k := kindIx(kind)
	if r.inCover {
		r.lastAdd.kind, r.lastAdd.at, r.lastAdd.ok = k, int32(p.byKind[k].n), true
	}
	p.byKind[k].add(f)
	if d := p.fixes.at(fix).MonthlyDelta; d != nil {
		if *d < 0 {
			r.savings[k] -= prices.ToUnits(*d)
		} else {
			r.extra += prices.ToUnits(*d)
		}
	}
}

// removeSeat reports seat i for removal (once) with a saving of its price.
func (r *run) removeSeat(kind string, i int, ev erec) {
	c := &r.cur
	st := &c.seats[i]
	if st.removed {
		return
	}
	st.removed, st.removedBy = true, uint8(kindIx(kind)+1)
	fix := r.fixFor(textKey{kind: kind, a: st.si.ix, b: ev.detail, s: string(rune('0' + st.via))}, func() Fix {
		part := st.si.name()
		var why string
		switch kind {
		case DisabledHoldingLicense:
			why = removal(part, "the disabled account", st.via) + " (or delete the account)."
		case GuestLicensed:
			why = removal(part, "the guest", st.via) + "; to keep guests out of group licensing, turn on excludeGuestsFromGroupLicensing."
		case NeverActivated:
			why = removal(part, "the user", st.via) + ": it was never used since it was granted."
		case Idle:
			why = removal(part, "the user", st.via) + ": " + r.part.texts[ev.detail] + "."
		default:
			why = removal(part, "the shared mailbox", st.via) + ": a shared mailbox up to 50 GB without an archive or litigation hold needs no license."
		}
		f := Fix{Description: why, Remove: st.si.list()}
		if st.si.priced {
			f.MonthlyDelta = money(-st.si.price)
		}
		return f
	})
	r.evBuf = append(r.evBuf[:0], ev)
	r.idAllot = st.allot
	r.add(kind, c.u, st.si, "", fix, r.evBuf)
	r.idAllot = ""
}

// removal says how to take a product away from someone, by where their
// seat comes from: a direct license is removed from them, an inherited one
// only by taking them out of the groups that give it.
func removal(part, who string, v via) string {
	switch v {
	case viaGroup:
		return "Remove " + who + " from the groups that give it " + part + ", which is inherited and cannot be removed from " + who + " itself"
	case viaDirect | viaGroup:
		return "Remove " + part + " from " + who + " and " + who + " from the groups that give it " + part
	}
	return "Remove " + part + " from " + who
}

// licenseErrors reports the user's sources from groups in Error.
func (r *run) licenseErrors(u *licensing.User, si *skuInfo, l *licensing.License) {
	for i := range l.Sources {
		s := &l.Sources[i]
		if s.State != licensing.StateError || s.AssignedByGroup == "" {
			continue
		}
		g := r.part.group(s.AssignedByGroup)
		key := textKey{kind: LicenseErrors, a: g, b: si.ix, s: s.Error.String()}
		detail, ok := r.textByKey[key]
		if !ok {
			name := s.AssignedByGroup
			if grp, ok := r.in.Engine.Group(s.AssignedByGroup); ok && grp.DisplayName != "" {
				name = grp.DisplayName
			}
			detail = r.part.text("group " + name + " (" + s.AssignedByGroup + "): " + errorWords(s.Error) + " for " + si.name())
			r.textByKey[key] = detail
		}
		// A user waiting in an allotment waits for the allotment's units:
		// with free units outside allotments, raising the allotment admits
		// them at no cost.
		free := 0
		if l.AllotmentID != "" && s.Error == licensing.ErrCountViolation {
			free = r.generalFree(si)
		}
		fix := r.fixFor(textKey{kind: "fix" + LicenseErrors, a: int32(min(free, 1)), b: si.ix, s: s.Error.String()}, func() Fix {
			name := si.name()
			f := Fix{}
			switch s.Error {
			case licensing.ErrCountViolation:
				if free > 0 {
					f.Description = "Raise the allotment's units of " + name + " by one (the tenant has free units outside allotments): waiting users are admitted automatically, oldest first."
					break
				}
				f.Description = "Buy one more unit of " + name + " (or free a seat): waiting users are admitted automatically, oldest first."
				f.Add, f.Units = si.list(), 1
				if si.priced {
					f.MonthlyDelta = money(si.price)
				}
			case licensing.ErrDependency:
				f.Description = "Assign the prerequisite service plan (see explain for " + name + ") to the group, or disable the dependent plan."
			case licensing.ErrMutuallyExclusive:
				f.Description = "Remove the conflicting license or disable one of the conflicting plans in the group's assignment of " + name + "."
			case licensing.ErrProhibitedInUsageLoc:
				f.Description = "Set a usage location where " + name + " may be used, or remove the user from the group."
			default:
				f.Description = "Reprocess the user's licenses; if the error stays, remove the user from the group."
			}
			return f
		})
		ev := mkErec(sourceIx(SourceLicense), -1, detail, 0)
		r.part.setLast(&ev, s.LastUpdated.Time().UnixNano())
		r.evBuf = append(r.evBuf[:0], ev)
		r.idAllot = l.AllotmentID
		r.add(LicenseErrors, u, si, s.AssignedByGroup, fix, r.evBuf)
		r.idAllot = ""
	}
}

// needsAndCover compares what the user needs with what they hold: missing
// requirements are reported under kind (underLicensed, serviceAccount,
// sharedMailbox); otherwise a cheaper cover is an overAssigned finding.
func (r *run) needsAndCover(kind string) {
	m, c := r.m, &r.cur
	c.analysed = true
	if len(c.needs) == 0 {
		return
	}
	r.inCover = true
	defer func() { r.inCover = false }()
	var full *mix
	var ent *memoEntry
	held := r.heldBuf[:0]
	var heldCost int64
	if m.hasList {
		reqs := r.reqBuf[:0]
		for _, n := range c.needs {
			rq := m.reqs[n.req]
			if rq.plans.intersects(c.kept) {
				continue
			}
			if len(m.candsOfReq(rq)) == 0 {
				if !r.coverOnly {
					r.unpriced[n.req]++
				}
				continue
			}
			reqs = append(reqs, n.req)
		}
		r.reqBuf = reqs
		for i := range c.seats {
			st := &c.seats[i]
			if !st.kept && !st.removed {
				heldCost += st.si.price
				held = append(held, st.si.ix)
			}
		}
		slices.Sort(held)
		held = slices.Compact(held)
		r.heldBuf = held
		ent = m.coverEntry(reqs, held)
		full = &ent.x
	}
	// A requirement a product the user waits for meets is not missing:
	// the wait is its finding (licenseErrors, with the unit to buy), so
	// its cost is counted once.
	missing := r.missBuf[:0]
	for _, n := range c.needs {
		if !m.reqs[n.req].plans.intersects(c.all) && !r.waitedFor(m.reqs[n.req]) {
			missing = append(missing, n)
		}
	}
	r.missBuf = missing
	r.lastAdd.ok = false
	switch {
	case len(missing) > 0:
		r.fixMissing(kind, missing, full, held, heldCost)
	case full != nil && full.cost < heldCost:
		out := r.overFix(ent, held, heldCost)
		r.add(OverAssigned, c.u, out.main, "", out.fix, r.needEvidence(c.needs))
	case !m.hasList:
		r.unneededSeats()
	}
	if full != nil && len(m.limits) > 0 && !r.coverOnly {
		r.capCandidate(ent, held)
		if c.capCand {
			cd := &r.caps[len(r.caps)-1]
			cd.found, cd.kind, cd.at = r.lastAdd.ok, r.lastAdd.kind, r.lastAdd.at
		}
	}
}

// generalFree returns the product's enabled units outside allotments that
// no one holds (Accounts.Free).
func (r *run) generalFree(si *skuInfo) int {
	if r.free == nil {
		consumed := map[string]int{}
		for _, a := range r.in.Engine.Allotments() {
			consumed[a.SKUID] += a.ConsumedUnits
		}
		r.free = map[int32]int{}
		for _, p := range r.pools {
			r.free[r.m.sku(p.SKU).ix] = AccountsOf(p, consumed[p.SKU.ID]).Free
		}
	}
	return r.free[si.ix]
}

// waitedFor reports whether a product the user waits for meets rq.
func (r *run) waitedFor(rq *requirement) bool {
	for _, w := range r.cur.waits {
		if r.m.meets(rq, w.si.ix) {
			return true
		}
	}
	return false
}

// overFix returns the fix of a user holding more than the cheapest cover
// ent.x: cachedFix's, remembered by the cover's memo entry for the last
// few held products and costs met (the entry fixes the cover, so that
// cachedFix's key is then fixed by the held products and their cost).
func (r *run) overFix(ent *memoEntry, held []int32, heldCost int64) fixOut {
	if within(held, ent.x.skus) {
		// Every product held is in the cover, yet they cost more: the user
		// holds one twice (general pool and an allotment), and the fix
		// names the user's doubled products. Another user with the same
		// products and cost may have doubled another of equal price, so
		// this fix is not remembered.
		out, _ := r.overFixOf(&ent.x, held, heldCost)
		return out
	}
	for i := range ent.fixes[:ent.nfix] {
		if f := &ent.fixes[i]; f.is(held, heldCost) {
			return f.out
		}
	}
	m, full := r.m, &ent.x
	build := func() fixOut {
		// cachedFix's key names products only: the same in every worker,
		// as is the fix.
		key := r.fixKey('O', nil, full, held, heldCost)
		if f, ok := m.shared.fix(key); ok {
			return fixOut{r.fix(f.fix), m.skus[f.main]}
		}
		out, f := r.overFixOf(full, held, heldCost)
		m.shared.putFix(key, sharedFix{f, out.main.ix})
		return out
	}
	var out fixOut
	if k, ok := overKeyOf(full.skus, held, heldCost); ok {
		// cachedFix by a key of fixed size (the same fixes).
		var found bool
		if out, found = r.overFixes[k]; !found {
			out = build()
			r.overFixes[k] = out
		}
	} else {
		out = r.cachedFix('O', nil, full, held, heldCost, build)
	}
	if int(ent.nfix) < len(ent.fixes) && len(held) <= len(ent.fixes[0].held) {
		f := &ent.fixes[ent.nfix]
		f.nheld, f.cost, f.out = uint8(copy(f.held[:], held)), heldCost, out
		ent.nfix++
	}
	return out
}

// overFixOf builds the fix of a user holding held (cost heldCost) whose
// cheapest cover is full: remove what the cover does not need, or replace
// it; when the cover needs everything held, remove the products the user
// holds twice.
func (r *run) overFixOf(full *mix, held []int32, heldCost int64) (fixOut, Fix) {
	m := r.m
	add, remove := diff(full.skus, held)
	if len(remove) == 0 {
		remove = r.doubled()
	}
	sortByPrice(m, remove)
	desc := "Remove " + m.parts(remove)
	if len(add) > 0 {
		desc = "Replace " + m.parts(remove) + " with " + m.parts(add)
	}
	desc += ": " + m.parts(full.skus) + " covers what the user used in the last " + itoa(r.window) + " days."
	f := Fix{Description: desc, MonthlyDelta: money(full.cost - heldCost), Add: m.partList(add), Remove: m.partList(remove)}
	return fixOut{r.fix(f), m.skus[remove[0]]}, f
}

// within reports whether every product of xs is in set (both small).
func within(xs, set []int32) bool {
	for _, x := range xs {
		if !slices.Contains(set, x) {
			return false
		}
	}
	return true
}

// fixOut is a fix (index) and the product its finding names.
type fixOut struct {
	fix  int32
	main *skuInfo
}

// cachedFix returns the fix of users with the same missing requirements,
// cheapest cover, held priced products and their cost, building it once.
// Fixes are shared between findings and never changed.
func (r *run) cachedFix(tag byte, missing []need, full *mix, held []int32, heldCost int64, build func() fixOut) fixOut {
	k := r.fixKey(tag, missing, full, held, heldCost)
	if out, ok := r.fixes[string(k)]; ok {
		return out
	}
	out := build()
	r.fixes[string(k)] = out
	return out
}

// fixKey returns (in r.kbuf) cachedFix's key.
func (r *run) fixKey(tag byte, missing []need, full *mix, held []int32, heldCost int64) []byte {
	ids := r.idBuf[:0]
	for _, n := range missing {
		ids = append(ids, n.req)
	}
	slices.Sort(ids)
	k := append(r.kbuf[:0], tag)
	for _, q := range ids {
		k = binary.LittleEndian.AppendUint32(k, uint32(q))
	}
	k = append(k, 0xff, 0xff, 0xff, 0xff)
	if full != nil {
		// By content: many requirement sets have the same cheapest mix.
		for _, x := range full.skus {
			k = binary.LittleEndian.AppendUint32(k, uint32(x))
		}
		k = append(k, 0xff, 0xff, 0xff, 0xff)
	}
	for _, h := range held {
		k = binary.LittleEndian.AppendUint32(k, uint32(h))
	}
	k = binary.LittleEndian.AppendUint64(k, uint64(heldCost))
	r.kbuf, r.idBuf = k, ids
	return k
}

// overKey is cachedFix's key of an overAssigned fix held in the table
// itself, when the cover and the held products are few (0xffff: none).
type overKey struct {
	full, held [6]uint16
	cost       int64
}

// overKeyOf returns the overKey of a cover, held products and their cost;
// false when they do not fit.
func overKeyOf(full []int32, held []int32, cost int64) (k overKey, ok bool) {
	if len(full) > len(k.full) || len(held) > len(k.held) {
		return k, false
	}
	for i := range k.full {
		k.full[i], k.held[i] = 0xffff, 0xffff
	}
	for i, s := range full {
		if s >= 0xffff {
			return k, false
		}
		k.full[i] = uint16(s)
	}
	for i, s := range held {
		if s >= 0xffff {
			return k, false
		}
		k.held[i] = uint16(s)
	}
	k.cost = cost
	return k, true
}

// fixMissing reports requirements the user's plans do not meet, with the
// cheaper of adding products and replacing the priced ones held.
func (r *run) fixMissing(kind string, missing []need, full *mix, held []int32, heldCost int64) {
	m, c := r.m, &r.cur
	if !r.coverOnly {
		for _, n := range missing {
			r.underBy[n.req]++
		}
	}
	out := r.cachedFix('U', missing, full, held, heldCost, func() fixOut {
		var addable []int32
		var unpriced []string
		for _, n := range missing {
			if len(m.candsOfReq(m.reqs[n.req])) > 0 {
				addable = append(addable, n.req)
			} else {
				unpriced = append(unpriced, m.reqs[n.req].label)
			}
		}
		what := labels(m, missing)
		var out fixOut
		fix := &Fix{}
		switch {
		case !m.hasList:
			owned := r.ownedWith(missing)
			fix.Description = "Needs a plan for " + what + " (" + strings.Join(m.reqs[firstNeed(m, missing).req].planNames, " or ") + ")"
			if len(owned) > 0 {
				fix.Description += "; products the tenant owns that include it: " + strings.Join(owned, ", ")
			}
			fix.Description += ". Add a price list to get the cheapest fix."
		case len(addable) == 0:
			fix.Description = "Needs a plan for " + what + "; no priced product offers it: add its product to the price list."
		default:
			addOn := m.cover(addable, nil)
			if replace := full.cost - heldCost; replace < addOn.cost {
				add, remove := diff(full.skus, held)
				fix.Description = "Replace " + m.parts(remove) + " with " + m.parts(add) + " to cover " + what + "."
				if len(remove) == 0 {
					fix.Description = "Assign " + m.parts(add) + " to cover " + what + "."
				}
				fix.Add, fix.Remove, fix.MonthlyDelta = m.partList(add), m.partList(remove), money(replace)
				if len(add) > 0 {
					out.main = m.skus[add[0]]
				}
			} else {
				fix.Description = "Assign " + m.parts(addOn.skus) + " to cover " + what + "."
				fix.Add, fix.MonthlyDelta = m.partList(addOn.skus), money(addOn.cost)
				out.main = m.skus[addOn.skus[0]]
			}
			if len(unpriced) > 0 {
				slices.Sort(unpriced)
				fix.Description += " No priced product offers " + strings.Join(unpriced, ", ") + "."
			}
		}
		out.fix = r.fix(*fix)
		return out
	})
	r.add(kind, c.u, out.main, "", out.fix, r.needEvidence(missing))
}

// unneededSeats (without a price list) reports the seats whose plans the
// user's requirements do not need, largest product first.
func (r *run) unneededSeats() {
	c := &r.cur
	idx := make([]int, 0, len(c.seats))
	for i := range c.seats {
		if !c.seats[i].removed && c.seats[i].si.measurable {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return len(c.seats[idx[a]].si.sku.Plans) > len(c.seats[idx[b]].si.sku.Plans)
	})
	for _, i := range idx {
		st := &c.seats[i]
		st.removed = true
		if !r.allMet() {
			st.removed = false
			continue
		}
		fix := r.fixFor(textKey{kind: OverAssigned, a: st.si.ix, s: string(rune('0' + st.via))}, func() Fix {
			return Fix{Remove: st.si.list(), Description: removal(st.si.name(), "the user", st.via) + ": what the user used in the last " + itoa(r.window) + " days is covered by their other licenses."}
		})
		r.idAllot = st.allot
		r.add(OverAssigned, c.u, st.si, "", fix, r.needEvidence(c.needs))
		r.idAllot = ""
	}
	// The seats stay counted as what they are (used or not): the finding
	// says which to give up, not that they are unneeded by usage.
	for _, i := range idx {
		c.seats[i].removed = false
	}
}

// allMet reports whether the seats not removed meet every requirement.
func (r *run) allMet() bool {
	c := &r.cur
	for _, n := range c.needs {
		plans := r.m.reqs[n.req].plans
		met := false
		for i := range c.seats {
			if !c.seats[i].removed && c.seats[i].enabled.intersects(plans) {
				met = true
				break
			}
		}
		if !met {
			return false
		}
	}
	return true
}

// doubled returns the products the user holds more than one seat of.
func (r *run) doubled() []int32 {
	var out []int32
	c := &r.cur
	for i := range c.seats {
		for j := 0; j < i; j++ {
			s := c.seats[i].si.ix
			if c.seats[j].si.ix == s && !c.seats[i].kept && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// needEvidence returns the evidence of requirements (in a scratch buffer
// that add copies).
func (r *run) needEvidence(ns []need) []erec {
	r.evBuf = r.evBuf[:0]
	for _, n := range ns {
		r.evBuf = append(r.evBuf, n.ev)
	}
	return r.evBuf
}

// ownedWith lists the products the tenant owns that meet the first
// missing requirement.
func (r *run) ownedWith(missing []need) []string {
	plans := r.m.reqs[firstNeed(r.m, missing).req].plans
	var out []string
	for _, p := range r.pools {
		if si := r.m.skuByID(p.SKU.ID); si != nil && si.plans.intersects(plans) && len(out) < 5 {
			out = append(out, si.name())
		}
	}
	return out
}

// firstNeed is the requirement a description names first: the same for
// every user with the same requirements whatever their order (the fix is
// shared by them) and in every worker (whose requirement numbers differ):
// the least by label, then by plan names.
func firstNeed(m *model, ns []need) need {
	best := ns[0]
	for _, n := range ns[1:] {
		a, b := m.reqs[n.req], m.reqs[best.req]
		if c := strings.Compare(a.label, b.label); c < 0 || c == 0 && slices.Compare(a.planNames, b.planNames) < 0 {
			best = n
		}
	}
	return best
}

// labels names requirements, sorted (descriptions are shared by users
// whose requirements came in another order).
func labels(m *model, ns []need) string {
	var out []string
	for _, n := range ns {
		l := m.reqs[n.req].label
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// diff returns the products of want not held and of held not wanted.
func diff(want, held []int32) (add, remove []int32) {
	for _, s := range want {
		if !slices.Contains(held, s) {
			add = append(add, s)
		}
	}
	for _, s := range held {
		if !slices.Contains(want, s) {
			remove = append(remove, s)
		}
	}
	return add, remove
}

func sortByPrice(m *model, ss []int32) {
	sort.SliceStable(ss, func(i, j int) bool { return m.skus[ss[i]].price > m.skus[ss[j]].price })
}

func (m *model) partList(ss []int32) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = m.skus[s].sku.PartNumber
	}
	return out
}

// parts names products for a text: display names and part numbers.
func (m *model) parts(ss []int32) string {
	if len(ss) == 0 {
		return "nothing"
	}
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = m.skus[s].name()
	}
	return strings.Join(names, " + ")
}

// errorWords says a license error in words, with its code.
func errorWords(code licensing.SourceErrorCode) string {
	switch code {
	case licensing.ErrCountViolation:
		return "no free seat (CountViolation)"
	case licensing.ErrDependency:
		return "a prerequisite service plan is missing (DependencyViolation)"
	case licensing.ErrMutuallyExclusive:
		return "conflicts with another service plan of the user (MutuallyExclusiveViolation)"
	case licensing.ErrProhibitedInUsageLoc:
		return "not available in the user's usage location (ProhibitedInUsageLocationViolation)"
	}
	return code.String()
}

// name is how a text names the product: its display name and part number.
func (si *skuInfo) name() string {
	if si.named == "" {
		si.named = si.sku.PartNumber
		if si.sku.DisplayName != "" && si.sku.DisplayName != si.sku.PartNumber {
			si.named = si.sku.DisplayName + " (" + si.sku.PartNumber + ")"
		}
	}
	return si.named
}

// list returns the product's part number as a one-element list (shared).
func (si *skuInfo) list() []string {
	if si.partList == nil {
		si.partList = []string{si.sku.PartNumber}
	}
	return si.partList
}
