package licensing

import (
	"fmt"
	"strings"
	"time"

	"allot"
)

// Explanation answers "why does this user have (or not have) this license".
type Explanation struct {
	UserID            string `json:"userId"`
	UserPrincipalName string `json:"userPrincipalName"`
	SKUID             string `json:"skuId"`
	SKUPartNumber     string `json:"skuPartNumber"`
	// HoldsSeat: the user consumes one seat of the SKU since HeldSince.
	HoldsSeat bool       `json:"holdsSeat"`
	HeldSince *time.Time `json:"heldSince,omitempty"`
	// Waiting: the user is in the SKU's waiting room since WaitingSince, at
	// WaitingPosition (1 = next to be admitted) of WaitingCount.
	Waiting         bool       `json:"waiting"`
	WaitingSince    *time.Time `json:"waitingSinceDateTime,omitempty"`
	WaitingPosition int        `json:"waitingPosition,omitempty"`
	WaitingCount    int        `json:"waitingCount,omitempty"`
	// WaitingInAllotment is the allotment whose waiting room that is (""
	// for the SKU's general pool).
	WaitingInAllotment string `json:"waitingInAllotmentId,omitempty"`
	// CapabilityStatus is the SKU's subscription status: holders have the
	// service while it is Enabled or Warning (grace period).
	CapabilityStatus string `json:"capabilityStatus"`
	Seats            struct {
		// Enabled is the seats holders may keep (every unit not deleted);
		// Free the seats new assignments may still take.
		Enabled  int `json:"enabled"`
		Consumed int `json:"consumed"`
		Free     int `json:"free"`
	} `json:"seats"`
	// Allotments lists the user's units in allotments of the SKU.
	Allotments          []AllotmentSeat   `json:"allotments,omitempty"`
	UsageLocation       string            `json:"usageLocation"`
	UsageLocationSource string            `json:"usageLocationSource"` // user | tenantDefault
	Sources             []ExplainedSource `json:"sources"`
	EnabledPlans        []string          `json:"enabledPlans"` // servicePlanNames
	Summary             string            `json:"summary"`
}

// AllotmentSeat is a user's place in one allotment.
type AllotmentSeat struct {
	AllotmentID     string     `json:"allotmentId"`
	DisplayName     string     `json:"displayName"`
	AllottedUnits   int        `json:"allottedUnits"`
	ConsumedUnits   int        `json:"consumedUnits"`
	HoldsUnit       bool       `json:"holdsUnit"`
	WaitingSince    *time.Time `json:"waitingSinceDateTime,omitempty"`
	WaitingPosition int        `json:"waitingPosition,omitempty"`
	WaitingCount    int        `json:"waitingCount,omitempty"`
}

// ExplainedSource is one source of the license with the reason for its state.
type ExplainedSource struct {
	AssignedByGroup  string    `json:"assignedByGroup,omitempty"`
	AllotmentID      string    `json:"allotmentId,omitempty"`
	GroupDisplayName string    `json:"groupDisplayName,omitempty"`
	Via              string    `json:"via"` // how the user gets this source
	State            string    `json:"state"`
	Error            string    `json:"error"`
	Reason           string    `json:"reason"`
	DisabledPlans    []string  `json:"disabledPlans"`
	AssignedAt       time.Time `json:"assignedDateTime"`
	LastUpdated      time.Time `json:"lastUpdatedDateTime"`
}

// Explain explains the (user, SKU) license. ENOTFOUND when the user does not
// exist or the tenant has no such SKU; a user without any source for the SKU
// gets an explanation that says so.
func (e *Engine) Explain(userID, skuID string) (Explanation, error) {
	u, ok := e.users[userID]
	if !ok {
		return Explanation{}, allot.NewError(allot.ENOTFOUND, msgNotFound(userID))
	}
	p := e.pools[strings.ToLower(skuID)]
	if p == nil {
		if s, ok := e.cat.SKU(skuID); ok {
			p = e.pools[s.ID]
		}
	}
	if p == nil {
		return Explanation{}, allot.Errorf(allot.ENOTFOUND, "The tenant has no subscription for %s.", skuID)
	}
	x := Explanation{UserID: u.ID, UserPrincipalName: u.UserPrincipalName, SKUID: p.sku.ID, SKUPartNumber: p.sku.PartNumber}
	x.Seats.Enabled, x.Seats.Consumed, x.Seats.Free = p.capacity(), p.consumed, max(0, p.free())
	x.CapabilityStatus = e.CapabilityStatus(p.sku.ID)
	x.UsageLocation, x.UsageLocationSource = u.UsageLocation, "user"
	if u.UsageLocation == "" {
		x.UsageLocation, x.UsageLocationSource = e.settings.DefaultUsageLocation, "tenantDefault"
	}
	var recs []*license
	for _, r := range u.licenses {
		if r.skuID() == p.sku.ID {
			recs = append(recs, r)
		}
	}
	if len(recs) == 0 {
		x.Summary = fmt.Sprintf("%s has no license for %s: no direct assignment, and no group the user belongs to assigns it.", u.UserPrincipalName, p.sku.PartNumber)
		if e.settings.ExcludeGuests && u.IsGuest() {
			x.Summary += " Guests are excluded from group licensing in this tenant."
		}
		return x, nil
	}
	// The top-level answer is the user's best record of the SKU, in any
	// pool: one that holds a seat (outside allotments first), else the
	// one nearest to admission.
	l := primaryRecord(recs)
	if l.Held {
		t := l.HeldSince.Time()
		x.HoldsSeat, x.HeldSince = true, &t
	}
	if l.Waiting() {
		t := l.Since.Time()
		x.Waiting, x.WaitingSince = true, &t
		x.WaitingPosition, x.WaitingCount = waitingPosition(l), len(l.pool.waiting)
		if a := l.pool.allot; a != nil {
			x.WaitingInAllotment = a.ID
		}
	}
	var all []SourceState
	for _, r := range recs {
		all = append(all, r.Sources...)
		if a := r.pool.allot; a != nil {
			seat := AllotmentSeat{AllotmentID: a.ID, DisplayName: a.DisplayName, AllottedUnits: a.AllottedUnits, ConsumedUnits: r.pool.consumed, HoldsUnit: r.Held}
			if r.Waiting() {
				t := r.Since.Time()
				seat.WaitingSince, seat.WaitingPosition, seat.WaitingCount = &t, waitingPosition(r), len(r.pool.waiting)
			}
			x.Allotments = append(x.Allotments, seat)
			if r.Held {
				x.HoldsSeat = true
			}
		}
	}
	for _, id := range enabledPlans(p.sku, all) {
		x.EnabledPlans = append(x.EnabledPlans, e.planName(id))
	}
	for _, r := range recs {
		l := r
		for _, s := range l.Sources {
			es := ExplainedSource{AssignedByGroup: s.AssignedByGroup, AllotmentID: l.allotmentID(), State: s.State.String(), Error: s.Error.String(),
				DisabledPlans: s.DisabledPlans, AssignedAt: s.AssignedAt.Time(), LastUpdated: s.LastUpdated.Time()}
			if s.AssignedByGroup == "" {
				es.Via = "direct assignment"
			} else {
				g := e.groups[s.AssignedByGroup]
				if g != nil {
					es.GroupDisplayName = g.DisplayName
				}
				es.Via = e.via(u, g)
			}
			if a := l.pool.allot; a != nil {
				es.Via += " through allotment " + a.DisplayName
			}
			es.Reason = e.reasonFor(u, l, &s, &x)
			x.Sources = append(x.Sources, es)
		}
	}
	x.Summary = e.summary(u, l, &x)
	if l != nil && l.Held {
		switch x.CapabilityStatus {
		case "Warning":
			x.Summary += fmt.Sprintf(" The subscription of %s has expired: the user keeps the service during the grace period.", p.sku.PartNumber)
		case "Suspended", "LockedOut":
			x.Summary += fmt.Sprintf(" The subscription of %s is %s: the seat stays assigned, but the user has no service until it is reactivated.", p.sku.PartNumber, x.CapabilityStatus)
		}
	}
	return x, nil
}

// primaryRecord is the record of a user's SKU that answers for all of
// them: the first that holds a seat (recs has the record outside
// allotments first), else the waiting one nearest to admission, else the
// first.
func primaryRecord(recs []*license) *license {
	var best *license
	for _, r := range recs {
		switch {
		case r.Held:
			return r
		case r.Waiting() && (best == nil || !best.Waiting() || waitingPosition(r) < waitingPosition(best)):
			best = r
		}
	}
	if best == nil {
		best = recs[0]
	}
	return best
}

// via describes how the user is a member of g.
func (e *Engine) via(u *user, g *group) string {
	if g == nil {
		return "a group that no longer exists"
	}
	rule := ""
	if g.MembershipRule != "" && g.IsDynamic() {
		rule = fmt.Sprintf(" (dynamic membership rule: %s)", g.MembershipRule)
	}
	if u.inGroup(g) {
		return fmt.Sprintf("member of group %s%s", g.DisplayName, rule)
	}
	// Nested: find the chain from one of the user's groups up to g.
	type step struct {
		g    *group
		prev *step
	}
	queue := []*step{}
	seen := map[*group]bool{}
	for _, d := range u.groups {
		queue = append(queue, &step{g: d})
		seen[d] = true
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.g == g {
			var names []string
			for x := s; x != nil; x = x.prev {
				names = append(names, x.g.DisplayName)
			}
			// names runs from g down to the user's own group.
			for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
				names[i], names[j] = names[j], names[i]
			}
			return "member of group " + strings.Join(names, ", which is a member of ") + " (nested group licensing)"
		}
		for p := range s.g.parents {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, &step{g: p, prev: s})
			}
		}
	}
	return "group " + g.DisplayName
}

func (e *Engine) planName(id string) string {
	if p, ok := e.cat.Plan(id); ok {
		return p.Name
	}
	return id
}

// reasonFor explains one source's state in words.
func (e *Engine) reasonFor(u *user, l *license, s *SourceState, x *Explanation) string {
	if s.State == StateActiveWithError {
		return keptReason(s)
	}
	switch s.Error {
	case ErrNone, ErrUnset:
		if l.Held {
			return "active: the user holds a seat"
		}
		return "active"
	case ErrCountViolation:
		if !l.Held && l.bundled {
			if g := e.groups[s.AssignedByGroup]; g != nil && g.AssignmentMode == ModeAllOrNone {
				return fmt.Sprintf("group %s assigns its products all or none: this one waits (holding no seat) until the group's other products can have a seat too, then all are admitted together", g.DisplayName)
			}
		}
		if !l.Held {
			if a := l.pool.allot; a != nil {
				return fmt.Sprintf("no unit: all %d units of allotment %s are in use; waiting since %s, position %d of %d — admitted automatically, oldest first, when a unit frees",
					a.AllottedUnits, a.DisplayName, l.Since.Format(time.RFC3339), waitingPosition(l), len(l.pool.waiting))
			}
			if st := e.CapabilityStatus(l.pool.sku.ID); st != "Enabled" && st != "Warning" {
				return fmt.Sprintf("no seat: the subscription of %s is %s, so its units cannot be assigned; waiting since %s, position %d of %d — admitted automatically, oldest first, when the subscription is reactivated",
					x.SKUPartNumber, st, l.Since.Format(time.RFC3339), x.WaitingPosition, x.WaitingCount)
			}
			return fmt.Sprintf("no seat: all %d seats of %s are in use; waiting since %s, position %d of %d — admitted automatically, oldest first, when a seat frees",
				l.pool.capacity(), x.SKUPartNumber, l.Since.Format(time.RFC3339), waitingPosition(l), len(l.pool.waiting))
		}
	case ErrProhibitedInUsageLoc:
		return fmt.Sprintf("%s is not available in usage location %s (%s)", x.SKUPartNumber, x.UsageLocation, x.UsageLocationSource)
	case ErrDependency:
		sku := l.pool.sku
		for _, p := range sku.Plans {
			if containsString(s.DisabledPlans, p.ID) {
				continue
			}
			for _, d := range e.plan.deps[p.ID] {
				if !e.userHasAnyPlan(u, d.RequiresAnyOf) {
					names := make([]string, len(d.RequiresAnyOf))
					for i, r := range d.RequiresAnyOf {
						names[i] = e.planName(r)
					}
					return fmt.Sprintf("plan %s requires %s, which no active license of the user enables (rule source: %s)", p.Name, strings.Join(names, " or "), d.Source)
				}
			}
		}
	case ErrMutuallyExclusive:
		for _, pair := range e.plan.excl {
			if containsPlanOf(l.pool.sku, s, pair[0]) && e.userHasAnyPlan(u, pair[1:]) {
				return fmt.Sprintf("plan %s cannot be enabled together with plan %s, which another license of the user enables", e.planName(pair[0]), e.planName(pair[1]))
			}
			if containsPlanOf(l.pool.sku, s, pair[1]) && e.userHasAnyPlan(u, pair[:1]) {
				return fmt.Sprintf("plan %s cannot be enabled together with plan %s, which another license of the user enables", e.planName(pair[1]), e.planName(pair[0]))
			}
		}
	}
	if g := e.groups[s.AssignedByGroup]; g != nil && g.AssignmentMode == ModeAllOrNone {
		return fmt.Sprintf("group %s assigns its products all or none, and another of its products is in error (%s) for this user", g.DisplayName, s.Error)
	}
	return s.Error.String()
}

func containsPlanOf(sku interface{ HasPlan(string) bool }, s *SourceState, plan string) bool {
	return sku.HasPlan(plan) && !containsString(s.DisabledPlans, plan)
}

// userHasAnyPlan reports whether an Active source of the user enables one of
// the plans.
func (e *Engine) userHasAnyPlan(u *user, plans []string) bool {
	for _, l := range u.licenses {
		for i := range l.Sources {
			s := &l.Sources[i]
			if !s.Usable() {
				continue
			}
			for _, p := range plans {
				if l.pool.sku.HasPlan(p) && !containsString(s.DisabledPlans, p) {
					return true
				}
			}
		}
	}
	return false
}

func (e *Engine) summary(u *user, l *license, x *Explanation) string {
	n := len(l.Sources)
	src := "1 source"
	if n != 1 {
		src = fmt.Sprintf("%d sources", n)
	}
	switch {
	case l.Held:
		active := 0
		for _, s := range l.Sources {
			if s.Usable() {
				active++
			}
		}
		if active == 0 {
			return fmt.Sprintf("%s holds a seat of %s (reserved) from %s, but every source is in error, so no plan is enabled.", u.UserPrincipalName, x.SKUPartNumber, src)
		}
		return fmt.Sprintf("%s is licensed for %s through %s and consumes one seat (since %s).", u.UserPrincipalName, x.SKUPartNumber, src, l.HeldSince.Format(time.RFC3339))
	case l.Waiting():
		room := ""
		if a := l.pool.allot; a != nil {
			room = " of allotment " + a.DisplayName
		}
		return fmt.Sprintf("%s wants %s through %s but no seat%s is free: waiting at position %d of %d since %s.", u.UserPrincipalName, x.SKUPartNumber, src, room, x.WaitingPosition, x.WaitingCount, l.Since.Format(time.RFC3339))
	default:
		return fmt.Sprintf("%s has %s from %s, but none can be applied.", u.UserPrincipalName, x.SKUPartNumber, src)
	}
}
