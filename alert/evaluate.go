package alert

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"allot/directory"
	"allot/licensing"
	"allot/position"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// Firing is a subject for which a rule's condition holds now.
type Firing struct {
	Subject string
	Summary string
}

// Touched is what a commit changed, as far as rules care: it decides
// which rules are evaluated after the commit.
type Touched struct {
	All           bool            // anything (a bulk change, start-up)
	Licenses      bool            // license records (errors, waiting rooms)
	Pools         map[string]bool // pool keys (skuId or skuId/allotmentId) whose seats changed
	Subscriptions bool
	Rules         bool // alert rules or endpoints
	// Time: a timed check is due (waiting rooms, subscription terms,
	// repeats and quiet periods).
	Time bool
	// Users are the users whose license records changed, which counts
	// kept between evaluations are brought up to date with; ManyUsers:
	// more than maxTouchedUsers of them, or not known (with All), so such
	// counts are made again.
	Users     map[string]bool
	ManyUsers bool
}

// maxTouchedUsers bounds Touched.Users: past it, the counts kept between
// evaluations are made again (one walk) rather than updated user by user.
const maxTouchedUsers = 10_000

// TouchedBy reads a committed batch: its engine delta (nil: anything
// changed) and object writes. It keeps nothing of d or objects.
func TouchedBy(d *licensing.Delta, objects []store.Mutation) Touched {
	var t Touched
	if d == nil {
		t.All, t.ManyUsers = true, true
		return t
	}
	if len(d.Licenses) > 0 {
		t.Licenses = true
		for _, k := range d.Licenses {
			t.addPool(k[1])
			t.addUser(k[0])
		}
	}
	for k := range d.Pools {
		t.addPool(k)
	}
	for k := range d.Allotments {
		t.addPool("/" + k)
	}
	for _, m := range objects {
		switch m.Kind {
		case store.KindSubscription:
			t.Subscriptions = true
		case KindRule, KindEndpoint:
			t.Rules = true
		}
	}
	return t
}

func (t *Touched) addPool(k string) {
	if t.Pools == nil {
		t.Pools = map[string]bool{}
	}
	t.Pools[strings.ToLower(k)] = true
}

func (t *Touched) addUser(id string) {
	if t.ManyUsers || t.Users[id] {
		return
	}
	if len(t.Users) >= maxTouchedUsers {
		t.Users, t.ManyUsers = nil, true
		return
	}
	if t.Users == nil {
		t.Users = map[string]bool{}
	}
	t.Users[id] = true
}

// Merge adds u to t.
func (t *Touched) Merge(u Touched) {
	if u.ManyUsers || u.All {
		t.Users, t.ManyUsers = nil, true
	}
	for id := range u.Users {
		t.addUser(id)
	}
	t.All = t.All || u.All
	t.Licenses = t.Licenses || u.Licenses
	t.Subscriptions = t.Subscriptions || u.Subscriptions
	t.Rules = t.Rules || u.Rules
	t.Time = t.Time || u.Time
	for k := range u.Pools {
		t.addPool(k)
	}
}

// Empty reports whether nothing a rule reads was touched.
func (t Touched) Empty() bool {
	return !t.All && !t.Licenses && !t.Subscriptions && !t.Rules && !t.Time && len(t.Pools) == 0
}

// poolTouched reports whether a pool of sku (or any, when sku is "") or of
// the allotment was touched.
func (t Touched) poolTouched(sku, allotmentID string) bool {
	if len(t.Pools) == 0 {
		return false
	}
	if sku == "" && allotmentID == "" {
		return true
	}
	sku = strings.ToLower(sku)
	for k := range t.Pools {
		s, a, _ := strings.Cut(k, "/")
		if allotmentID != "" && a == strings.ToLower(allotmentID) {
			return true
		}
		if sku != "" && s == sku {
			return true
		}
	}
	return false
}

// Affects reports whether a rule must be evaluated after a change t. Rules
// whose condition can also change with time alone (waiting, subscription
// terms) are evaluated again at the time evaluate returns.
func (t Touched) Affects(r Rule) bool {
	if t.All || t.Rules {
		return true
	}
	switch r.Condition {
	case LicenseErrors:
		return t.Licenses
	case WaitingTooLong, FreeSeatsLow:
		return t.poolTouched(r.SKUID, r.AllotmentID)
	case AllotmentFull:
		return t.poolTouched("", r.AllotmentID)
	case SubscriptionEnding, SubscriptionRenewing:
		return t.Subscriptions || t.poolTouched(r.SKUID, "")
	}
	return false // position and operation rules are evaluated when reported
}

// Facts memoizes what several rules read within one evaluation of a
// tenant (the pools, the allotments, a group's errors by code), so 100
// rules cost little more than one. Valid inside one Tenant.Read only.
type Facts struct {
	s          *tenant.State
	pools      []licensing.PoolInfo
	allots     []licensing.AllotmentInfo
	allotCons  map[string]int
	groupCodes groupCounts
	read       bool
	subs       []subscription.Subscription
	subsRead   bool
	subsErr    error
}

// subscriptions returns the tenant's subscriptions, decoded once.
func (f *Facts) subscriptions() ([]subscription.Subscription, error) {
	if !f.subsRead {
		f.subsRead = true
		f.subs, f.subsErr = subscription.List(f.s)
	}
	return f.subs, f.subsErr
}

// NewFacts starts an evaluation of s.
func NewFacts(s *tenant.State) *Facts { return &Facts{s: s} }

func (f *Facts) load() {
	if f.read {
		return
	}
	f.read = true
	f.pools = f.s.Engine.Pools()
	f.allots = f.s.Engine.Allotments()
	f.allotCons = map[string]int{}
	for _, a := range f.allots {
		f.allotCons[a.SKUID] += a.ConsumedUnits
	}
}

// Evaluate returns the subjects for which a rule's condition holds in s at
// now, and the earliest time after now at which the answer may change
// without a commit (zero: none). Position and operation rules answer
// nothing here (see Service.ReportPosition, ReportOperation).
func Evaluate(s *tenant.State, r Rule, now time.Time) ([]Firing, time.Time) {
	return NewFacts(s).Evaluate(r, now)
}

// Evaluate is the package's Evaluate with the facts' memo.
func (f *Facts) Evaluate(r Rule, now time.Time) ([]Firing, time.Time) {
	switch r.Condition {
	case LicenseErrors:
		return f.licenseErrors(r), time.Time{}
	case WaitingTooLong:
		return f.waiting(r, now)
	case FreeSeatsLow:
		return f.freeSeats(r), time.Time{}
	case AllotmentFull:
		return f.allotmentsFull(r), time.Time{}
	case SubscriptionEnding, SubscriptionRenewing:
		return f.subscriptionTerms(r, now)
	}
	return nil, time.Time{}
}

// licenseErrors counts the license assignments (user, product) with a
// source in Error — Graph's licenseAssignmentStates in error, which
// membersWithLicenseErrors lists: of a group (the engine's count, or with
// codes a walk of the group's members in error, once per evaluation), or
// tenant-wide from the directory index's counters.
func (f *Facts) licenseErrors(r Rule) []Firing {
	s := f.s
	threshold := max(1, int(r.Threshold))
	var n int
	subject := "tenant"
	if r.GroupID != "" {
		subject = "group/" + r.GroupID
		n = s.Engine.GroupErrorCount(r.GroupID)
		if n > 0 && len(r.Errors) > 0 {
			if f.groupCodes == nil {
				f.groupCodes = groupCounts{}
			}
			n = f.groupCodes.count(s.Engine, r.GroupID, r.Errors)
		}
	} else {
		for code, c := range directory.Of(s).ErrorCodes() {
			if len(r.Errors) == 0 || slices.Contains(r.Errors, code) {
				n += c
			}
		}
	}
	if n < threshold {
		return nil
	}
	where := "in the tenant"
	if r.GroupID != "" {
		where = "from group " + groupName(s, r.GroupID)
	}
	codes := ""
	if len(r.Errors) > 0 {
		codes = " (" + strings.Join(r.Errors, ", ") + ")"
	}
	return []Firing{{Subject: subject, Summary: fmt.Sprintf("%d license assignments %s are in error%s.", n, where, codes)}}
}

// groupCounts are the counts of a group's sources in Error with some
// codes, by group and codes: made by one walk of the group's members in
// error, then kept up to date between evaluations from the users each
// commit touched (update), so an evaluation costs what the commits
// touched, not the group's size.
type groupCounts map[string]*groupCount

type groupCount struct {
	group string
	codes []string
	n     int
	users map[string]int // the users with such sources, and how many
}

func (g groupCounts) count(e *licensing.Engine, groupID string, codes []string) int {
	key := groupID + "\x00" + strings.Join(codes, ",")
	c, ok := g[key]
	if !ok {
		c = &groupCount{group: groupID, codes: slices.Clone(codes), users: map[string]int{}}
		for _, id := range e.MembersWithLicenseErrors(groupID) {
			if k := groupErrors(e, id, groupID, codes); k > 0 {
				c.users[id] = k
				c.n += k
			}
		}
		g[key] = c
	}
	return c.n
}

// update brings the counts to e after the changes t: each touched user's
// sources are counted again; counts t cannot update (ManyUsers, All) are
// dropped, to be made again when a rule asks.
func (g groupCounts) update(e *licensing.Engine, t Touched) {
	if t.ManyUsers || t.All {
		clear(g)
		return
	}
	for _, c := range g {
		for id := range t.Users {
			k := groupErrors(e, id, c.group, c.codes)
			c.n += k - c.users[id]
			if k > 0 {
				c.users[id] = k
			} else {
				delete(c.users, id)
			}
		}
	}
}

// groupErrors counts a user's sources from a group in Error with a code.
func groupErrors(e *licensing.Engine, userID, groupID string, codes []string) int {
	n := 0
	for _, l := range e.Licenses(userID) {
		for _, src := range l.Sources {
			if src.AssignedByGroup == groupID && src.State == licensing.StateError && slices.Contains(codes, src.Error) {
				n++
			}
		}
	}
	return n
}

func groupName(s *tenant.State, id string) string {
	if g, ok := s.Engine.Group(id); ok && g.DisplayName != "" {
		return fmt.Sprintf("%q", g.DisplayName)
	}
	return id
}

func skuName(p licensing.PoolInfo) string {
	if p.SKU.PartNumber != "" {
		return p.SKU.PartNumber
	}
	return p.SKU.ID
}

// waiting: the oldest claim of each watched waiting room against the
// limit (O(1) per room: the engine's heap); the next check is when the
// oldest claim under the limit crosses it.
func (f *Facts) waiting(r Rule, now time.Time) ([]Firing, time.Time) {
	f.load()
	limit := time.Duration(r.Hours) * time.Hour
	var out []Firing
	var next time.Time
	check := func(subject, where string, oldest licensing.License, n int) {
		crosses := oldest.Since.Time().Add(limit)
		if now.After(crosses) {
			out = append(out, Firing{Subject: subject, Summary: fmt.Sprintf("%d users wait for a seat in %s; the first since %s (more than %d hours).",
				n, where, oldest.Since.Time().Format(time.RFC3339), r.Hours)})
			return
		}
		if next.IsZero() || crosses.Before(next) {
			next = crosses.Add(time.Second)
		}
	}
	if r.AllotmentID != "" || r.SKUID == "" {
		for _, a := range f.allots {
			if (r.AllotmentID != "" && a.ID != r.AllotmentID) || a.Waiting == 0 {
				continue
			}
			if l, n, ok := f.s.Engine.OldestWaiting(a.SKUID, a.ID); ok {
				check("allotment/"+a.ID, fmt.Sprintf("allotment %q", a.DisplayName), l, n)
			}
		}
	}
	if r.AllotmentID == "" {
		for _, p := range f.pools {
			if (r.SKUID != "" && !strings.EqualFold(p.SKU.ID, r.SKUID)) || p.Waiting == 0 {
				continue
			}
			if l, n, ok := f.s.Engine.OldestWaiting(p.SKU.ID, ""); ok {
				check("sku/"+p.SKU.ID, skuName(p), l, n)
			}
		}
	}
	return out, next
}

// freeSeats: the free seats of the position's accounts (position.AccountsOf,
// the numbers every page shows) against the threshold.
func (f *Facts) freeSeats(r Rule) []Firing {
	f.load()
	var out []Firing
	for _, p := range f.pools {
		if r.SKUID != "" && !strings.EqualFold(p.SKU.ID, r.SKUID) {
			continue
		}
		acc := position.AccountsOf(p, f.allotCons[p.SKU.ID])
		if acc.Owned <= 0 && r.SKUID == "" {
			continue // a product without units is not watched by a rule for every product
		}
		low := false
		if r.ThresholdPercent > 0 {
			low = acc.Owned <= 0 || float64(acc.Free)*100 < r.ThresholdPercent*float64(acc.Owned)
		} else {
			low = float64(acc.Free) < r.Threshold
		}
		if low {
			out = append(out, Firing{Subject: "sku/" + p.SKU.ID, Summary: fmt.Sprintf("%s has %d free seats of %d.", skuName(p), max(acc.Free, 0), acc.Owned)})
		}
	}
	return out
}

func (f *Facts) allotmentsFull(r Rule) []Firing {
	f.load()
	var out []Firing
	for _, a := range f.allots {
		if r.AllotmentID != "" && a.ID != r.AllotmentID {
			continue
		}
		if a.ConsumedUnits >= a.AllottedUnits {
			out = append(out, Firing{Subject: "allotment/" + a.ID,
				Summary: fmt.Sprintf("Allotment %q is full: %d of %d seats held, %d users waiting.", a.DisplayName, a.ConsumedUnits, a.AllottedUnits, a.Waiting)})
		}
	}
	return out
}

// subscriptionTerms: subscriptions whose term ends within the rule's days
// (ending: not renewing; renewing: renewing with seats nobody holds).
func (f *Facts) subscriptionTerms(r Rule, now time.Time) ([]Firing, time.Time) {
	s := f.s
	f.load()
	subs, err := f.subscriptions()
	if err != nil {
		return nil, time.Time{}
	}
	window := time.Duration(r.Days) * 24 * time.Hour
	var out []Firing
	var next time.Time
	later := func(t time.Time) {
		if !t.After(now) {
			return
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, sub := range subs {
		if (r.SKUID != "" && !strings.EqualFold(sub.SKUID, r.SKUID)) || sub.CommitmentEndDate == nil {
			continue
		}
		if sub.Status != subscription.StatusActive {
			continue
		}
		renewing := sub.AutoRenewEnabled
		if renewing != (r.Condition == SubscriptionRenewing) {
			continue
		}
		end := *sub.CommitmentEndDate
		if now.Before(end.Add(-window)) {
			later(end.Add(-window))
			continue
		}
		if !now.Before(end) {
			continue // the lifecycle has taken over (renewed or expired)
		}
		later(end)
		name := sub.FriendlyName
		if name == "" {
			name = sub.ID
		}
		if !renewing {
			out = append(out, Firing{Subject: "subscription/" + sub.ID,
				Summary: fmt.Sprintf("Subscription %q (%d seats) ends on %s and will not renew.", name, sub.Quantity, end.UTC().Format("2006-01-02"))})
			continue
		}
		p, ok := s.Engine.Pool(sub.SKUID)
		if !ok {
			continue
		}
		free := position.AccountsOf(p, f.allotCons[p.SKU.ID]).Free
		if free <= 0 {
			continue
		}
		cut := min(free, sub.Quantity)
		out = append(out, Firing{Subject: "subscription/" + sub.ID,
			Summary: fmt.Sprintf("Subscription %q renews on %s with %d seats; %d of them are held by nobody and could be cut before then.",
				name, end.UTC().Format("2006-01-02"), sub.Quantity, cut)})
	}
	return out, next
}
