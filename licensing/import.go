package licensing

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"allot"
	"allot/audit"
	"allot/internal/memtune"
)

// ImportData is a tenant's directory and licenses in bulk (a bundle or a
// Graph export), already validated by the caller.
type ImportData struct {
	Units      map[string]int // skuId → all units of the product (every state); CheckImport checks allotments against them
	Allotments []Allotment
	Users      []User
	// KeepUsers lets an import into an empty tenant (ImportFrom) keep the
	// rows of Users as its users' properties, in place, instead of copying
	// each into a record of its own: the caller hands the slice over and
	// neither reads nor writes it again (a consumed bundle,
	// bundle.Bundle.Consume). The rows stay in memory, one block, while
	// any of the users does. Without it the rows are copied and never
	// written.
	KeepUsers      bool
	Groups         []Group
	Members        [][2]string // (groupId, memberId)
	GroupLicenses  []OwnedSource
	DirectLicenses []OwnedSource
	// Seats optionally restores seat claims exactly (their times), so that
	// an export imported again gives the same waiting-room order; who
	// holds a seat follows from the claims (the oldest hold), and a held
	// seat keeps its HeldSince. Without them, claims date from the
	// sources' AssignedAt (into an empty tenant) or from the import.
	Seats []License
	// SeatDates are the dates the data gives for users' licenses (see
	// SeatDate): they date the seats this import grants (GrantedAt) and
	// their sources' lastUpdatedDateTime, so that an imported estate's
	// seats are as old as they are. Seats held before the import keep
	// their dates.
	SeatDates []SeatDate
}

// SeatDate is what imported data says about a user's license of a product
// that the commands cannot know: when the product was granted to the user
// (GrantedAt: a bundle's direct assignedAt, Graph's
// assignedPlans[].assignedDateTime, a usage report's License Assign Date)
// and when each of its sources last changed state (Updated, by
// assignedByGroup, "" for the direct source: Graph's
// licenseAssignmentStates[].lastUpdatedDateTime). A zero time is unknown.
type SeatDate struct {
	UserID      string
	SKUID       string
	AllotmentID string // "": the product's records in every pool
	GrantedAt   time.Time
	Updated     map[string]time.Time
}

// OwnedSource is a license source with its owner (group or user id).
type OwnedSource struct {
	Owner string
	LicenseSource
}

// ImportStats counts what an import changed.
type ImportStats struct {
	Users, Groups, Members, Licenses int
}

// Import merges data into the tenant as one command: objects that exist
// unchanged stay as they are (importing the same data twice changes
// nothing), others are created or replaced, and licenses are reconciled
// once at the end. Into an empty tenant it loads and recomputes in bulk.
// References must have been validated; an error means a defect of the
// caller and the engine may be partly changed (the runtime then rebuilds
// it from the store).
//
// Units, allotments and seat claims are first checked by CheckImport, the
// rules of the commands that make them one by one (SetUnits, PutAllotment):
// a refused import changes nothing. Seat claims (Seats) are kept exactly in
// both paths; who holds a seat follows from them as everywhere else: the
// oldest claims, as many as the pool has units.
func (e *Engine) Import(op Op, d ImportData) (ImportStats, error) {
	return e.ImportFrom(op, &d)
}

// ImportFrom is Import for a caller that hands d over: into an empty
// tenant, the rows the engine copies into records of its own (d.Users,
// d.Members) are let go of as soon as they are loaded, and d.Users and
// d.Members are nil when it returns (a million users' rows would otherwise
// stay live beside the engine's copies until the import ends). The rest
// of d is read as by Import (CheckImport normalises it in place).
func (e *Engine) ImportFrom(op Op, d *ImportData) (ImportStats, error) {
	if err := e.CheckImport(d); err != nil {
		return ImportStats{}, err
	}
	start := e.clock
	var st ImportStats
	var err error
	if len(e.users) == 0 && len(e.groups) == 0 && len(e.allotments) == 0 {
		st, err = e.importEmpty(op, d)
	} else {
		st, err = e.importMerge(op, *d)
	}
	if err == nil {
		// Only the seats this import granted take the data's dates.
		e.applySeatDates(d.SeatDates, func(l *license) bool { return l.HeldSince.After(InstantOf(start)) })
	}
	return st, err
}

// checkImportDates refuses a time the engine cannot hold (an Instant:
// the years 1678 to 2262) in the data's licenses and seat dates: a date
// outside them is a defect of the file, not one to keep rounded.
func checkImportDates(d *ImportData) error {
	bad := func(part string, i int, key string, t time.Time) error {
		if _, ok := InstantIn(t); ok {
			return nil
		}
		return &ImportError{Part: part, Index: i, Key: key, Err: allot.Errorf(allot.EINVALID,
			"The date %s is outside the years 1678 to 2262.", t.Format(time.RFC3339))}
	}
	for _, p := range []struct {
		name string
		srcs []OwnedSource
	}{{"groupLicenses", d.GroupLicenses}, {"directLicenses", d.DirectLicenses}} {
		for i := range p.srcs {
			if err := bad(p.name, i, p.srcs[i].Owner, p.srcs[i].AssignedAt); err != nil {
				return err
			}
		}
	}
	for i := range d.SeatDates {
		if t, ok := d.SeatDates[i].outOfRange(); ok {
			return bad("seatDates", i, d.SeatDates[i].UserID, t)
		}
	}
	return nil
}

// outOfRange returns a date of sd an Instant cannot hold, if it has one.
func (sd *SeatDate) outOfRange() (time.Time, bool) {
	if _, ok := InstantIn(sd.GrantedAt); !ok {
		return sd.GrantedAt, true
	}
	for _, t := range sd.Updated {
		if _, ok := InstantIn(t); !ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// SetGrantDates dates seats that have no grant date from imported data yet
// (a usage report's License Assign Date): each held seat whose HeldSince is
// after the date takes it as GrantedAt; Updated is applied as in Import. It
// changes nothing else and returns how many records changed. Run it as a
// command (it marks the records in the delta).
//
// A date an Instant cannot hold (before 1678, after 2262) dates nothing.
func (e *Engine) SetGrantDates(dates []SeatDate) int {
	kept := dates[:0:0]
	for i := range dates {
		if _, bad := dates[i].outOfRange(); !bad {
			kept = append(kept, dates[i])
		}
	}
	dates = kept
	return e.applySeatDates(dates, func(l *license) bool { return l.GrantedAt.IsZero() })
}

// applySeatDates gives the held records that may take them (ok) the
// dates: GrantedAt when the data dates the grant before HeldSince, and each
// source state's LastUpdated when the data dates it before the state's.
func (e *Engine) applySeatDates(dates []SeatDate, ok func(*license) bool) int {
	n := 0
	for i := range dates {
		sd := &dates[i]
		u := e.users[sd.UserID]
		if u == nil {
			continue
		}
		for _, l := range u.licenses {
			if l.skuID() != sd.SKUID || (sd.AllotmentID != "" && l.allotmentID() != sd.AllotmentID) || !l.Held || !ok(l) {
				continue
			}
			ch := false
			if !sd.GrantedAt.IsZero() && sd.GrantedAt.Before(l.HeldSince.Time()) && !sd.GrantedAt.Equal(l.GrantedAt.Time()) {
				l.GrantedAt = InstantOf(sd.GrantedAt.UTC())
				ch = true
			}
			var srcs []SourceState
			for j := range l.Sources {
				s := &l.Sources[j]
				t, has := sd.Updated[s.AssignedByGroup]
				if !has || t.IsZero() || !t.Before(s.LastUpdated.Time()) {
					continue
				}
				if srcs == nil { // a record's Sources are shared with clones: copy
					srcs = append([]SourceState(nil), l.Sources...)
				}
				srcs[j].LastUpdated = InstantOf(t.UTC())
			}
			if srcs != nil {
				l.Sources = srcs
				ch = true
			}
			if ch {
				e.dirtyLicense(l)
				n++
			}
		}
	}
	return n
}

// ImportError is a refused import: the record (Part "units", "allotments"
// or "seats", and its Index in ImportData, or its Key for units) that
// breaks a rule, and the refusal (an *allot.Error) it unwraps to.
type ImportError struct {
	Part  string
	Index int
	Key   string
	Err   error
}

func (e *ImportError) Error() string { return e.Err.Error() }
func (e *ImportError) Unwrap() error { return e.Err }

// CheckImport checks the units, allotments and seat claims of data against
// the tenant they would go into, with the rules the API's commands obey
// (resolveAllotment, fitAllotment, fitUnits): the allotments of a product
// never hold more units than its subscriptions, and never take seats held
// outside allotments; a seat claim names a product with units, an
// allotment of that product, and its time. It changes nothing, and
// normalises the allotments' product ids in place. Import runs it first,
// and importers run it before their own writes to report the file and
// line of a refusal.
func (e *Engine) CheckImport(d *ImportData) error {
	if err := checkImportDates(d); err != nil {
		return err
	}
	enabled := func(skuID string) (int, bool) {
		if n, ok := d.Units[skuID]; ok {
			return n, true
		}
		if p := e.pools[skuID]; p != nil {
			return p.units.Total(), true
		}
		return 0, false
	}
	hasUnits := func(skuID string) bool { _, ok := enabled(skuID); return ok }
	generalHeld := func(skuID string) int {
		if p := e.pools[skuID]; p != nil {
			return p.consumed
		}
		return 0
	}
	units := make([]string, 0, len(d.Units))
	for id, n := range d.Units {
		if _, ok := e.cat.SKU(id); !ok {
			return &ImportError{Part: "units", Key: id, Err: allot.Errorf(allot.EINVALID, "Unknown product %s.", id)}
		}
		if n < 0 {
			return &ImportError{Part: "units", Key: id, Err: allot.Errorf(allot.EINVALID, "Unit counts cannot be negative.")}
		}
		units = append(units, id)
	}
	sort.Strings(units)
	// The allotted units of each product after the import.
	sums := map[string]int{}
	for _, a := range e.allotments {
		sums[a.SKUID] += a.AllottedUnits
	}
	seen := make(map[string]bool, len(d.Allotments))
	for i := range d.Allotments {
		in := &d.Allotments[i]
		if seen[in.ID] {
			return &ImportError{Part: "allotments", Index: i, Err: allot.Errorf(allot.EINVALID, "Allotment %s is listed twice.", in.ID)}
		}
		seen[in.ID] = true
		cur := e.allotments[in.ID]
		if err := e.resolveAllotment(in, cur, hasUnits); err != nil {
			return &ImportError{Part: "allotments", Index: i, Err: err}
		}
		if cur != nil {
			sums[in.SKUID] -= cur.AllottedUnits
		}
		sums[in.SKUID] += in.AllottedUnits
	}
	for i := range d.Allotments {
		in := &d.Allotments[i]
		s, _ := e.cat.SKU(in.SKUID)
		n, _ := enabled(in.SKUID)
		if err := fitAllotment(in, e.allotments[in.ID], s, n, sums[in.SKUID], generalHeld(in.SKUID)); err != nil {
			return &ImportError{Part: "allotments", Index: i, Err: err}
		}
	}
	for _, id := range units {
		s, _ := e.cat.SKU(id)
		if err := fitUnits(s, d.Units[id], sums[id], generalHeld(id)); err != nil {
			return &ImportError{Part: "units", Key: id, Err: err}
		}
	}
	// Seat claims: which seat, and since when. Who holds one is not taken
	// from the data but follows from the claims (see restoreHeldSince).
	allotSKU := func(id string) (string, bool) {
		for i := range d.Allotments {
			if d.Allotments[i].ID == id {
				return d.Allotments[i].SKUID, true
			}
		}
		if a := e.allotments[id]; a != nil {
			return a.SKUID, true
		}
		return "", false
	}
	for i := range d.Seats {
		l := &d.Seats[i]
		bad := func(format string, args ...any) error {
			return &ImportError{Part: "seats", Index: i, Err: allot.Errorf(allot.EINVALID, format, args...)}
		}
		if !hasUnits(l.SKUID) {
			return bad("The seat of user %s names product %s, which the tenant has no units of.", l.UserID, l.SKUID)
		}
		if l.AllotmentID != "" {
			if sku, ok := allotSKU(l.AllotmentID); !ok || sku != l.SKUID {
				return bad("The seat of user %s names allotment %s, which is not an allotment of product %s.", l.UserID, l.AllotmentID, l.SKUID)
			}
		}
		if !l.Claimed && l.Held {
			return bad("The seat of user %s is held without a claim.", l.UserID)
		}
		if l.Claimed && l.Since.IsZero() {
			return bad("The seat claim of user %s has no time.", l.UserID)
		}
	}
	return nil
}

// importDefaults gives an imported user the defaults of a user created
// through Graph: userType Member, kind person.
func importDefaults(u *User) {
	if u.UserType == "" {
		u.UserType = "Member"
	}
	if u.Kind == "" {
		u.Kind = KindPerson
	}
}

// importEmpty loads d into an empty engine and recomputes every license.
// It takes d.Users and d.Members out of d and lets go of each once loaded
// (ImportFrom).
func (e *Engine) importEmpty(op Op, d *ImportData) (ImportStats, error) {
	var st ImportStats
	counts := ImportStats{Users: len(d.Users), Groups: len(d.Groups), Members: len(d.Members), Licenses: len(d.GroupLicenses) + len(d.DirectLicenses)}
	userRows, memberRows := d.Users, d.Members
	d.Users, d.Members = nil, nil
	for sku, n := range d.Units {
		if err := e.LoadUnits(sku, Units{Enabled: n, Status: "Enabled"}); err != nil {
			return st, err
		}
		mark(&e.delta.Pools, sku, true)
	}
	for _, a := range d.Allotments {
		if err := e.LoadAllotment(a); err != nil {
			return st, err
		}
		mark(&e.delta.Allotments, a.ID, true)
	}
	e.Reserve(len(userRows), len(d.Groups)) // maps sized once, not grown a million times
	// The delta's users and memberships are every one the engine holds
	// after the import: implied (Engine.allNew), not recorded one by one
	// (an error refuses the whole import, delta and all).
	e.allNew = true
	if d.KeepUsers {
		// The rows are the users' properties; their records come from
		// one block (a million users: one allocation instead of a million
		// copies of 450 B each, and a million fewer objects to mark).
		block := make([]user, len(userRows))
		for i := range userRows {
			in := &userRows[i]
			importDefaults(in)
			if err := e.addUser(&block[i], in); err != nil {
				return st, err
			}
		}
	} else {
		for _, u := range userRows {
			importDefaults(&u)
			if err := e.LoadUser(u); err != nil {
				return st, err
			}
		}
	}
	// From here userRows is not used again: each user is a record of the
	// engine's own, or (KeepUsers) the rows are the engine's.
	for _, g := range d.Groups {
		if err := e.LoadGroup(g); err != nil {
			return st, err
		}
		mark(&e.delta.Groups, g.ID, true)
	}
	e.sizeMemberSets(memberRows)
	// The members' users are found on every core (the lookups are most of
	// the cost: a cache miss each in a million-entry map), then the
	// memberships are added in order (loadMembersSplit).
	memberUsers := e.usersOf(memberRows)
	if err := e.loadMembersSplit(memberRows, memberUsers); err != nil {
		return st, err
	}
	// memberRows and memberUsers are not used again either.
	for _, s := range d.GroupLicenses {
		if err := e.LoadGroupLicense(s.Owner, s.LicenseSource); err != nil {
			return st, err
		}
		mark(&e.delta.GroupLicenses, Key2{s.Owner, sourceKey(&s.LicenseSource)}, true)
	}
	for _, s := range d.DirectLicenses {
		if err := e.LoadDirectLicense(s.Owner, s.LicenseSource); err != nil {
			return st, err
		}
		mark(&e.delta.DirectLicenses, Key2{s.Owner, sourceKey(&s.LicenseSource)}, true)
	}
	for _, l := range d.Seats {
		// The claim exactly; the seat goes to the oldest claims in the
		// recompute below, and keeps its heldSince if it was held.
		l.Held, l.HeldSince, l.GrantedAt = false, 0, 0
		if err := e.LoadLicense(l); err != nil {
			return st, err
		}
	}
	// Dynamic groups: members follow their rules.
	now := e.tick(op.Now)
	for _, g := range d.Groups {
		if r := e.dyn.Get(g.ID); r != nil {
			e.applyRule(op, e.groups[g.ID], r, now)
		}
	}
	e.pending.init()
	memtune.BetweenBulkPhases(len(e.all)) // the rows' garbage, collected before the recompute pauses the collector
	e.Recompute(Op{Actor: op.Actor, Now: now, Why: "tenant import"})
	e.reseatPools(nil, d.Seats, now)
	e.restoreHeldSince(d.Seats)
	st = counts
	e.delta.Audit = append(e.delta.Audit, audit.Entry{At: e.clock, Actor: actorOf(op), Action: "Import tenant",
		Detail: fmt.Sprintf("%d users, %d groups, %d memberships, %d licenses", st.Users, st.Groups, st.Members, st.Licenses)})
	return st, nil
}

// sourceKey is a source's pool key: skuId, or skuId/allotmentId.
func sourceKey(l *LicenseSource) string {
	if l.AllotmentID != "" {
		return l.SKUID + "/" + l.AllotmentID
	}
	return l.SKUID
}

// importMerge imports d into a tenant that has data: each part that differs
// from what the tenant has is applied with the ordinary command (units,
// allotments, users, groups, memberships, group and direct licenses, in
// that order, each step a function below), everything at the import's
// instant; then the claims get the times of d's seats (restoreClaims). The
// stats count what changed. The first error stops the import (the caller's
// command is refused as a whole).
func (e *Engine) importMerge(op Op, d ImportData) (ImportStats, error) {
	var st ImportStats
	now := e.tick(op.Now)
	at := Op{Actor: op.Actor, Now: now}
	if err := e.mergeUnits(at, d.Units); err != nil {
		return st, err
	}
	if err := e.mergeAllotments(at, d.Allotments); err != nil {
		return st, err
	}
	at.Why = "tenant import by " + actorOf(op)
	var err error
	if st.Users, err = e.mergeUsers(at, d.Users); err != nil {
		return st, err
	}
	if st.Groups, err = e.mergeGroups(at, d.Groups); err != nil {
		return st, err
	}
	if st.Members, err = e.mergeMembers(at, d.Members); err != nil {
		return st, err
	}
	if st.Licenses, err = e.mergeSources(op, d.GroupLicenses, d.DirectLicenses); err != nil {
		return st, err
	}
	e.restoreClaims(d.Seats, e.clock)
	return st, nil
}

// mergeUnits sets the enabled units of each SKU whose units differ.
func (e *Engine) mergeUnits(at Op, units map[string]int) error {
	for sku, n := range units {
		if p, ok := e.pools[sku]; ok && p.units.Enabled == n {
			continue
		}
		if err := e.SetUnits(at, sku, Units{Enabled: n, Status: "Enabled"}); err != nil {
			return err
		}
	}
	return nil
}

// mergeAllotments puts each allotment whose units or name differ.
func (e *Engine) mergeAllotments(at Op, as []Allotment) error {
	for _, a := range as {
		if cur, ok := e.allotments[a.ID]; ok && cur.AllottedUnits == a.AllottedUnits && cur.DisplayName == a.DisplayName {
			continue
		}
		if err := e.PutAllotment(at, a); err != nil {
			return err
		}
	}
	return nil
}

// mergeUsers puts each user that is new or differs; n is how many.
func (e *Engine) mergeUsers(at Op, users []User) (n int, err error) {
	for _, in := range users {
		if u, ok := e.users[in.ID]; ok && sameUser(u.User, &in) {
			continue
		}
		if err := e.PutUser(at, in); err != nil {
			return n, fmt.Errorf("user %s: %w", in.ID, err)
		}
		n++
	}
	return n, nil
}

// mergeGroups puts each group that is new or differs; n is how many.
func (e *Engine) mergeGroups(at Op, groups []Group) (n int, err error) {
	for _, in := range groups {
		if g, ok := e.groups[in.ID]; ok && sameGroup(&g.Group, &in) {
			continue
		}
		if err := e.PutGroup(at, in); err != nil {
			return n, fmt.Errorf("group %s: %w", in.ID, err)
		}
		n++
	}
	return n, nil
}

// mergeMembers adds each (group, member) pair the tenant lacks; a dynamic
// group's members are its rule's and are left alone. n is how many.
func (e *Engine) mergeMembers(at Op, members [][2]string) (n int, err error) {
	for _, m := range members {
		g := e.groups[m[0]]
		if g == nil {
			return n, allot.Errorf(allot.EINVALID, "group %s does not exist", m[0])
		}
		if g.IsDynamic() || e.hasMember(g, m[1]) {
			continue
		}
		if err := e.AddMembers(at, m[0], []string{m[1]}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// hasMember reports whether id (a user or a group) is a direct member of g.
func (e *Engine) hasMember(g *group, id string) bool {
	if u, ok := e.users[id]; ok && u.inGroup(g) {
		return true
	}
	if c, ok := e.groups[id]; ok {
		if _, in := g.memberGroups[c]; in {
			return true
		}
	}
	return false
}

// mergeSources imports each group and then direct license source the
// tenant lacks or has with other disabled plans; n is how many.
func (e *Engine) mergeSources(op Op, gls, dls []OwnedSource) (n int, err error) {
	for _, s := range gls {
		g := e.groups[s.Owner]
		if i, ok := g.licenseIn(s.SKUID, s.AllotmentID); ok && equalStrings(g.licenses[i].DisabledPlans, s.DisabledPlans) {
			continue
		}
		if err := e.importSource(op, g, nil, s.LicenseSource); err != nil {
			return n, err
		}
		n++
	}
	for _, s := range dls {
		u := e.users[s.Owner]
		if i, ok := u.directIn(s.SKUID, s.AllotmentID); ok && equalStrings(u.direct[i].DisabledPlans, s.DisabledPlans) {
			continue
		}
		if err := e.importSource(op, nil, u, s.LicenseSource); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// restoreClaims gives the claims of an import into an existing tenant the
// times of its seats (the sources' commands claimed at the import's
// instant), then re-seats the pools whose order changed: the oldest claims
// hold the seats, as after every command, and a held seat keeps its
// heldSince when the data says it was held.
func (e *Engine) restoreClaims(seats []License, now time.Time) {
	if len(seats) == 0 {
		return
	}
	touched := map[*pool]struct{}{}
	for i := range seats {
		s := &seats[i]
		l := e.importedLicense(s)
		if l == nil || !l.Claimed || !s.Claimed || l.Since.Equal(s.Since) {
			continue
		}
		l.Since = s.Since
		if l.waitIdx >= 0 && !l.pool.waiting.down(int(l.waitIdx)) {
			l.pool.waiting.up(int(l.waitIdx))
		}
		e.dirtyLicense(l)
		e.touchState(l.user, audit.ActorGroupLicensing, "claim time restored by a tenant import")
		touched[l.pool] = struct{}{}
	}
	e.reseatPools(touched, seats, now)
	e.restoreHeldSince(seats)
}

// reseatPools re-seats the pools whose claim order an import changed, and
// those where the import's seats say more were held than are (the seats of
// a suspended or locked-out subscription, beyond its assignable units,
// which holders keep but the fill after an import does not give).
func (e *Engine) reseatPools(touched map[*pool]struct{}, seats []License, now time.Time) {
	held := map[*pool]int{}
	for i := range seats {
		if s := &seats[i]; s.Held {
			if l := e.importedLicense(s); l != nil && l.Claimed {
				held[l.pool]++
			}
		}
	}
	pools := make([]*pool, 0, len(touched)+len(held))
	for p := range touched {
		pools = append(pools, p)
	}
	for p, n := range held {
		if _, ok := touched[p]; !ok && n > p.consumed {
			pools = append(pools, p)
		}
	}
	if len(pools) == 0 {
		return
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].key < pools[j].key })
	for _, p := range pools {
		e.reseat(p, held[p])
		e.pending.pools[p] = struct{}{}
	}
	e.settle(now)
}

// reseat gives a pool's seats to its oldest claims: holders beyond them go
// back to the waiting room, and the oldest waiters take their seats. The
// seats held are kept even when more than the assignable units (a
// suspended subscription's holders keep theirs), so an older claim
// restored by the import takes a younger holder's seat; the fill that
// follows admits more while units are assignable. held is how many seats
// the import's data says were held: that many are kept too (within the
// pool's capacity).
func (e *Engine) reseat(p *pool, held int) {
	var claims []*license
	for _, u := range e.all {
		if l := u.licenseOf(p); l != nil && l.Claimed {
			claims = append(claims, l)
		}
	}
	sort.Slice(claims, func(i, j int) bool { return waitLess(claims[i], claims[j]) })
	const why = "an older claim restored by a tenant import takes the seat"
	seats := min(len(claims), p.capacity(), max(p.consumed, p.assignable(), held))
	for i, l := range claims {
		if i >= seats && l.Held {
			l.Held, l.HeldSince, l.GrantedAt = false, 0, 0
			p.consumed--
			p.waiting.push(l)
			e.dirtyLicense(l)
			// Reclaimed, not only restated: what the claim phase derives from
			// the user's seats (all-or-none siblings, kept sources) changes.
			e.touch(l.user, audit.ActorGroupLicensing, why)
		}
	}
	var aside []*license // bundled claims: admitted with their siblings by the fill
	for p.consumed < seats && len(p.waiting) > 0 {
		l := p.waiting.pop()
		if l.bundled {
			aside = append(aside, l)
			continue
		}
		e.admit(l, e.clock)
	}
	for _, l := range aside {
		p.waiting.push(l)
	}
}

// restoreHeldSince gives the seats an import's data says were held, and
// that are held, their heldSince.
func (e *Engine) restoreHeldSince(seats []License) {
	for i := range seats {
		s := &seats[i]
		if !s.Held || s.HeldSince.IsZero() {
			continue
		}
		if l := e.importedLicense(s); l != nil && l.Held && !l.HeldSince.Equal(s.HeldSince) {
			l.HeldSince = s.HeldSince
			e.dirtyLicense(l)
		}
	}
}

// importedLicense is the record of an import's seat, or nil.
func (e *Engine) importedLicense(s *License) *license {
	u := e.users[s.UserID]
	if u == nil {
		return nil
	}
	p := e.sourcePool(&LicenseSource{SKUID: s.SKUID, AllotmentID: s.AllotmentID})
	if p == nil {
		return nil
	}
	return u.licenseOf(p)
}

// importSource adds a source with its original AssignedAt, bypassing the
// refusals of interactive assignment (an import restores what exists).
func (e *Engine) importSource(op Op, g *group, u *user, l LicenseSource) error {
	if e.sourcePool(&l) == nil {
		return allot.Errorf(allot.EINVALID, "no units of %s", l.SKUID)
	}
	if l.AssignedAt.IsZero() {
		l.AssignedAt = e.clock
	}
	why := "tenant import by " + actorOf(op)
	if g != nil {
		if i, ok := g.licenseIn(l.SKUID, l.AllotmentID); ok {
			g.licenses[i] = l
		} else {
			g.licenses = append(g.licenses, l)
			sortSources(g.licenses)
		}
		mark(&e.delta.GroupLicenses, Key2{g.ID, sourceKey(&l)}, true)
		for _, m := range e.licensedUsers(g) {
			e.touch(m, audit.ActorGroupLicensing, why)
		}
	} else {
		if i, ok := u.directIn(l.SKUID, l.AllotmentID); ok {
			u.direct[i] = l
		} else {
			u.direct = append(u.direct, l)
			sortSources(u.direct)
		}
		mark(&e.delta.DirectLicenses, Key2{u.ID, sourceKey(&l)}, true)
		e.touch(u, actorOf(op), why)
	}
	e.settle(e.clock)
	return nil
}

func sameUser(a, b *User) bool {
	if a.ID != b.ID || a.UserPrincipalName != b.UserPrincipalName || a.DisplayName != b.DisplayName || a.AccountEnabled != b.AccountEnabled ||
		a.UsageLocation != b.UsageLocation || a.PackedTexts() != b.PackedTexts() || !equalStrings(a.ProxyAddresses(), b.ProxyAddresses()) ||
		!equalStrings(a.OtherMails(), b.OtherMails()) || len(a.Attributes) != len(b.Attributes) {
		return false
	}
	if (b.UserType != "" && a.UserType != b.UserType) || (b.Kind != "" && a.Kind != b.Kind) {
		return false
	}
	for k, v := range a.Attributes {
		if b.Attributes[k] != v {
			return false
		}
	}
	return true
}

func sameGroup(a, b *Group) bool {
	return a.ID == b.ID && a.DisplayName == b.DisplayName && a.Description == b.Description && a.MailNickname == b.MailNickname &&
		a.MailEnabled == b.MailEnabled && a.SecurityEnabled == b.SecurityEnabled && equalStrings(a.GroupTypes, b.GroupTypes) &&
		a.MembershipRule == b.MembershipRule && (b.MembershipRuleProcessingState == "" || a.MembershipRuleProcessingState == b.MembershipRuleProcessingState) &&
		(b.AssignmentMode == "" || a.AssignmentMode == b.AssignmentMode)
}

// sizeMemberSets sizes the member set of each loaded group for the
// memberships members will add to it (an upper bound: a member group
// lands in the group's other set), so that a group of many members is
// not rehashed as it grows.
func (e *Engine) sizeMemberSets(members [][2]string) {
	n := make(map[string]int, len(e.groups))
	for _, m := range members {
		n[m[0]]++
	}
	for id, c := range n {
		if g := e.groups[id]; g != nil && len(g.members) == 0 && c > 8 {
			g.members = make(map[*user]struct{}, c)
		}
	}
}

// loadMembersSplit adds memberships (group id, member id) in order, with
// users[i] the user of row i (nil: a group, or unknown), as loadMemberAs
// would one by one, on two goroutines that share nothing they write: this
// one fills the groups' sides (a group's user members, and group members
// with their checks, whose first error it returns), the other the users'
// (a user's groups, each once). On an error the users' side may hold
// memberships after the failing row; the caller discards the engine then,
// as it does after any failed load.
func (e *Engine) loadMembersSplit(rows [][2]string, users []*user) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		// A user without groups gets a part of one slab for its list, sized
		// by a count of its rows (cap = that count: an append later
		// copies it out): two million memberships are one allocation,
		// not one or two per user as the lists grow.
		end := make([]int32, len(e.all)) // the end of each user's part
		n := int32(0)
		for _, u := range users {
			if u != nil {
				end[u.idx]++
			}
		}
		for i, c := range end {
			n += c
			end[i] = n
		}
		slab := make([]*group, n)
		var g *group
		for i, m := range rows {
			u := users[i]
			if u == nil {
				continue
			}
			if g = e.runGroup(g, m[0]); g == nil {
				continue // reported by the groups' side
			}
			if slices.Contains(u.groups, g) {
				continue
			}
			if cap(u.groups) == 0 {
				k := int32(0) // the part's start: the end of the one before
				if u.idx > 0 {
					k = end[u.idx-1]
				}
				u.groups = slab[k:k:end[u.idx]]
			}
			u.groups = append(u.groups, g)
		}
	})
	var g *group
	for i, m := range rows {
		if g = e.runGroup(g, m[0]); g == nil {
			return allot.Errorf(allot.ENOTFOUND, "membership of missing group %s", m[0])
		}
		if u := users[i]; u != nil {
			g.members[u] = struct{}{}
			continue
		}
		if err := e.loadMemberAs(g, m[1], nil); err != nil {
			return err
		}
	}
	return nil
}

// runGroup is the group with id: g itself while rows stay in its run (a
// group's memberships are consecutive), else a lookup (nil: none).
func (e *Engine) runGroup(g *group, id string) *group {
	if g != nil && g.ID == id {
		return g
	}
	return e.groups[id]
}

// usersOf returns the user each membership's member is (nil for a group or
// an unknown id), looked up on up to one goroutine per CPU (reads only).
func (e *Engine) usersOf(members [][2]string) []*user {
	us := make([]*user, len(members))
	n := workersFor(len(members))
	var wg sync.WaitGroup
	for w := range n {
		from, to := w*len(members)/n, (w+1)*len(members)/n
		wg.Go(func() {
			for i := from; i < to; i++ {
				us[i] = e.users[members[i][1]]
			}
		})
	}
	wg.Wait()
	return us
}
