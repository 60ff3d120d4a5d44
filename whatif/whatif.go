// Package whatif answers "what would happen if…" before anyone commits:
// a list of commands (a group's licenses, a subscription's units, an
// allotment, a dynamic rule, a user's licenses, the position's fixes) runs
// on the tenant's writer's copy, which is set back afterwards (TryOn in
// tenant.Tenant.Try: no copy of the tenant; nothing is committed), or on
// a snapshot of the tenant (Try, TryIn: tenant.Tenant.Snapshot, an
// independent copy), through the same domain functions the API's
// handlers call, and the answer is the difference:
// who gains a license, who loses one, who starts waiting for a seat,
// which license errors appear, and the seats and monthly cost per product
// before and after.
//
// Each command runs as the API runs it: validated first, refused whole
// (its error is reported and the next command runs on the state the
// earlier ones left). Run applies one command to a transaction, so the
// same commands can be applied for real, one Tenant.Do each, with the
// same outcome (TestWhatIfOfEveryFixPredictsApplyingThem).
//
// applyFixes expands into the commands that carry out the position's
// fixes (Expand): units to buy for seatsRunningOut; for a finding about a
// user's seat, the user's direct licenses to remove and to add. Seats the
// user holds only through a group or an allotment cannot be removed from
// the user (Graph answers 400 for an inherited license); those fixes are
// listed as skipped with the reason, as are findings without a fix to
// apply (license errors, lapsing subscriptions, idle users on leave).
package whatif

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/catalog"
	"allot/identity"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/prices"
	"allot/settings"
	"allot/subscription"
	"allot/tenant"
	"allot/usage"
)

// Command operations.
const (
	OpSetGroupLicenses  = "setGroupLicenses"  // groupId, addLicenses, removeLicenses (Graph group assignLicense)
	OpSetUserLicenses   = "setUserLicenses"   // userId, addLicenses, removeLicenses (Graph user assignLicense)
	OpChangeUnits       = "changeUnits"       // sku, by: a subscription's quantity up or down
	OpPutAllotment      = "putAllotment"      // allotment (beta allotments API)
	OpSetMembershipRule = "setMembershipRule" // groupId, membershipRule (Graph PATCH group)
	OpApplyFixes        = "applyFixes"        // kinds (optional): the position's fixes
	OpSetSettings       = "setSettings"       // settings: the tenant's licensing settings (PATCH /allot/v1/settings)
)

// MaxCommands bounds one what-if.
const MaxCommands = 1000

// Command is one change to try.
type Command struct {
	Op             string                      `json:"op" required:"true" enum:"setGroupLicenses,setUserLicenses,changeUnits,putAllotment,setMembershipRule,setSettings,applyFixes"`
	GroupID        string                      `json:"groupId,omitempty"`
	UserID         string                      `json:"userId,omitempty"`
	AddLicenses    []licensing.AssignedLicense `json:"addLicenses,omitempty"`
	RemoveLicenses []string                    `json:"removeLicenses,omitempty"`
	// SKU is a skuId or skuPartNumber (changeUnits).
	SKU string `json:"sku,omitempty"`
	// By is the change of units (changeUnits): the tenant's newest active
	// subscription of the product changes its quantity by By (buying a
	// new subscription when it has none and By > 0).
	By             int                  `json:"by,omitempty"`
	Allotment      *licensing.Allotment `json:"allotment,omitempty"`
	MembershipRule *string              `json:"membershipRule,omitempty"`
	// Settings is the change of the licensing settings (setSettings).
	Settings *settings.Patch `json:"settings,omitempty"`
	// Kinds restricts applyFixes to these finding kinds (all when empty).
	Kinds []string `json:"kinds,omitempty"`
	// SubscriptionID names the subscription changeUnits creates when the
	// tenant has none of the product (chosen before the command runs, as
	// every id is); "" lets Prepare choose one.
	SubscriptionID string `json:"subscriptionId,omitempty"`
}

// Outcome is what one command did. For applyFixes: how many of the
// commands it stood for ran and how many were refused.
type Outcome struct {
	Command Command `json:"command"`
	Error   *Error  `json:"error,omitempty"`
	Applied int     `json:"applied,omitempty"`
	Refused int     `json:"refused,omitempty"`
}

// Error is a refused command, as the API would answer it.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Skipped is a fix applyFixes could not turn into a command.
type Skipped struct {
	FindingID string `json:"findingId"`
	Kind      string `json:"kind"`
	UserID    string `json:"userId,omitempty"`
	SKU       string `json:"skuPartNumber,omitempty"`
	Reason    string `json:"reason"`
}

// Change is one user's license that changes.
type Change struct {
	UserID            string `json:"userId"`
	UserPrincipalName string `json:"userPrincipalName"`
	SKUID             string `json:"skuId"`
	SKUPartNumber     string `json:"skuPartNumber"`
	AllotmentID       string `json:"allotmentId,omitempty"`
	// For errors: the source in error ("" direct) and its error.
	AssignedByGroup string `json:"assignedByGroup,omitempty"`
	Error           string `json:"error,omitempty"`
}

// Seats is a product's seats and cost at one moment.
type Seats struct {
	SKUID         string   `json:"skuId"`
	SKUPartNumber string   `json:"skuPartNumber"`
	Owned         int      `json:"owned"` // every unit (enabled, warning, suspended, lockedOut)
	Assigned      int      `json:"assigned"`
	Waiting       int      `json:"waiting"` // general pool and allotments
	MonthlyCost   *float64 `json:"monthlyCost"`
}

// Totals sum Seats.
type Totals struct {
	Owned       int      `json:"owned"`
	Assigned    int      `json:"assigned"`
	Waiting     int      `json:"waiting"`
	MonthlyCost *float64 `json:"monthlyCost"`
}

// Side is the tenant before or after the commands.
type Side struct {
	SKUs   []Seats `json:"skus"`
	Totals Totals  `json:"totals"`
}

// MaxListed bounds each list of changes; the counts cover all.
const MaxListed = 1000

// Result is a what-if's answer.
type Result struct {
	Commands []Outcome `json:"commands"`
	// Expanded: the commands applyFixes stood for, in the order they ran;
	// RefusedFixes: those of them refused (the first MaxListed).
	Expanded       []Command `json:"expanded,omitempty"`
	RefusedFixes   []Outcome `json:"refusedFixes,omitempty"`
	Skipped        []Skipped `json:"skipped,omitempty"` // the first MaxListed
	SkippedCount   int       `json:"skippedCount"`
	Gains          []Change  `json:"gains"`
	GainsCount     int       `json:"gainsCount"`
	Losses         []Change  `json:"losses"`
	LossesCount    int       `json:"lossesCount"`
	StartsWaiting  []Change  `json:"startsWaiting"`
	StartsCount    int       `json:"startsWaitingCount"`
	StopsWaiting   int       `json:"stopsWaitingCount"`
	Errors         []Change  `json:"errors"` // license errors that appear
	ErrorsCount    int       `json:"errorsCount"`
	ErrorsResolved int       `json:"errorsResolvedCount"`
	Currency       *string   `json:"currency"`
	Before         Side      `json:"before"`
	After          Side      `json:"after"`
}

// Options are what the position's fixes are computed with.
type Options struct {
	AsOf       usage.Day
	WindowDays int
	Now        time.Time
	Actor      string
	// NewID makes the ids of subscriptions bought by changeUnits.
	NewID func() string
	// Position, when set, is the position of the state the commands start
	// from, computed with AsOf and WindowDays (a cached one of the same
	// commit): applyFixes uses it while no command has changed the state
	// instead of computing it again.
	Position *position.Position
}

// Check validates commands before anything runs (EINVALID names the first
// bad one).
func Check(cmds []Command) error {
	if len(cmds) == 0 {
		return allot.Errorf(allot.EINVALID, "commands must list at least one command.")
	}
	if len(cmds) > MaxCommands {
		return allot.Errorf(allot.EINVALID, "At most %d commands can be tried at once.", MaxCommands)
	}
	for i, c := range cmds {
		if err := checkCommand(i, c); err != nil {
			return err
		}
	}
	return nil
}

// checkCommand checks command i: its op is known and it has the fields
// the op needs.
func checkCommand(i int, c Command) error {
	bad := func(format string, args ...any) error {
		return allot.Errorf(allot.EINVALID, "commands[%d]: "+format, append([]any{i}, args...)...)
	}
	switch c.Op {
	case OpSetGroupLicenses:
		if c.GroupID == "" {
			return bad("groupId is required.")
		}
		if len(c.AddLicenses) == 0 && len(c.RemoveLicenses) == 0 {
			return bad("addLicenses or removeLicenses is required.")
		}
	case OpSetUserLicenses:
		if c.UserID == "" {
			return bad("userId is required.")
		}
		if len(c.AddLicenses) == 0 && len(c.RemoveLicenses) == 0 {
			return bad("addLicenses or removeLicenses is required.")
		}
	case OpChangeUnits:
		if c.SKU == "" || c.By == 0 {
			return bad("sku and a non-zero by are required.")
		}
		if c.By > subscription.MaxQuantity || c.By < -subscription.MaxQuantity {
			return bad("by must be between -%d and %d.", subscription.MaxQuantity, subscription.MaxQuantity)
		}
	case OpPutAllotment:
		if c.Allotment == nil || c.Allotment.ID == "" {
			return bad("allotment with an id is required.")
		}
	case OpSetMembershipRule:
		if c.GroupID == "" || c.MembershipRule == nil {
			return bad("groupId and membershipRule are required.")
		}
	case OpSetSettings:
		if c.Settings == nil {
			return bad("settings is required.")
		}
		if err := settings.Check(*c.Settings); err != nil {
			return bad("%s", allot.ErrorMessage(err))
		}
	case OpApplyFixes:
		for _, k := range c.Kinds {
			if !slices.Contains(position.Kinds, k) {
				return bad("%q is not a finding kind (%s).", k, strings.Join(position.Kinds, ", "))
			}
		}
	case "":
		return bad("op is required: %s.", strings.Join(ops, ", "))
	default:
		return bad("op %q is not one of %s.", c.Op, strings.Join(ops, ", "))
	}
	return nil
}

var ops = []string{OpSetGroupLicenses, OpSetUserLicenses, OpChangeUnits, OpPutAllotment, OpSetMembershipRule, OpSetSettings, OpApplyFixes}

// Try runs the commands on before's copy and answers the difference.
// before is a snapshot (Tenant.Snapshot) and is not changed; the state
// after the commands is returned too.
func Try(before *tenant.State, cmds []Command, o Options) (*Result, *tenant.State, error) {
	if err := Check(cmds); err != nil {
		return nil, nil, err
	}
	after := before.Snapshot()
	res, err := try(after, stateBefore{before}, cmds, o, false)
	if err != nil {
		return nil, nil, err
	}
	return res, after, nil
}

// TryIn is Try on the caller's own copy s (a Tenant.Snapshot that nothing
// else uses): the commands change s itself, which is then the state after
// them. What the answer compares of the state before — every license
// record's usable, waiting and error states, and every product's seats —
// is kept before the first command runs, a small part of a second copy
// of the tenant (TestTryInAnswersAsTry).
func TryIn(s *tenant.State, cmds []Command, o Options) (*Result, error) {
	if err := Check(cmds); err != nil {
		return nil, err
	}
	return try(s, keep(s), cmds, o, false)
}

// TryOn is Try on a tenant's own copies, inside tenant.Tenant.Try: the
// commands run on after (the writer's copy, which Tenant.Try sets back
// once TryOn returns) and the difference is read from before (the
// readers' copy, the same state): no copy of the tenant is made, and the
// answer is Try's (TestTryOnAnswersAsTry). The engine's delta of the
// commands is left in after's engine for the set-back.
func TryOn(before, after *tenant.State, cmds []Command, o Options) (*Result, error) {
	if err := Check(cmds); err != nil {
		return nil, err
	}
	return try(after, stateBefore{before}, cmds, o, true)
}

// before is what the difference reads of the state before the commands.
// changed is called once, before license, with the keys the commands
// changed (license is asked about those only).
type before interface {
	changed(keys []licensing.Key2)
	license(k licensing.Key2) recState
	upn(userID string) (string, bool)
	side(pl *prices.List) Side
}

// stateBefore reads a copy of the state before.
type stateBefore struct{ s *tenant.State }

func (b stateBefore) changed([]licensing.Key2) {}

func (b stateBefore) license(k licensing.Key2) recState {
	l, ok := b.s.Engine.LicenseByKey(k[0], k[1])
	return stateOf(l, ok)
}

func (b stateBefore) upn(id string) (string, bool) {
	u, ok := b.s.Engine.User(id)
	return u.UserPrincipalName, ok
}

func (b stateBefore) side(pl *prices.List) Side { return side(b.s, pl) }

// kept is what keep keeps of a state: the states of its license records,
// user by user in the engine's order (flat lists: no map of a million
// keys to build for the few the commands change), and its products'
// seats (priced when the difference is made, at the price list after the
// commands, as Try prices both sides).
type kept struct {
	ids   []string  // the users, in the engine's order
	offs  []int32   // user i's records are recs[offs[i]:offs[i+1]]
	recs  []keptRec // in the engine's order of each user's records
	seats []poolSeats
	byKey map[licensing.Key2]recState // the changed users' records (changed)
}

// keptRec is a license record's pool (product and allotment) and state.
type keptRec struct {
	sku, allotment string
	st             recState
}

type poolSeats struct {
	sku              *catalog.SKU
	units            licensing.Units
	assigned, waited int
}

// keep reads what the difference needs of s before the commands run.
func keep(s *tenant.State) *kept {
	e := s.Engine
	n := e.UserCount()
	k := &kept{ids: make([]string, 0, n), offs: make([]int32, 0, n+1), recs: make([]keptRec, 0, n+n/2)}
	e.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
		k.ids = append(k.ids, u.ID)
		k.offs = append(k.offs, int32(len(k.recs)))
		for i := 0; i < ls.Len(); i++ {
			l := ls.At(i)
			k.recs = append(k.recs, keptRec{sku: l.SKUID, allotment: l.AllotmentID, st: stateOfRec(&l)})
		}
		return true
	})
	k.offs = append(k.offs, int32(len(k.recs)))
	waiting := map[string]int{}
	for _, a := range e.Allotments() {
		waiting[a.SKUID] += a.Waiting
	}
	for _, p := range e.Pools() {
		k.seats = append(k.seats, poolSeats{sku: p.SKU, units: p.Units, assigned: p.Consumed, waited: p.Waiting + waiting[p.SKU.ID]})
	}
	return k
}

// changed indexes the records the users of keys had before, by key (the
// pool key: "skuId" or "skuId/allotmentId").
func (k *kept) changed(keys []licensing.Key2) {
	users := make(map[string]bool, len(keys))
	for _, key := range keys {
		users[key[0]] = true
	}
	k.byKey = make(map[licensing.Key2]recState, len(keys))
	for i, id := range k.ids {
		if !users[id] {
			continue
		}
		for _, r := range k.recs[k.offs[i]:k.offs[i+1]] {
			key := r.sku
			if r.allotment != "" {
				key += "/" + r.allotment
			}
			k.byKey[licensing.Key2{id, key}] = r.st
		}
	}
}

func (k *kept) license(key licensing.Key2) recState { return k.byKey[key] }

// upn: the commands neither delete users nor rename them; the answer
// takes the name after.
func (k *kept) upn(string) (string, bool) { return "", false }

func (k *kept) side(pl *prices.List) Side {
	pools := make([]licensing.PoolInfo, len(k.seats))
	for i, p := range k.seats {
		pools[i] = licensing.PoolInfo{SKU: p.sku, Units: p.units, Consumed: p.assigned, Waiting: p.waited}
	}
	return sideOf(pools, nil, pl)
}

// try runs the commands on after (changed in place) and answers the
// difference with pre, the state before. peek leaves the engine's delta
// in after's engine (TryOn: every change since before, which the set-back
// needs), else it is taken before and after the commands.
func try(after *tenant.State, pre before, cmds []Command, o Options, peek bool) (*Result, error) {
	if !peek {
		after.Engine.TakeDelta() // start recording from here
	}
	res := &Result{Commands: []Outcome{}}
	changed := false // a command ran: o.Position is no longer after's
	for _, c := range cmds {
		if c.Op == OpApplyFixes {
			var pos *position.Position
			if !changed {
				pos = o.Position
			}
			fixes, skipped, n, err := expand(after, c.Kinds, o, pos)
			if err != nil {
				return nil, err
			}
			res.Skipped = append(res.Skipped, skipped...)
			res.SkippedCount += n
			out := Outcome{Command: c}
			for _, f := range fixes {
				res.Expanded = append(res.Expanded, f)
				if r := run(after, f, o); r.Error != nil {
					out.Refused++
					if len(res.RefusedFixes) < MaxListed {
						res.RefusedFixes = append(res.RefusedFixes, r)
					}
				} else {
					out.Applied++
					changed = true
				}
			}
			res.Commands = append(res.Commands, out)
			continue
		}
		out := run(after, c, o)
		changed = changed || out.Error == nil
		res.Commands = append(res.Commands, out)
	}
	var keys []licensing.Key2
	if peek {
		keys = slices.Clone(after.Engine.PeekDelta().Licenses) // diff sorts them
	} else {
		d := after.Engine.TakeDelta()
		keys = d.Licenses
	}
	res.diff(pre, after, keys)
	pl, _, err := prices.Of(after)
	if err != nil {
		return nil, err
	}
	if pl != nil {
		cur := pl.Currency
		res.Currency = &cur
	}
	res.Before, res.After = pre.side(pl), side(after, pl)
	return res, nil
}

// run applies one command to s as a command of its own (the engine checks
// before it changes, so a refused command leaves s as it was).
func run(s *tenant.State, c Command, o Options) Outcome {
	now := o.Now
	if !now.After(s.Engine.Clock()) {
		now = s.Engine.Clock().Add(time.Microsecond)
	}
	tx := &tenant.Tx{State: s, Op: licensing.Op{Actor: o.Actor, Now: now, Why: "what-if"}}
	out := Outcome{Command: c}
	if err := Run(tx, c); err != nil {
		out.Error = &Error{Code: string(allot.ErrorCode(err)), Message: allot.ErrorMessage(err)}
	}
	return out
}

// Run applies one command (not applyFixes: Expand it first) in a
// transaction, with the domain functions the API's handlers use. Choose
// ids before (Prepare) so that the command is deterministic.
func Run(tx *tenant.Tx, c Command) error {
	e := tx.Engine
	switch c.Op {
	case OpSetGroupLicenses:
		if !e.IsGroup(c.GroupID) {
			return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", c.GroupID)
		}
		add, remove, err := resolve(e.Catalog(), c)
		if err != nil {
			return err
		}
		return e.AssignGroupLicenses(tx.Op, c.GroupID, add, remove)
	case OpSetUserLicenses:
		if _, ok := e.User(c.UserID); !ok {
			return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", c.UserID)
		}
		add, remove, err := resolve(e.Catalog(), c)
		if err != nil {
			return err
		}
		return e.AssignUserLicenses(tx.Op, c.UserID, add, remove)
	case OpChangeUnits:
		return changeUnits(tx, c)
	case OpPutAllotment:
		a := *c.Allotment
		if s, ok := e.Catalog().SKU(a.SKUID); ok {
			a.SKUID = s.ID
		}
		if cur, ok := e.AllotmentByID(a.ID); ok {
			if a.DisplayName == "" {
				a.DisplayName = cur.DisplayName
			}
			if a.SKUID == "" {
				a.SKUID = cur.SKUID
			}
			if a.AssignableTo == "" {
				a.AssignableTo = cur.AssignableTo
			}
			if a.Owners == nil {
				a.Owners = cur.Owners
			}
			a.CreatedAt = cur.CreatedAt
		}
		if a.CreatedAt.IsZero() {
			a.CreatedAt = tx.Op.Now
		}
		return identity.PutAllotment(tx, a)
	case OpSetMembershipRule:
		g, ok := e.Group(c.GroupID)
		if !ok {
			return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", c.GroupID)
		}
		g.MembershipRule = *c.MembershipRule
		if !slices.Contains(g.GroupTypes, "DynamicMembership") {
			g.GroupTypes = append(slices.Clone(g.GroupTypes), "DynamicMembership")
		}
		if g.MembershipRuleProcessingState == "" {
			g.MembershipRuleProcessingState = "On"
		}
		if err := e.ValidateGroup(g); err != nil {
			return err
		}
		return identity.PutGroup(tx, g)
	case OpSetSettings:
		_, err := settings.Apply(tx, *c.Settings)
		return err
	}
	return allot.Errorf(allot.EINVALID, "op %q cannot be run directly.", c.Op)
}

// resolve turns part numbers into skuIds.
func resolve(cat *catalog.Catalog, c Command) ([]licensing.AssignedLicense, []string, error) {
	add := make([]licensing.AssignedLicense, len(c.AddLicenses))
	for i, l := range c.AddLicenses {
		s, ok := cat.SKU(l.SKUID)
		if !ok {
			return nil, nil, allot.Errorf(allot.EINVALID, "License %s does not correspond to a valid company License.", l.SKUID)
		}
		add[i] = licensing.AssignedLicense{SKUID: s.ID, DisabledPlans: l.DisabledPlans}
	}
	remove := make([]string, len(c.RemoveLicenses))
	for i, id := range c.RemoveLicenses {
		s, ok := cat.SKU(id)
		if !ok {
			return nil, nil, allot.Errorf(allot.EINVALID, "License %s does not correspond to a valid company License.", id)
		}
		remove[i] = s.ID
	}
	return add, remove, nil
}

// Prepare chooses the ids the commands will create (subscriptions bought
// by changeUnits), so that running them is deterministic.
func Prepare(cmds []Command, newID func() string) {
	for i := range cmds {
		if cmds[i].Op == OpChangeUnits && cmds[i].By > 0 && cmds[i].SubscriptionID == "" && newID != nil {
			cmds[i].SubscriptionID = newID()
		}
	}
}

// changeUnits changes the quantity of the tenant's newest active
// subscription of the product by c.By (subscription.Put, as the
// partner API's PATCH). A tenant without subscription objects (units set
// directly) has its enabled units changed; one without a subscription of
// the product buys one (By > 0).
func changeUnits(tx *tenant.Tx, c Command) error {
	e := tx.Engine
	sku, ok := e.Catalog().SKU(c.SKU)
	if !ok {
		return allot.Errorf(allot.EINVALID, "%q is not a known product (use a skuPartNumber such as SPE_E3, or a skuId).", c.SKU)
	}
	subs, err := subscription.List(tx.State)
	if err != nil {
		return err
	}
	var last *subscription.Subscription
	for i := range subs {
		if subs[i].SKUID == sku.ID && subs[i].Status == subscription.StatusActive {
			last = &subs[i]
		}
	}
	if last == nil {
		if p, ok := e.Pool(sku.ID); ok && p.Units.Total() > 0 {
			u := p.Units
			u.Enabled += c.By
			if u.Enabled < 0 {
				return allot.Errorf(allot.EINVALID, "%s has %d enabled units: it cannot lose %d.", sku.PartNumber, p.Units.Enabled, -c.By)
			}
			return e.SetUnits(tx.Op, sku.ID, u)
		}
		if c.By < 0 {
			return allot.Errorf(allot.EINVALID, "The tenant has no subscription of %s to reduce.", sku.PartNumber)
		}
		id := c.SubscriptionID
		if id == "" {
			id = "whatif-" + sku.ID
		}
		return subscription.Put(tx, subscription.Subscription{ID: id, OfferID: sku.PartNumber, SKUID: sku.ID, SKUPartNumber: sku.PartNumber,
			FriendlyName: sku.DisplayName, Quantity: c.By, Status: subscription.StatusActive, CreationDate: tx.Op.Now, LastModifiedDate: tx.Op.Now,
			Attributes: subscription.Attributes{ObjectType: "Subscription"}})
	}
	next := *last
	next.Quantity += c.By
	if next.Quantity < 1 || next.Quantity > subscription.MaxQuantity {
		return allot.Errorf(allot.EINVALID, "Subscription %s would have %d units: quantity must be a whole number from 1 to %d.", last.ID, next.Quantity, subscription.MaxQuantity)
	}
	next.LastModifiedDate = tx.Op.Now
	return subscription.Put(tx, next)
}

// Expand turns the position's fixes (of the kinds given, all when none)
// into commands, computed on s: units to buy first, then each user's
// direct licenses to remove (users with nothing to add), then the users
// whose fix adds products (removals and additions in one command, as one
// Graph assignLicense call), each step in the position's order of
// findings.
func Expand(s *tenant.State, kinds []string, o Options) ([]Command, []Skipped, int, error) {
	return expand(s, kinds, o, nil)
}

// expand is Expand with the position of s when the caller has it (nil:
// computed here).
func expand(s *tenant.State, kinds []string, o Options, pos *position.Position) ([]Command, []Skipped, int, error) {
	if pos == nil {
		var err error
		if pos, err = snapshotstore.Position(s, position.Options{AsOf: o.AsOf, WindowDays: o.WindowDays, Now: o.Now}); err != nil {
			return nil, nil, 0, err
		}
	}
	nskipped := 0
	cat := s.Engine.Catalog()
	var buys, removes, swaps []Command
	var skipped []Skipped
	perUser := map[string]*Command{}
	var order []string
	// Findings in the position's order (kinds, then users in directory
	// order), read in place without their evidence: a large position is
	// never copied.
	pos.EachFix(kinds, func(f *position.Finding) bool {
		// skip counts a fix not applied; its reason is written for the
		// first MaxListed only (a large position skips hundreds of
		// thousands).
		skip := func(format string, args ...any) {
			if nskipped++; len(skipped) < MaxListed {
				skipped = append(skipped, Skipped{FindingID: f.ID, Kind: f.Kind, UserID: f.UserID, SKU: f.SKUPartNumber, Reason: fmt.Sprintf(format, args...)})
			}
		}
		if f.Kind == position.SeatsRunningOut {
			if f.Fix.Units > 0 && len(f.Fix.Add) > 0 {
				buys = append(buys, Command{Op: OpChangeUnits, SKU: f.Fix.Add[0], By: f.Fix.Units})
			} else {
				skip("no units to buy")
			}
			return true
		}
		if f.UserID == "" || (len(f.Fix.Add) == 0 && len(f.Fix.Remove) == 0) {
			skip("no license change to apply: %s", f.Fix.Description)
			return true
		}
		var direct []licensing.LicenseSource
		if len(f.Fix.Remove) > 0 {
			direct = s.Engine.DirectLicenses(f.UserID)
		}
		var remove []string
		var add []licensing.AssignedLicense
		for _, part := range f.Fix.Remove {
			sku, found := cat.SKU(part)
			if !found {
				skip("unknown product %s", part)
				return true
			}
			if !slices.ContainsFunc(direct, func(l licensing.LicenseSource) bool { return l.SKUID == sku.ID && l.AllotmentID == "" }) {
				skip("%s is not assigned to the user directly (inherited from a group or drawn from an allotment): change the group or the allotment", sku.PartNumber)
				return true
			}
			remove = append(remove, sku.ID)
		}
		for _, part := range f.Fix.Add {
			sku, found := cat.SKU(part)
			if !found {
				skip("unknown product %s", part)
				return true
			}
			add = append(add, licensing.AssignedLicense{SKUID: sku.ID})
		}
		c := perUser[f.UserID]
		if c == nil {
			c = &Command{Op: OpSetUserLicenses, UserID: f.UserID}
			perUser[f.UserID] = c
			order = append(order, f.UserID)
		}
		for _, id := range remove {
			if !slices.Contains(c.RemoveLicenses, id) {
				c.RemoveLicenses = append(c.RemoveLicenses, id)
			}
		}
		for _, l := range add {
			if !slices.ContainsFunc(c.AddLicenses, func(x licensing.AssignedLicense) bool { return x.SKUID == l.SKUID }) {
				c.AddLicenses = append(c.AddLicenses, l)
			}
		}
		return true
	})
	for _, u := range order {
		c := perUser[u]
		// A product both added and removed (two findings) stays.
		c.RemoveLicenses = slices.DeleteFunc(c.RemoveLicenses, func(id string) bool {
			return slices.ContainsFunc(c.AddLicenses, func(x licensing.AssignedLicense) bool { return x.SKUID == id })
		})
		if len(c.AddLicenses) == 0 {
			removes = append(removes, *c)
		} else {
			swaps = append(swaps, *c)
		}
	}
	out := append(append(buys, removes...), swaps...)
	Prepare(out, o.NewID)
	return out, skipped, nskipped, nil
}

// recState is what the difference compares of a license record.
type recState struct {
	usable, waiting bool
	errs            map[string]string // source ("" direct, or group id) → error
}

func stateOf(l licensing.License, found bool) recState {
	if !found {
		return recState{}
	}
	return stateOfRec(&l)
}

// stateOfRec is stateOf of a record found (read in place).
func stateOfRec(l *licensing.License) recState {
	var r recState
	r.usable, r.waiting = l.Usable(), l.Waiting()
	for _, s := range l.Sources {
		if s.Error != licensing.ErrUnset && s.Error != licensing.ErrNone {
			if r.errs == nil {
				r.errs = map[string]string{}
			}
			r.errs[s.AssignedByGroup] = s.Error.String()
		}
	}
	return r
}

// diff compares the license records the commands changed (keys: user,
// pool key).
func (res *Result) diff(pre before, after *tenant.State, keys []licensing.Key2) {
	res.Gains, res.Losses, res.StartsWaiting, res.Errors = []Change{}, []Change{}, []Change{}, []Change{}
	seen := make(map[licensing.Key2]bool, len(keys))
	pre.changed(keys)
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	cat := after.Engine.Catalog()
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		la, oka := after.Engine.LicenseByKey(k[0], k[1])
		b, a := pre.license(k), stateOf(la, oka)
		sku, allot := la.SKUID, la.AllotmentID
		if !oka {
			// A record that is gone: its key is the pool key, "skuId" or
			// "skuId/allotmentId".
			sku, allot, _ = strings.Cut(k[1], "/")
		}
		ch := Change{UserID: k[0], SKUID: sku, AllotmentID: allot}
		if s, ok := cat.SKU(sku); ok {
			ch.SKUPartNumber = s.PartNumber
		}
		if u, ok := after.Engine.User(k[0]); ok {
			ch.UserPrincipalName = u.UserPrincipalName
		} else if upn, ok := pre.upn(k[0]); ok {
			ch.UserPrincipalName = upn
		}
		add := func(list *[]Change, n *int, c Change) {
			*n++
			if len(*list) < MaxListed {
				*list = append(*list, c)
			}
		}
		switch {
		case a.usable && !b.usable:
			add(&res.Gains, &res.GainsCount, ch)
		case b.usable && !a.usable:
			add(&res.Losses, &res.LossesCount, ch)
		}
		if a.waiting && !b.waiting {
			add(&res.StartsWaiting, &res.StartsCount, ch)
		}
		if b.waiting && !a.waiting {
			res.StopsWaiting++
		}
		groups := make([]string, 0, len(a.errs))
		for g := range a.errs {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		for _, g := range groups {
			if b.errs[g] != a.errs[g] {
				c := ch
				c.AssignedByGroup, c.Error = g, a.errs[g]
				add(&res.Errors, &res.ErrorsCount, c)
			}
		}
		for g, e := range b.errs {
			if a.errs[g] != e {
				res.ErrorsResolved++
			}
		}
	}
}

// side is the seats and cost of every product the tenant has units of or
// seats in.
func side(s *tenant.State, pl *prices.List) Side {
	waiting := map[string]int{}
	for _, a := range s.Engine.Allotments() {
		waiting[a.SKUID] += a.Waiting
	}
	return sideOf(s.Engine.Pools(), waiting, pl)
}

// sideOf is side from the pools and the users waiting in allotments by
// product.
func sideOf(pools []licensing.PoolInfo, waiting map[string]int, pl *prices.List) Side {
	var sd Side
	sd.SKUs = []Seats{}
	var total int64
	priced := pl != nil
	for _, p := range pools {
		st := Seats{SKUID: p.SKU.ID, SKUPartNumber: p.SKU.PartNumber, Owned: p.Units.Total(), Assigned: p.Consumed, Waiting: p.Waiting + waiting[p.SKU.ID]}
		if st.Owned == 0 && st.Assigned == 0 && st.Waiting == 0 {
			continue
		}
		if u, ok := pl.Units(p.SKU.ID); ok {
			c := prices.FromUnits(u * int64(st.Owned))
			st.MonthlyCost = &c
			total += u * int64(st.Owned)
		}
		sd.SKUs = append(sd.SKUs, st)
		sd.Totals.Owned += st.Owned
		sd.Totals.Assigned += st.Assigned
		sd.Totals.Waiting += st.Waiting
	}
	sort.Slice(sd.SKUs, func(i, j int) bool { return sd.SKUs[i].SKUPartNumber < sd.SKUs[j].SKUPartNumber })
	if priced {
		c := prices.FromUnits(total)
		sd.Totals.MonthlyCost = &c
	}
	return sd
}
