package alert

import (
	"fmt"
	"maps"
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
}

// TouchedBy reads a committed batch: its engine delta (nil: anything
// changed) and object writes. It keeps nothing of d or objects.
func TouchedBy(d *licensing.Delta, objects []store.Mutation) Touched {
	var t Touched
	t.add(d, objects)
	return t
}

// add adds what a committed batch touched to t (the service adds each
// batch to the tenant's pending work in place: no allocation per batch
// once the pending work has its pool map) and reports whether the batch
// changed the rules or the subscriptions.
func (t *Touched) add(d *licensing.Delta, objects []store.Mutation) (rules, subs bool) {
	if d == nil {
		t.All = true
		return true, true
	}
	if len(d.Licenses) > 0 {
		t.Licenses = true
		for _, k := range d.Licenses {
			t.addPool(k[1])
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
			subs = true
		case KindRule, KindEndpoint:
			rules = true
		}
	}
	t.Subscriptions = t.Subscriptions || subs
	t.Rules = t.Rules || rules
	return rules, subs
}

func (t *Touched) addPool(k string) {
	k = strings.ToLower(k) // the engine's keys are: no copy
	if t.Pools[k] {
		return
	}
	if t.Pools == nil {
		t.Pools = map[string]bool{}
	}
	t.Pools[k] = true
}

// Merge adds u to t.
func (t *Touched) Merge(u Touched) {
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
// rules cost little more than one.
//
// Used directly (NewFacts, then Evaluate) it reads the state as the rules
// ask, inside the caller's Tenant.Read. The service instead copies what
// the rules will read under the read lock (Prepare, then Detach), and
// evaluates the rules and writes their summaries after releasing it: an
// evaluation holds the tenant's readers, and so the writer's next publish,
// only for that copy — O(rules + products), never a walk of users.
type Facts struct {
	s         *tenant.State // nil once detached
	pools     []licensing.PoolInfo
	allots    []licensing.AllotmentInfo
	allotCons map[string]int
	read      bool
	// tenantErrors: the directory index's error counts by code (a copy).
	tenantErrors map[string]int
	groups       map[string]groupFacts // by group id and codes (groupKey)
	// oldest: the oldest waiting claim of each waiting room that has one,
	// by "sku/<id>" and "allotment/<id>".
	oldest     map[string]waitingRoom
	oldestRead bool
	byPool     map[string]poolLookup // Engine.Pool by the subscriptions' product ids
	subs       []subscription.Subscription
	subsRead   bool
	subsErr    error
}

type groupFacts struct {
	name   string
	errors int // sources in Error (with the rule's codes, if any)
}

// waitingRoom: when its oldest claim was made, and how many wait.
type waitingRoom struct {
	since time.Time
	n     int
}

type poolLookup struct {
	p  licensing.PoolInfo
	ok bool
}

// NewFacts starts an evaluation of s.
func NewFacts(s *tenant.State) *Facts { return &Facts{s: s} }

// Prepare reads from the state what r will read when evaluated.
func (f *Facts) Prepare(r Rule) {
	switch r.Condition {
	case LicenseErrors:
		if r.GroupID != "" {
			f.group(r.GroupID, r.Errors)
		} else {
			f.errorCodes()
		}
	case WaitingTooLong:
		f.load()
		f.waitingRooms()
	case FreeSeatsLow, AllotmentFull:
		f.load()
	case SubscriptionEnding, SubscriptionRenewing:
		f.load()
		if subs, err := f.subscriptions(); err == nil {
			for _, sub := range subs {
				f.pool(sub.SKUID)
			}
		}
	}
}

// Detach ends the facts' reading of the state: Evaluate then answers from
// what Prepare read (and nothing more), so it may run after the caller's
// Tenant.Read has returned.
func (f *Facts) Detach() { f.s = nil }

// subscriptions returns the tenant's subscriptions, decoded once.
func (f *Facts) subscriptions() ([]subscription.Subscription, error) {
	if !f.subsRead && f.s != nil {
		f.subsRead = true
		f.subs, f.subsErr = subscription.List(f.s)
	}
	return f.subs, f.subsErr
}

func (f *Facts) load() {
	if f.read || f.s == nil {
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

// errorCodes: the tenant's license assignments in Error by code.
func (f *Facts) errorCodes() map[string]int {
	if f.tenantErrors == nil && f.s != nil {
		f.tenantErrors = maps.Clone(directory.Of(f.s).ErrorCodes())
		if f.tenantErrors == nil {
			f.tenantErrors = map[string]int{}
		}
	}
	return f.tenantErrors
}

func groupKey(groupID string, codes []string) string {
	return groupID + "\x00" + strings.Join(codes, ",")
}

// group: a group's name and its member sources in Error (with one of the
// codes, if any): the engine's counts, O(1).
func (f *Facts) group(groupID string, codes []string) groupFacts {
	k := groupKey(groupID, codes)
	if g, ok := f.groups[k]; ok || f.s == nil {
		return g
	}
	g := groupFacts{name: groupName(f.s, groupID)}
	if len(codes) > 0 {
		g.errors = f.s.Engine.GroupErrorCountOf(groupID, codes...)
	} else {
		g.errors = f.s.Engine.GroupErrorCount(groupID)
	}
	if f.groups == nil {
		f.groups = map[string]groupFacts{}
	}
	f.groups[k] = g
	return g
}

// waitingRooms reads the oldest claim of every waiting room that has
// one (O(1) each: the engine's heap).
func (f *Facts) waitingRooms() map[string]waitingRoom {
	if f.oldestRead || f.s == nil {
		return f.oldest
	}
	f.oldestRead = true
	f.load()
	f.oldest = map[string]waitingRoom{}
	for _, a := range f.allots {
		if a.Waiting == 0 {
			continue
		}
		if l, n, ok := f.s.Engine.OldestWaiting(a.SKUID, a.ID); ok {
			f.oldest["allotment/"+a.ID] = waitingRoom{l.Since.Time(), n}
		}
	}
	for _, p := range f.pools {
		if p.Waiting == 0 {
			continue
		}
		if l, n, ok := f.s.Engine.OldestWaiting(p.SKU.ID, ""); ok {
			f.oldest["sku/"+p.SKU.ID] = waitingRoom{l.Since.Time(), n}
		}
	}
	return f.oldest
}

// pool is Engine.Pool, memoized.
func (f *Facts) pool(skuID string) (licensing.PoolInfo, bool) {
	if p, ok := f.byPool[skuID]; ok || f.s == nil {
		return p.p, p.ok
	}
	p, ok := f.s.Engine.Pool(skuID)
	if f.byPool == nil {
		f.byPool = map[string]poolLookup{}
	}
	f.byPool[skuID] = poolLookup{p, ok}
	return p, ok
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
// membersWithLicenseErrors lists: of a group (the engine's counts, in all
// or by code), or tenant-wide from the directory index's counters.
func (f *Facts) licenseErrors(r Rule) []Firing {
	threshold := max(1, int(r.Threshold))
	var n int
	subject := "tenant"
	where := "in the tenant"
	if r.GroupID != "" {
		g := f.group(r.GroupID, r.Errors)
		n, subject, where = g.errors, "group/"+r.GroupID, "from group "+g.name
	} else {
		for code, c := range f.errorCodes() {
			if len(r.Errors) == 0 || slices.Contains(r.Errors, code) {
				n += c
			}
		}
	}
	if n < threshold {
		return nil
	}
	codes := ""
	if len(r.Errors) > 0 {
		codes = " (" + strings.Join(r.Errors, ", ") + ")"
	}
	return []Firing{{Subject: subject, Summary: fmt.Sprintf("%d license assignments %s are in error%s.", n, where, codes)}}
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
	check := func(subject, where string, w waitingRoom) {
		crosses := w.since.Add(limit)
		if now.After(crosses) {
			out = append(out, Firing{Subject: subject, Summary: fmt.Sprintf("%d users wait for a seat in %s; the first since %s (more than %d hours).",
				w.n, where, w.since.UTC().Format(time.RFC3339), r.Hours)})
			return
		}
		if next.IsZero() || crosses.Before(next) {
			next = crosses.Add(time.Second)
		}
	}
	rooms := f.waitingRooms()
	if r.AllotmentID != "" || r.SKUID == "" {
		for _, a := range f.allots {
			if r.AllotmentID != "" && a.ID != r.AllotmentID {
				continue
			}
			if w, ok := rooms["allotment/"+a.ID]; ok {
				check("allotment/"+a.ID, fmt.Sprintf("allotment %q", a.DisplayName), w)
			}
		}
	}
	if r.AllotmentID == "" {
		for _, p := range f.pools {
			if r.SKUID != "" && !strings.EqualFold(p.SKU.ID, r.SKUID) {
				continue
			}
			if w, ok := rooms["sku/"+p.SKU.ID]; ok {
				check("sku/"+p.SKU.ID, skuName(p), w)
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
		p, ok := f.pool(sub.SKUID)
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
