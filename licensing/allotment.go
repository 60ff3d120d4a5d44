package licensing

import (
	"sort"
	"strings"
	"time"

	"allot"
	"allot/audit"
	"allot/catalog"
)

// Allotments (Graph beta cloudLicensing, the allotment resource): a pool of units of one
// SKU carved out of the tenant's subscription. Sources (group or user
// assignments) made through an allotment draw from its units only; each
// unique user consumes one unit from each allotment they are assigned
// through; a full allotment sends further users to its own waiting room,
// admitted oldest first when units free up. The SKU's general pool is its
// units minus every allotment of the SKU. Allotments are carved from the
// best units: while the SKU's assignable units (enabled and warning) do not
// cover its allotments, allotments admit nobody new (their holders keep
// their seats).

// pendSKU queues every pool of a SKU (general and allotments) for
// admission: what each may admit depends on the SKU's units and allotments.
func (e *Engine) pendSKU(skuID string) {
	if p := e.pools[skuID]; p != nil {
		e.pending.pools[p] = struct{}{}
	}
	for _, a := range e.allotments {
		if a.SKUID == skuID {
			e.pending.pools[a.pool] = struct{}{}
		}
	}
}

// Allotment is a seat budget of one SKU.
type Allotment struct {
	ID            string    `json:"id"`
	DisplayName   string    `json:"displayName"`
	SKUID         string    `json:"skuId"`
	AllottedUnits int       `json:"allottedUnits"`
	AssignableTo  string    `json:"assignableTo"` // "user,group" (Graph's flags)
	Owners        []string  `json:"owners,omitempty"`
	CreatedAt     time.Time `json:"createdDateTime"`
}

type allotment struct {
	Allotment
	pool *pool
}

// AllotmentInfo is an allotment with its consumption.
type AllotmentInfo struct {
	Allotment
	ConsumedUnits int
	Waiting       int
}

// PutAllotment creates an allotment or changes its name, owners and
// units. The allotted units of a SKU never exceed its units (Units.Total), and an
// allotment never takes seats that users of the general pool hold (ECONFLICT
// with how many must go); lowering an allotment below its consumption is
// refused the same way. Raising units admits waiting users.
func (e *Engine) PutAllotment(op Op, in Allotment) error {
	a, exists := e.allotments[in.ID]
	if err := e.resolveAllotment(&in, a, func(skuID string) bool { return e.pools[skuID] != nil }); err != nil {
		return err
	}
	p := e.pools[in.SKUID]
	old := 0
	if exists {
		old = a.AllottedUnits
	}
	sum := e.allotted[in.SKUID] - old + in.AllottedUnits
	if err := fitAllotment(&in, a, p.sku, p.units.Total(), sum, p.consumed); err != nil {
		return err
	}
	now := e.tick(op.Now)
	if !exists {
		if in.CreatedAt.IsZero() {
			in.CreatedAt = now
		}
		a = &allotment{}
		a.pool = &pool{sku: p.sku, key: p.sku.ID + "/" + in.ID, allot: a, e: e, ruled: p.ruled, relevant: p.relevant}
		e.allotments[in.ID] = a
		e.audit(op, "Create allotment", "", "", in.SKUID)
	} else {
		e.audit(op, "Update allotment", "", "", in.SKUID)
	}
	a.Allotment = in
	e.allotted[in.SKUID] = sum
	mark(&e.delta.Allotments, in.ID, true)
	e.pending.pools[a.pool] = struct{}{}
	e.pendSKU(p.sku.ID)
	e.settle(now)
	return nil
}

// resolveAllotment checks an allotment's own fields and resolves its
// product, as every way of making one does (PutAllotment, Import): an id, a
// displayName, units not negative, a product the tenant has units of
// (hasUnits) that can be allotted, and for an existing allotment (cur) the
// same product.
func (e *Engine) resolveAllotment(in *Allotment, cur *allotment, hasUnits func(skuID string) bool) error {
	if in.ID == "" {
		return allot.Errorf(allot.EINVALID, "An allotment needs an id.")
	}
	if strings.TrimSpace(in.DisplayName) == "" {
		return allot.Errorf(allot.EINVALID, "An allotment needs a displayName.")
	}
	if in.AllottedUnits < 0 {
		return allot.Errorf(allot.EINVALID, "allottedUnits cannot be negative.")
	}
	if in.AssignableTo == "" {
		in.AssignableTo = "user,group"
	}
	if cur != nil {
		if !strings.EqualFold(in.SKUID, cur.SKUID) && in.SKUID != "" {
			return allot.Errorf(allot.EINVALID, "The product of an allotment cannot be changed; create a new allotment.")
		}
		in.SKUID, in.CreatedAt = cur.SKUID, cur.CreatedAt
		return nil
	}
	s, ok := e.cat.SKU(in.SKUID)
	if !ok || !hasUnits(s.ID) {
		return allot.NewError(allot.EINVALID, msgNoCompanyLicense(in.SKUID))
	}
	if ok, why := e.cat.AllotmentEligible(s.ID); !ok {
		return allot.Errorf(allot.EINVALID, "%s cannot be used in allotments: %s", s.PartNumber, why)
	}
	in.SKUID = s.ID
	return nil
}

// fitAllotment is the units rule of allotments, the one PutAllotment and
// Import obey (SetUnits keeps the same invariant from the units' side, see
// fitUnits): an existing allotment (cur) never drops below the units its
// users hold; the allotments of a product hold at most its units
// (Units.Total; sum: all of them, with in's new units); and they leave the general pool
// at least the generalHeld seats held outside allotments. Refusals are
// ECONFLICT (409) with how many must go.
func fitAllotment(in *Allotment, cur *allotment, s *catalog.SKU, total, sum, generalHeld int) error {
	if cur != nil && in.AllottedUnits < cur.pool.consumed {
		return allot.Errorf(allot.ECONFLICT, "%d units of allotment %s are in use; remove at least %d assignment(s) before reducing it to %d.",
			cur.pool.consumed, cur.DisplayName, cur.pool.consumed-in.AllottedUnits, in.AllottedUnits)
	}
	others := sum - in.AllottedUnits
	if sum > total {
		return allot.Errorf(allot.ECONFLICT, "Allotments of %s would hold %d units but the subscription has %d; the most this allotment can have is %d.",
			s.PartNumber, sum, total, max(total-others, 0))
	}
	if general := total - sum; general < generalHeld {
		return allot.Errorf(allot.ECONFLICT, "%d licenses of %s are assigned outside allotments; only %d units are left to allot (remove %d assignment(s) first).",
			generalHeld, s.PartNumber, max(total-others-generalHeld, 0), generalHeld-general)
	}
	return nil
}

// DeleteAllotment removes an allotment that no assignment uses.
func (e *Engine) DeleteAllotment(op Op, id string) error {
	a, ok := e.allotments[id]
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "Allotment %s does not exist.", id)
	}
	if n := len(e.AllotmentAssignments(id)); n > 0 {
		return allot.Errorf(allot.EINVALID, "Allotment %s has %d assignment(s); remove them before deleting it.", a.DisplayName, n)
	}
	if a.pool.consumed > 0 {
		// Units kept after their assignment went: another license of the
		// user depends on them (DependencyViolation until it is fixed).
		return allot.Errorf(allot.EINVALID, "Allotment %s still has %d unit(s) in use by users whose other licenses depend on them; fix those dependencies before deleting it.", a.DisplayName, a.pool.consumed)
	}
	now := e.tick(op.Now)
	e.allotted[a.SKUID] -= a.AllottedUnits
	delete(e.allotments, id)
	mark(&e.delta.Allotments, id, false)
	e.audit(op, "Delete allotment", "", "", a.SKUID)
	e.pendSKU(a.SKUID)
	e.settle(now)
	return nil
}

// AllotmentAssignment is a user or group assigned through an allotment.
type AllotmentAssignment struct {
	AllotmentID   string    `json:"allotmentId"`
	TargetID      string    `json:"assignedTo"` // user or group id
	TargetIsGroup bool      `json:"targetIsGroup"`
	DisabledPlans []string  `json:"disabledServicePlanIds"`
	AssignedAt    time.Time `json:"assignedDateTime"`
}

// AssignThroughAllotment assigns the allotment's SKU to a user or a group
// (or changes the disabled plans of an existing assignment). A group's
// members join and leave automatically; users beyond the allotment's units
// wait in its waiting room.
func (e *Engine) AssignThroughAllotment(op Op, allotmentID, targetID string, disabledPlans []string) error {
	a, ok := e.allotments[allotmentID]
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "Allotment %s does not exist.", allotmentID)
	}
	dis, err := e.checkDisabled(a.pool, disabledPlans)
	if err != nil {
		return err
	}
	if u, ok := e.users[targetID]; ok {
		if !strings.Contains(a.AssignableTo, "user") {
			return allot.Errorf(allot.EINVALID, "Allotment %s cannot be assigned to users.", a.DisplayName)
		}
		if err := e.checkDirectAssignee(u, a.SKUID); err != nil {
			return err
		}
		now := e.tick(op.Now)
		src := LicenseSource{SKUID: a.SKUID, AllotmentID: a.ID, DisabledPlans: dis, AssignedAt: now}
		if i, ok := u.directIn(a.SKUID, a.ID); ok {
			src.AssignedAt = u.direct[i].AssignedAt
			u.direct[i] = src
		} else {
			u.direct = append(u.direct, src)
			sortSources(u.direct)
		}
		mark(&e.delta.DirectLicenses, Key2{u.ID, a.pool.key}, true)
		e.audit(op, "Assign through allotment", u.ID, "", a.SKUID)
		e.touch(u, actorOf(op), "assigned through allotment "+a.DisplayName)
		e.settle(now)
		return nil
	}
	g, ok := e.groups[targetID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(targetID))
	}
	if !strings.Contains(a.AssignableTo, "group") {
		return allot.Errorf(allot.EINVALID, "Allotment %s cannot be assigned to groups.", a.DisplayName)
	}
	if !g.SecurityEnabled {
		return allot.Errorf(allot.EINVALID, "Licenses can only be assigned to security-enabled groups; group %s is not security enabled.", g.DisplayName)
	}
	next := append([]LicenseSource(nil), g.licenses...)
	src := LicenseSource{SKUID: a.SKUID, AllotmentID: a.ID, DisabledPlans: dis}
	if i, ok := g.licenseIn(a.SKUID, a.ID); ok {
		src.AssignedAt = g.licenses[i].AssignedAt
		next[i] = src
	} else {
		next = append(next, src)
	}
	if err := e.checkGroupPrerequisites(next); err != nil {
		return err
	}
	now := e.tick(op.Now)
	for i := range next {
		if next[i].AssignedAt.IsZero() {
			next[i].AssignedAt = now
		}
	}
	sortSources(next)
	g.licenses = next
	mark(&e.delta.GroupLicenses, Key2{g.ID, a.pool.key}, true)
	e.audit(op, "Assign through allotment", "", g.ID, a.SKUID)
	why := "group " + g.DisplayName + " assigned through allotment " + a.DisplayName + " by " + actorOf(op)
	for _, u := range e.licensedUsers(g) {
		e.touch(u, audit.ActorGroupLicensing, why)
	}
	e.settle(now)
	return nil
}

// RemoveFromAllotment removes a user's or group's assignment through an
// allotment; freed units admit waiting users.
func (e *Engine) RemoveFromAllotment(op Op, allotmentID, targetID string) error {
	a, ok := e.allotments[allotmentID]
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "Allotment %s does not exist.", allotmentID)
	}
	if u, ok := e.users[targetID]; ok {
		i, ok := u.directIn(a.SKUID, a.ID)
		if !ok {
			return allot.Errorf(allot.ENOTFOUND, "User %s is not assigned through allotment %s.", targetID, a.DisplayName)
		}
		now := e.tick(op.Now)
		u.direct = append(u.direct[:i], u.direct[i+1:]...)
		mark(&e.delta.DirectLicenses, Key2{u.ID, a.pool.key}, false)
		e.audit(op, "Remove allotment assignment", u.ID, "", a.SKUID)
		e.touch(u, actorOf(op), "assignment through allotment "+a.DisplayName+" removed")
		e.settle(now)
		return nil
	}
	g, ok := e.groups[targetID]
	if !ok {
		return allot.NewError(allot.ENOTFOUND, msgNotFound(targetID))
	}
	i, ok := g.licenseIn(a.SKUID, a.ID)
	if !ok {
		return allot.Errorf(allot.ENOTFOUND, "Group %s is not assigned through allotment %s.", g.DisplayName, a.DisplayName)
	}
	next := append(append([]LicenseSource(nil), g.licenses[:i]...), g.licenses[i+1:]...)
	if err := e.checkGroupPrerequisites(next); err != nil {
		return err
	}
	now := e.tick(op.Now)
	g.licenses = next
	mark(&e.delta.GroupLicenses, Key2{g.ID, a.pool.key}, false)
	e.audit(op, "Remove allotment assignment", "", g.ID, a.SKUID)
	why := "assignment of group " + g.DisplayName + " through allotment " + a.DisplayName + " removed by " + actorOf(op)
	for _, u := range e.licensedUsers(g) {
		e.touch(u, audit.ActorGroupLicensing, why)
	}
	e.settle(now)
	return nil
}

// checkDisabled validates disabled plans against a pool's SKU.
func (e *Engine) checkDisabled(p *pool, plans []string) ([]string, error) {
	dis := make([]string, 0, len(plans))
	for _, pl := range plans {
		pid := strings.ToLower(strings.TrimSpace(pl))
		if !p.sku.HasPlan(pid) {
			return nil, allot.Errorf(allot.EINVALID, "Service plan %s is not part of %s.", pl, p.sku.PartNumber)
		}
		if !containsString(dis, pid) {
			dis = append(dis, pid)
		}
	}
	sort.Strings(dis)
	return dis, nil
}

// sortSources orders sources by SKU, then allotment ("" first).
func sortSources(ls []LicenseSource) {
	sort.Slice(ls, func(i, j int) bool {
		if ls[i].SKUID != ls[j].SKUID {
			return ls[i].SKUID < ls[j].SKUID
		}
		return ls[i].AllotmentID < ls[j].AllotmentID
	})
}

// Allotments returns every allotment with its consumption, by display name.
func (e *Engine) Allotments() []AllotmentInfo {
	out := make([]AllotmentInfo, 0, len(e.allotments))
	for _, a := range e.allotments {
		out = append(out, AllotmentInfo{a.Allotment, a.pool.consumed, len(a.pool.waiting)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].DisplayName != out[j].DisplayName {
			return out[i].DisplayName < out[j].DisplayName
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// AllotmentByID returns one allotment with its consumption.
func (e *Engine) AllotmentByID(id string) (AllotmentInfo, bool) {
	a, ok := e.allotments[id]
	if !ok {
		return AllotmentInfo{}, false
	}
	return AllotmentInfo{a.Allotment, a.pool.consumed, len(a.pool.waiting)}, true
}

// AllotmentWaiting returns the allotment's waiting room, oldest first.
func (e *Engine) AllotmentWaiting(id string) []License {
	a, ok := e.allotments[id]
	if !ok {
		return nil
	}
	return waitingOf(a.pool)
}

// AllotmentAssignments returns the users and groups assigned through an
// allotment, by target id.
func (e *Engine) AllotmentAssignments(id string) []AllotmentAssignment {
	a, ok := e.allotments[id]
	if !ok {
		return nil
	}
	var out []AllotmentAssignment
	for _, g := range e.groups {
		if i, ok := g.licenseIn(a.SKUID, a.ID); ok {
			l := g.licenses[i]
			out = append(out, AllotmentAssignment{a.ID, g.ID, true, l.DisabledPlans, l.AssignedAt})
		}
	}
	for _, u := range e.all {
		if i, ok := u.directIn(a.SKUID, a.ID); ok {
			l := u.direct[i]
			out = append(out, AllotmentAssignment{a.ID, u.ID, false, l.DisabledPlans, l.AssignedAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TargetID < out[j].TargetID })
	return out
}

// LoadAllotment adds a stored allotment (before licenses and sources that
// use it).
func (e *Engine) LoadAllotment(in Allotment) error {
	p := e.pools[in.SKUID]
	if p == nil {
		return allot.Errorf(allot.ENOTFOUND, "allotment %s of a SKU without units %s", in.ID, in.SKUID)
	}
	a := &allotment{Allotment: in}
	a.pool = &pool{sku: p.sku, key: p.sku.ID + "/" + in.ID, allot: a, e: e, ruled: p.ruled, relevant: p.relevant}
	e.allotments[in.ID] = a
	e.allotted[in.SKUID] += in.AllottedUnits
	return nil
}
