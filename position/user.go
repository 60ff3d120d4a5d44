package position

import (
	"time"

	"allot/licensing"
	"allot/usage"
)

// seat is a seat the user holds.
type seat struct {
	si      *skuInfo
	enabled planSet   // the plans its active sources enable (may be shared: read only)
	full    bool      // enabled is the product's plans (si.plans)
	since   time.Time // the grant date (License.GrantDate)
	held    time.Time // HeldSince: identifies the grant in usage's activations
	kept    bool      // unpriced or unmeasurable: outside the cover (with a price list)
	removed bool      // a finding removes it
	// removedBy is the kind (index in Kinds, +1) of the finding that
	// removes it; 0 none. An overAssigned finding without a price list
	// only sets removed while it decides (unneededSeats).
	removedBy uint8
	leave     bool   // idle but kept: its user is on leave (the tenant's leave attribute)
	use       bool   // one of its enabled plans meets a requirement of the user
	via       via    // how the user holds it: directly, from groups, or both
	allot     string // the allotment it is a unit of; "" the general pool
}

// via says where a seat comes from, which decides how it can be removed:
// a license inherited from a group cannot be removed from the user (Graph
// answers 400 "User license is inherited from a group membership and it
// cannot be removed directly from the user."); the user leaves the group.
type via uint8

const (
	viaDirect via = 1 << iota
	viaGroup
)

func viaOf(ss []licensing.SourceState) via {
	var v via
	for i := range ss {
		if ss[i].AssignedByGroup == "" {
			v |= viaDirect
		} else {
			v |= viaGroup
		}
	}
	return v
}

// need is one requirement of the user with what shows it.
type need struct {
	req int32
	ev  erec
}

// userCtx is the analysis of one user; its slices are reused.
type userCtx struct {
	u       *licensing.User
	uu      usage.UserUsage
	hasU    bool
	seats   []seat
	needs   []need
	all     planSet // every enabled plan
	kept    planSet // enabled plans of kept seats
	scratch []planSet
	nscr    int
	active  bool // any activity in the window
	active2 bool // any activity in IdleLongDays
	last    time.Time
	// waits are the products the user claims without a seat (waiting
	// rooms), with the allotment ("" the general pool).
	waits []waitRec
	// analysed: the user's requirements were compared with their seats
	// (needsAndCover), so unmet ones count as required.
	analysed bool
	room     bool
	capCand  bool // a candidate of the seat limits (caps.go)
}

type waitRec struct {
	si        *skuInfo
	allotment string
}

func (c *userCtx) set(m *model) planSet {
	if c.nscr == len(c.scratch) {
		c.scratch = append(c.scratch, m.newSet())
	}
	s := c.scratch[c.nscr]
	s.clear()
	c.nscr++
	return s
}

// user analyses one user (ls: the user's license records, read only
// during the call): seats, requirements, findings and counts.
func (r *run) user(u *licensing.User, ls licensing.UserLicenses) {
	m, c := r.m, &r.cur
	c.u, c.seats, c.needs, c.nscr, c.waits, c.analysed, c.capCand = u, c.seats[:0], c.needs[:0], 0, c.waits[:0], false, false
	c.all, c.kept = c.set(m), c.set(m)
	r.seq++
	r.seatsOf(u, ls)
	if len(c.seats) > 0 && !r.coverOnly {
		r.licensed++
	}
	c.hasU = false
	if r.usageKnown {
		c.hasU = r.readUsage(u.ID, &c.uu)
	}
	if !c.hasU {
		c.uu = usage.UserUsage{}
	}
	r.activity()
	if c.active && !r.coverOnly {
		r.active++
	}
	shared := u.Kind == licensing.KindSharedMailbox || c.uu.Mailbox.RecipientType == "SharedMailbox"
	room := u.Kind == licensing.KindRoom || c.uu.Mailbox.RecipientType == "RoomMailbox" || c.uu.Mailbox.RecipientType == "EquipmentMailbox"
	c.room = room
	if c.active && !shared && !room {
		r.requirements(false)
	}
	r.findings(u, shared, room)
	if !r.coverOnly {
		r.count()
	}
}

// seatsOf collects the user's seats in the scope (the waiting claims
// apart), their enabled plans, and the license errors.
func (r *run) seatsOf(u *licensing.User, ls licensing.UserLicenses) {
	m, c := r.m, &r.cur
	for i := 0; i < ls.Len(); i++ {
		l := ls.At(i)
		if !r.in.Scope.license(l.AllotmentID) {
			continue // outside a delegated owner's view
		}
		si := r.skuOf(l.SKUID)
		if si == nil {
			continue
		}
		if !r.coverOnly {
			r.licenseErrors(u, si, &l)
		}
		if !l.Held {
			if l.Claimed {
				c.waits = append(c.waits, waitRec{si, l.AllotmentID})
			}
			continue
		}
		st := seat{si: si, since: l.GrantDate(), held: l.HeldSince.Time(), via: viaOf(l.Sources), allot: l.AllotmentID}
		st.enabled, st.full = r.enabled(si, l.Sources)
		st.kept = m.hasList && (!si.priced || !si.measurable)
		if usage.DayOf(st.since) > r.asOf-usage.Day(RunOutDays) && !r.coverOnly {
			r.grow(si.ix)
			r.recent[si.ix]++
		}
		c.all.or(st.enabled)
		if st.kept {
			c.kept.or(st.enabled)
		}
		c.seats = append(c.seats, st)
	}
}

// findings decides the user's findings from the kind of account: a room's
// none, a disabled account's or a guest's seats, a shared mailbox's, and
// for everyone else inactivity and what the usage needs.
func (r *run) findings(u *licensing.User, shared, room bool) {
	c := &r.cur
	switch {
	case room:
		// Room and equipment accounts hold Teams Rooms licenses that no
		// usage shows: only their license errors are reported.
	case !u.AccountEnabled && !shared:
		for i := range c.seats {
			r.removeSeat(DisabledHoldingLicense, i, r.ev(SourceLicense, "", "the account is disabled (accountEnabled false) and still holds a seat", time.Time{}, 0))
		}
	case u.IsGuest():
		for i := range c.seats {
			r.removeSeat(GuestLicensed, i, r.ev(SourceLicense, "", "a guest (userType Guest) holds a seat; guests are licensed in their home tenant", time.Time{}, 0))
		}
	case shared:
		r.sharedMailbox()
	case !r.usageKnown:
	default:
		r.inactivity()
		if c.active {
			kind := UnderLicensed
			if u.Kind == licensing.KindServiceAccount {
				kind = ServiceAccount
			}
			r.needsAndCover(kind)
		}
	}
}

// enabled returns the plans of a seat's active sources: the product's plans
// less each source's disabled plans, united over its active sources; full
// when they are the product's plans (si.plans itself).
func (r *run) enabled(si *skuInfo, srcs []licensing.SourceState) (plans planSet, full bool) {
	var out planSet
	for i := range srcs {
		s := &srcs[i]
		if s.State != licensing.StateActive && s.State != licensing.StateActiveWithError {
			continue
		}
		if len(s.DisabledPlans) == 0 {
			return si.plans, true
		}
		if out == nil {
			out = r.cur.set(r.m)
		}
		part := r.cur.set(r.m)
		copy(part, si.plans)
		for _, p := range s.DisabledPlans {
			if i, ok := r.m.planIx[p]; ok {
				part[i/64] &^= 1 << uint(i%64)
			}
		}
		out.or(part)
	}
	if out == nil {
		return r.empty, false
	}
	return out, false
}

// activity derives whether the user was active in the window and in the
// long idle window, and when last.
func (r *run) activity() {
	c := &r.cur
	c.active, c.active2, c.last = false, false, time.Time{}
	if !c.hasU {
		return
	}
	see := func(d usage.DaySet, last time.Time) {
		if d.Count(r.asOf, r.window) > 0 {
			c.active = true
		}
		if d.Count(r.asOf, IdleLongDays) > 0 {
			c.active2 = true
		}
		if last.After(c.last) {
			c.last = last
		}
	}
	see(c.uu.SignIns.Days, c.uu.SignIns.Last)
	for i := range c.uu.Features {
		see(c.uu.Features[i].Days, c.uu.Features[i].Last)
	}
}

// requirements collects the user's requirements: features used in the
// window (not for shared mailboxes, whose delegates' activity shows there)
// and mailbox facts.
func (r *run) requirements(shared bool) {
	m, c := r.m, &r.cur
	if !shared {
		for i := range c.uu.Features {
			f := &c.uu.Features[i]
			days := f.Days.Count(r.asOf, r.window)
			if days == 0 {
				continue
			}
			ft := r.featureOf(f)
			if ft.req < 0 {
				continue
			}
			e := mkErec(sourceIx(r.source(f, ft)), ft.name, -1, days)
			e.setSeen(f.Evidence)
			if !f.Last.IsZero() {
				r.part.setLast(&e, f.Last.UnixNano())
			}
			r.addNeed(ft.req, e)
		}
	}
	mb := c.uu.Mailbox
	if mb.Known && mb.ReportDate <= r.asOf {
		if mb.StorageUsedBytes > LargeMailboxBytes {
			r.addNeed(m.reqLarge, r.ev(SourceMailbox, "exchangeLargeMailbox",
				"mailbox uses "+gib(mb.StorageUsedBytes)+" (over 50 GB) on "+mb.ReportDate.String(), time.Time{}, 0))
		}
		if mb.HasArchive {
			r.addNeed(m.reqArchive, r.ev(SourceMailbox, "exchangeArchive", "mailbox has an archive on "+mb.ReportDate.String(), time.Time{}, 0))
		}
	}
	if mb.HoldKnown && mb.LitigationHold && mb.HoldDate <= r.asOf {
		r.addNeed(m.reqHold, r.ev(SourceMailbox, "litigationHold", "mailbox on litigation hold on "+mb.HoldDate.String(), time.Time{}, 0))
	}
}

// addNeed adds a requirement and its prerequisites (once each).
func (r *run) addNeed(q int32, ev erec) {
	for q >= 0 {
		for _, n := range r.cur.needs {
			if n.req == q {
				return
			}
		}
		rq := r.m.reqs[q]
		ev.setReq(q)
		r.cur.needs = append(r.cur.needs, need{q, ev})
		if rq.prereq >= 0 {
			if rq.preText < 0 {
				rq.preText = r.part.text("prerequisite of " + rq.label)
			}
			ev.detail = rq.preText
		}
		q = rq.prereq
	}
}

// ev makes evidence, interning its strings.
func (r *run) ev(source, feature, detail string, last time.Time, days int) erec {
	e := mkErec(sourceIx(source), r.part.name(feature), r.part.text(detail), days)
	if !last.IsZero() {
		r.part.setLast(&e, last.UnixNano())
	}
	return e
}

// inactivity reports the seats of a user inactive in the window (idle) or
// never used since granted (neverActivated). Seats in their first
// WindowDays days are left alone. A user on leave (the tenant's leave
// attribute) is idle but keeps the seat: the finding says why, removes
// nothing, and the seat counts as required.
func (r *run) inactivity() {
	c := &r.cur
	leave := ""
	if r.leave != nil {
		if v := r.leave(c.u); licensing.OnLeave(v) {
			leave = v
		}
	}
	for i := range c.seats {
		st := &c.seats[i]
		if usage.DayOf(st.since) > r.asOf-usage.Day(r.window) {
			continue
		}
		if leave != "" {
			if c.active && r.activated(st) {
				continue
			}
			r.keepOnLeave(i, leave)
			continue
		}
		if !r.activated(st) {
			e := mkErec(sourceIx(SourceLicense), -1, r.grantedText(st.since), 0)
			r.part.setLast(&e, st.since.UnixNano()) // the grant: the start of the evidence's range
			r.removeSeat(NeverActivated, i, e)
			continue
		}
		if c.active {
			continue
		}
		detail := r.idleText[0]
		if !c.active2 {
			detail = r.idleText[1]
		}
		r.removeSeat(Idle, i, r.ev(SourceSignIn, "", detail, c.last, 0))
	}
}

// activated reports whether the seat was used after it was granted: an
// activation recorded by usage for this grant, or any activity since.
func (r *run) activated(st *seat) bool {
	c := &r.cur
	if !c.hasU {
		return false
	}
	held := st.held.Truncate(time.Second)
	for _, a := range c.uu.Activations {
		if a.SKUID == st.si.sku.ID && a.Granted.Equal(held) {
			return true
		}
	}
	return !c.last.IsZero() && usage.DayOf(c.last) >= usage.DayOf(st.since)
}

// Seat categories: what each assigned seat is, one category a seat
// (SeatUse's fields).
const (
	catUsed = iota
	catKept
	catNew
	catIdle
	catNever
	catDisabled
	catGuest
	catShared
	catUnused
	nCats
)

// catOfKind is the category of a seat a finding of kind (index in Kinds)
// removes.
func catOfKind(k int) int {
	switch Kinds[k] {
	case Idle:
		return catIdle
	case NeverActivated:
		return catNever
	case DisabledHoldingLicense:
		return catDisabled
	case GuestLicensed:
		return catGuest
	case SharedMailbox:
		return catShared
	}
	return catUnused
}

// count puts each of the user's seats in one category and adds the user to
// the per-product used and required counts. Required depends on usage and
// rules only, never on prices: a seat is required when it is used (one of
// its enabled plans meets a requirement of the user), kept by rule (a room's,
// a product no usage can show in use held by an active user, every seat
// without usage data) or new (its first WindowDays days), unless a finding
// removes it; one seat per user and product at most (a second seat of a
// product is unused). A requirement no seat meets counts for the product
// the user waits for that meets it, else for the product with the fewest
// plans among those the tenant has units of that meets it (unheldFor).
func (r *run) count() {
	c := &r.cur
	for i := range c.seats {
		c.seats[i].use = false
	}
	for _, n := range c.needs {
		rq := r.m.reqs[n.req]
		if !r.markMeetingSeats(rq) && c.analysed {
			r.countUnmet(rq)
		}
	}
	for i := range c.seats {
		st := &c.seats[i]
		r.grow(st.si.ix)
		r.countSeat(st, r.seatCategory(st))
	}
}

// markMeetingSeats marks the seats that meet rq as in use (unless a finding
// removes them) and reports whether any seat meets it.
func (r *run) markMeetingSeats(rq *requirement) bool {
	met := false
	for i := range r.cur.seats {
		st := &r.cur.seats[i]
		if st.full && !r.m.meets(rq, st.si.ix) || !st.full && !st.enabled.intersects(rq.plans) {
			continue
		}
		met = true
		st.use = st.use || st.removedBy == 0
	}
	return met
}

// countUnmet counts a requirement no seat meets, once per user and
// product: for the first product the user waits for that meets it, else
// for unheldFor's product.
func (r *run) countUnmet(rq *requirement) {
	for _, w := range r.cur.waits {
		if r.m.meets(rq, w.si.ix) {
			r.grow(w.si.ix)
			if r.waitAt[w.si.ix] != r.seq {
				r.waitAt[w.si.ix] = r.seq
				r.reqWaiting[w.si.ix]++
			}
			return
		}
	}
	if s := r.unheldFor(rq); s >= 0 {
		r.grow(s)
		if r.unheldAt[s] != r.seq {
			r.unheldAt[s] = r.seq
			r.reqUnheld[s]++
		}
	}
}

// seatCategory is a seat's category (see count), in this order: removed by
// a finding, a second seat of its product (unused), its user on leave
// (kept), in use, kept (a waiting room, no usage data, or a product no
// usage can show held by an active user), new, else unused.
func (r *run) seatCategory(st *seat) int {
	c := &r.cur
	switch {
	case st.removedBy != 0:
		return catOfKind(int(st.removedBy) - 1)
	case r.reqAt[st.si.ix] == r.seq:
		return catUnused // a second seat of the product
	case st.leave:
		return catKept // idle, kept by rule: its user is on leave
	case st.use:
		return catUsed
	case c.room || !r.usageKnown || !st.si.measurable && c.active:
		return catKept
	case usage.DayOf(st.since) > r.asOf-usage.Day(r.window):
		return catNew
	}
	return catUnused
}

// countSeat adds a seat of category cat to its product's counts: the
// category, the capped products' holders (and the gate's), and used and
// required seats (one required seat per user and product).
func (r *run) countSeat(st *seat, cat int) {
	s := st.si.ix
	r.cats[s][cat]++
	if l := st.si.capped; l >= 0 && st.removedBy == 0 && !r.cur.capCand {
		r.capHeld[l]++
		if r.gate != nil {
			r.gate.held[l].Add(1)
		}
	}
	switch cat {
	case catUsed:
		r.used[s]++
		fallthrough
	case catKept, catNew:
		r.reqAt[s] = r.seq
		r.required[s]++
	}
}

// unheldFor returns the product a requirement no seat meets counts for:
// among the products the tenant has units of that meet it, the one with
// the fewest plans (then by part number); -1 when none.
func (r *run) unheldFor(rq *requirement) int32 {
	if rq.unheld != -2 {
		return rq.unheld
	}
	rq.unheld = -1
	var best *skuInfo
	for _, p := range r.pools {
		si := r.m.sku(p.SKU)
		if p.Units.Total() == 0 || !r.m.meets(rq, si.ix) {
			continue
		}
		if best == nil || len(si.sku.Plans) < len(best.sku.Plans) || len(si.sku.Plans) == len(best.sku.Plans) && si.sku.PartNumber < best.sku.PartNumber {
			best = si
		}
	}
	if best != nil {
		rq.unheld = best.ix
	}
	return rq.unheld
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func gib(n int64) string {
	return itoa(int(n>>30)) + " GB"
}

// usageInto is implemented by usage sources that can read a user's
// aggregates into the caller's value without allocating: dst's slices
// belong to the caller, and UserInto overwrites them, reusing their
// capacity.
type usageInto interface {
	UserInto(userID string, dst *usage.UserUsage) bool
}

// usageViews is usage.Aggregates' non-copying read (usage/walk.go).
type usageViews interface {
	View(userID string) (usage.UserView, bool)
}

// readUsage reads a user's aggregates into dst (whose slices are the
// run's: reused from user to user); false if there are none. It prefers
// the non-allocating reads to Usage.User, which returns fresh copies.
func (r *run) readUsage(userID string, dst *usage.UserUsage) bool {
	switch src := r.in.Usage.(type) {
	case usageViews:
		v, ok := src.View(userID)
		if !ok {
			return false
		}
		r.feats, r.acts = r.feats[:0], r.acts[:0]
		v.ForEachFeatureUse(r.addFeature)
		v.ForEachActivation(r.addActivation)
		*dst = usage.UserUsage{UserID: v.UserID(), SignIns: v.SignIns(), Features: r.feats, Mailbox: v.Mailbox(), Activations: r.acts}
		return true
	case usageInto:
		dst.Features, dst.Activations = r.feats[:0], r.acts[:0]
		ok := src.UserInto(userID, dst)
		r.feats, r.acts = dst.Features, dst.Activations
		return ok
	}
	uu, ok := r.in.Usage.User(userID)
	if ok {
		*dst = uu
	}
	return ok
}

func (r *run) addFeature(f usage.FeatureUse) bool {
	r.feats = append(r.feats, f)
	return true
}

func (r *run) addActivation(a usage.Activation) bool {
	r.acts = append(r.acts, a)
	return true
}

// skuOf returns the product of a license record's skuId, through a small
// cache in front of the model's map (the engine's records share their
// skuId strings, so the comparison is mostly a pointer check).
func (r *run) skuOf(id string) *skuInfo {
	if len(id) == 0 {
		return r.m.skuByID(id)
	}
	slot := &r.skuCache[(uint(id[0])*31+uint(id[len(id)-1])*7+uint(len(id)))%uint(len(r.skuCache))]
	if slot.si != nil && slot.id == id {
		return slot.si
	}
	si := r.m.skuByID(id)
	if si != nil {
		slot.id, slot.si = id, si
	}
	return si
}

// source names where a feature's use was seen: a usage report when any
// report showed it, else feature events, as the aggregates record it
// (usage.Evidence). Aggregates stored before the evidence was kept say
// nothing: then the features that usage reports feed are credited to a
// report when the tenant imported any, the rest to events.
func (r *run) source(f *usage.FeatureUse, ft *featInfo) string {
	switch {
	case f.Evidence.Report():
		return SourceReport
	case f.Evidence.Event():
		return SourceEvent
	case f.Workload != "" && ft.reportFed && r.m.reportsSeen:
		return SourceReport
	}
	return SourceEvent
}

// featInfo is what a feature name resolves to: its requirement (-1: none),
// its index in the part's names, and whether usage reports feed it.
type featInfo struct {
	id        string
	req       int32
	name      int32
	reportFed bool
	ok        bool
}

// featureOf resolves a feature used, through a small cache in front of the
// model's and the part's maps (usage shares its feature-name strings, so
// the comparison is mostly a pointer check). A feature's requirement
// depends on its name only (model.featureReq).
func (r *run) featureOf(f *usage.FeatureUse) *featInfo {
	id := f.Feature
	h := uint(len(id))
	if len(id) > 0 {
		h += uint(id[0])*31 + uint(id[len(id)-1])*7 + uint(id[len(id)/2])*131
	}
	slot := &r.featCache[h%uint(len(r.featCache))]
	if slot.ok && slot.id == id {
		return slot
	}
	*slot = featInfo{id: id, req: r.m.featureReq(id, f.Plans), name: r.part.name(id), reportFed: r.m.reportFed[id], ok: true}
	return slot
}

// grantedText returns the evidence text of a seat never activated, one per
// day of grant.
func (r *run) grantedText(since time.Time) int32 {
	d := usage.DayOf(since)
	if i, ok := r.granted[d]; ok {
		return i
	}
	i := r.part.text("granted " + since.UTC().Format(time.DateOnly) + "; no sign-in or feature use since")
	r.granted[d] = i
	return i
}
