// Package position computes a tenant's effective license position: per
// product what it owns, assigns, requires and uses, the findings
// (each with the user, the evidence and the cheapest fix with its monthly
// cost or saving) and, per user, the cheapest cover of what the user
// actually needs. It is pure: it reads a licensing engine, usage aggregates
// and a price list, and returns a Position. Rendering (CSV, HTML) and
// snapshot comparison live here too; computing from a tenant and storing
// snapshots is position/snapshotstore; HTTP and CLI are elsewhere.
//
// # Rules
//
// Requirements. A user's requirements are the features the usage
// aggregates show used on at least one day of the window (WindowDays, 30 by
// default, ending on AsOf), each satisfied by any one of the service plans
// the feature map lists for it, plus the mailbox facts of the latest
// mailbox report dated on or before AsOf (over 50 GiB: Exchange Online
// Plan 2; an archive: exchangeArchive; litigation hold: litigationHold),
// plus the prerequisites of add-ons (a requirement all of whose plans with
// a dependency rule are add-ons also requires one of their prerequisites or
// of its plans without a dependency). Plans that come with almost
// everything (EXCHANGE_S_FOUNDATION and any plan in more than a quarter of
// the catalog's products) are never requirements. Plans that no feature of
// the feature map measures cannot be seen in use: a product none of whose
// enabled plans is measurable is kept as it is (never waste, never
// replaced) — that is the rule for the plans a user must keep. Shared
// mailboxes require only their mailbox facts and, when signed into in the
// window, a license of their own (an Exchange plan); their delegates'
// activity does not count.
//
// Cheapest cover. With a price list, the products a user may be moved to
// are the priced products that apply to users and that the tenant may buy
// (prices.List.MayBuyProduct: sold to its kind — commercial, education,
// government, nonprofit — and in its mayBuy list when it has one). The
// plans of the products the user keeps (unpriced or unmeasurable) satisfy
// requirements for free; requirements no candidate meets are reported
// (Position.Unpriced) and left out. The rest is an exact weighted set cover
// (SolveCover); among covers of the same price the one with the most
// products the user already holds, then the fewest products, wins. Users
// with the same requirements and the same held products share one
// solution. Add-ons bring their base: a requirement met by add-on plans
// requires one of their prerequisites too. Products under a seat limit
// (catalog.SeatLimit, 300 for the Microsoft 365 for business plans) are
// given to the users they save most on, within the limit (caps.go); the
// others get their next best cover.
//
// Counts per product (never dependent on prices). Owned: enabled units.
// Assigned: seats held (general pool and allotments). Free, AllottedUnused,
// InGrace, Suspended: Accounts (owned + in grace + suspended = assigned +
// free + allotted unused). Waiting: users in the waiting rooms. Every
// assigned seat is in one category (SeatUse): used (one of its enabled
// plans meets a requirement of its holder), kept by rule (rooms; products
// no usage can show in use, held by active users; every seat without usage
// data), new (its first WindowDays days), removed by a finding (idle, never
// activated, disabled account, guest, shared mailbox), or unused. Used is
// the used seats. Required = used + kept + new + users waiting for the
// product whose usage needs it + users who hold nothing that meets a need
// (counted for the tenant's product with the fewest plans that meets it);
// so required ≥ used, and a price list changes no count (a product it does
// not price is said so: PriceMissing and a note). Surplus =
// max(owned−required, 0), shortfall = max(required−owned, 0).
//
// Findings, per user: a disabled account (not a shared mailbox) —
// disabledHoldingLicense per seat; a guest — guestLicensed per seat; a
// shared mailbox — sharedMailbox (a license it needs, or its seats when it
// needs none and its mailbox facts are known); a room — nothing but license
// errors; anyone else, when the tenant has usage data: per seat held for
// at least WindowDays, neverActivated (no activity since the grant) or
// idle (no sign-in or feature use in the window; the evidence says 30 or
// 90 days) — a seat's age is its grant date (License.GrantDate: imported
// data's date for a seat held before it came into allot), and a user on
// leave (the tenant's leave attribute) is idle but keeps the seat (no
// removal; counted required); then, for an active user, underLicensed (serviceAccount for
// service accounts) when a requirement is not met — fixed by the cheaper
// of adding products and replacing the priced ones held — or overAssigned
// when the cheapest cover costs less than the priced products held. A seat
// is removed by one finding at most. licenseErrors: each group source in
// Error (a user waiting in an allotment while the tenant has free units
// outside allotments: raise the allotment, no cost). seatsRunningOut: per
// product, see runningOut. A seat is removed by one finding at most, each
// finding's money is summed once (a waiting user's unit is the license
// error's, not also an underLicensed finding's), and the totals are the
// sums of the rows and findings (the property test in identity_test.go).
//
// Every finding says what it rests on (Basis) and the days its evidence
// covers (EvidenceFrom, EvidenceTo): see Finding.
//
// The license state is the engine's current state; AsOf sets the usage
// window, the activation and idle thresholds and the trend. Requirements
// from a DaySet are exact while AsOf is within 38 days of the last use
// recorded (usage.DaySet).
//
// Evidence of a feature used names where usage saw it (usage.Evidence): a
// usage report when any report showed it (Source "report", and Sources
// lists the report types and "event" if events showed it too), else
// feature events. Aggregates that do not say are credited as before the
// source was kept: features usage reports feed to a report when the tenant
// imported any, the rest to events.
//
// Cost: users are split between goroutines from parallelFrom users on,
// each taking chunks of chunkUsers contiguous users in turn (an atomic
// counter: a slowed worker takes fewer) and walking them in place
// (Engine.ForEachUserLicensesIn: no copies), reading each user's usage
// without allocating (usage.Aggregates.View); the per-user work is one map
// lookup in the usage aggregates plus a few microseconds. Findings go back
// in user order by chunk (findings.segs), so the result is the serial one.
// Covers are memoised per worker; the solutions of the rest problems
// (small ones by dynamic programming, smallCover) and the overAssigned
// fixes that depend on products only are shared by the workers, in
// sharded maps (a worker waiting on a lock costs far more than the lookup).
// Findings are kept compact (findings.go: 32 bytes a finding, 16 a piece
// of evidence, ids instead of strings) and materialised when written; the
// memos are dropped when Compute returns.
package position

import (
	"time"

	"allot/licensing"
	"allot/prices"
	"allot/usage"
)

// Finding kinds.
const (
	UnderLicensed          = "underLicensed"
	OverAssigned           = "overAssigned"
	Idle                   = "idle"
	NeverActivated         = "neverActivated"
	DisabledHoldingLicense = "disabledHoldingLicense"
	SharedMailbox          = "sharedMailbox"
	ServiceAccount         = "serviceAccount"
	GuestLicensed          = "guestLicensed"
	LicenseErrors          = "licenseErrors"
	SeatsRunningOut        = "seatsRunningOut"
	// SubscriptionLapsing: seats held in units of an expired, suspended or
	// disabled subscription ("What if my subscription expires?").
	SubscriptionLapsing = "subscriptionLapsing"
)

// KindTitle names a finding kind for people ("Idle for 30 days or more");
// the kind itself (an identifier) for an unknown one.
func KindTitle(kind string) string {
	if t, ok := kindTitles[kind]; ok {
		return t
	}
	return kind
}

var kindTitles = map[string]string{
	UnderLicensed:          "Uses what their licenses do not include",
	OverAssigned:           "Holds more than they use",
	Idle:                   "Idle for 30 days or more",
	NeverActivated:         "Never used since granted",
	DisabledHoldingLicense: "Disabled account holding a license",
	SharedMailbox:          "Shared mailbox license",
	ServiceAccount:         "Service account license",
	GuestLicensed:          "Guest holding a license",
	LicenseErrors:          "License error",
	SeatsRunningOut:        "Seats running out",
	SubscriptionLapsing:    "Subscription lapsing",
}

// Kinds lists the finding kinds in report order.
var Kinds = []string{UnderLicensed, OverAssigned, Idle, NeverActivated, DisabledHoldingLicense,
	SharedMailbox, ServiceAccount, GuestLicensed, LicenseErrors, SeatsRunningOut, SubscriptionLapsing}

// Evidence sources.
const (
	SourceReport  = "report"        // a Microsoft 365 usage report
	SourceEvent   = "event"         // a feature-usage event
	SourceSignIn  = "signIn"        // sign-ins
	SourceMailbox = "mailboxReport" // getMailboxUsageDetail facts
	SourceLicense = "license"       // the engine's license state
	SourceTrend   = "trend"         // snapshots or grant dates
	// SourceDirectory: a user attribute (the tenant's leave attribute).
	SourceDirectory = "directory"
)

// What findings rest on (Finding.Basis).
const (
	BasisUsage   = "usage"           // sign-ins, usage reports and feature events in the window
	BasisGrant   = "usageSinceGrant" // no use from the seat's grant date to asOf
	BasisLicense = "licenseState"    // the directory and license state as of the position
	BasisTrend   = "seatTrend"       // seats granted over the trend window
)

// Defaults.
const (
	DefaultWindowDays = 30
	IdleLongDays      = 90
	// LargeMailboxBytes is the size above which a shared mailbox needs
	// Exchange Online Plan 2 (50 GB, as Exchange quotas count: GiB).
	LargeMailboxBytes = 50 << 30
	// RunOutDays is the horizon of seatsRunningOut.
	RunOutDays = 30
)

// Usage is what the position reads of the usage aggregates
// (*usage.Aggregates).
type Usage interface {
	User(userID string) (usage.UserUsage, bool)
	Users() int
	Reports() []usage.ImportedReport
}

// Input is what a position is computed from. Engine is required; the rest
// is optional.
type Input struct {
	Engine *licensing.Engine
	Usage  Usage        // nil or empty: no usage data (counts only, no usage findings)
	Prices *prices.List // nil or empty: counts only
	AsOf   usage.Day    // the last day of the window
	// WindowDays is the usage window (DefaultWindowDays when 0).
	WindowDays int
	// History is the assigned seats per product on earlier days (from
	// snapshots), oldest first; used for the seat trend.
	History []HistoryPoint
	// Scope restricts the position to a delegated allotment owner's users
	// and allotments; nil for the whole tenant.
	Scope *Scope
	// Progress, if set, is called with the users done so far and the total.
	Progress func(done, total int)
	// Now stamps the result (GeneratedAt).
	Now time.Time
}

// HistoryPoint is the seats assigned per product (by skuId) on a day.
type HistoryPoint struct {
	Day      usage.Day
	Assigned map[string]int
}

// Scope is a delegated allotment owner's view: their allotments and the
// users assigned through them. Of those users the position sees only the
// license records License accepts (the owner's allotments' seats), and it
// reports only the products SKU accepts (rows and findings): nothing of
// the tenant's other licenses shows.
type Scope struct {
	Allotments []licensing.AllotmentInfo
	User       func(userID string) bool
	// License reports whether a license record drawing from the allotment
	// ("" for the general pool) is in the view; nil: all.
	License func(allotmentID string) bool
	// SKU reports whether a product is in the view; nil: all.
	SKU func(skuID string) bool
}

// license and sku apply the scope's filters (a nil scope sees everything).
func (s *Scope) license(allotmentID string) bool {
	return s == nil || s.License == nil || s.License(allotmentID)
}

func (s *Scope) sku(skuID string) bool { return s == nil || s.SKU == nil || s.SKU(skuID) }

// Position is a tenant's license position as of a day.
type Position struct {
	AsOf        string    `json:"asOf"`
	GeneratedAt time.Time `json:"generatedDateTime"`
	WindowDays  int       `json:"windowDays"`
	// Currency is null when the tenant has no price list.
	Currency *string `json:"currency"`
	Scoped   bool    `json:"scopedToAllotments,omitempty"`
	SKUs     []SKU   `json:"skus"`
	// Findings is filled when a position is decoded from JSON. A computed
	// position keeps its findings compact: read them with EachFinding,
	// AllFindings or FindingCount, write them with WriteJSON.
	Findings []Finding `json:"findings"`
	Totals   Totals    `json:"totals"`
	// Unpriced lists requirements no priced product meets (left out of the
	// cheapest covers).
	Unpriced []UnpricedRequirement `json:"unpricedRequirements"`
	Notes    []string              `json:"notes"`

	compact *findings
}

// SKU is one product's position.
type SKU struct {
	SKUID         string `json:"skuId"`
	SKUPartNumber string `json:"skuPartNumber"`
	DisplayName   string `json:"displayName"`
	Owned         int    `json:"owned"`
	Assigned      int    `json:"assigned"`
	Required      int    `json:"required"`
	Used          int    `json:"used"`
	Waiting       int    `json:"waiting"`
	Surplus       int    `json:"surplus"`
	Shortfall     int    `json:"shortfall"`
	// CapabilityStatus is the subscription's (subscribedSku) status;
	// InGrace counts seats held in units of an expired subscription (users
	// keep the service until it is disabled), Suspended seats held in
	// suspended or locked-out units (service off, assignments kept).
	CapabilityStatus string `json:"capabilityStatus,omitempty"`
	InGrace          int    `json:"inGrace"`
	Suspended        int    `json:"suspended"`
	// Free: enabled units outside allotments that no one holds;
	// AllottedUnused: allotted units no one holds. Owned + InGrace +
	// Suspended = Assigned + Free + AllottedUnused (Accounts).
	Free           int `json:"free"`
	AllottedUnused int `json:"allottedUnused"`
	// Seats says what each assigned seat is (they sum to Assigned).
	Seats SeatUse `json:"seats"`
	// Required = Seats.Used + Seats.KeptByRule + Seats.New +
	// RequiredWaiting (users waiting for the product whose usage needs it)
	// + RequiredUnheld (users who hold nothing that meets a need, counted
	// for the product of the tenant with the fewest plans that does).
	RequiredWaiting int `json:"requiredWaiting"`
	RequiredUnheld  int `json:"requiredUnheld"`
	// DisplayName is the product's name; PriceMissing: the tenant has a
	// price list that does not price it (its costs are null, its counts
	// are the same).
	PriceMissing bool     `json:"priceMissing,omitempty"`
	UnitPrice    *float64 `json:"monthlyUnitPrice"`
	// MonthlyCost is what the owned units cost a month; null without a price.
	MonthlyCost *float64 `json:"monthlyCost"`
	Costs       *Costs   `json:"costs,omitempty"`
	// Measurable is false for products no usage can show in use (kept).
	Measurable bool `json:"measurable"`
}

// SeatUse is a product's assigned seats by what they are: used (one of its
// plans used by its holder in the window), kept by rule (rooms, products no
// usage can show in use held by active users, every seat without usage
// data), new (in its first WindowDays days), removed by a finding (idle,
// never activated, a disabled account's, a guest's, a shared mailbox's),
// or unused (an active user's seat none of whose plans they used, or a
// second seat of a product). Used, KeptByRule and New are required.
type SeatUse struct {
	Used           int `json:"used"`
	KeptByRule     int `json:"keptByRule"`
	New            int `json:"new"`
	Idle           int `json:"idle"`
	NeverActivated int `json:"neverActivated"`
	Disabled       int `json:"disabledAccount"`
	Guest          int `json:"guest"`
	SharedMailbox  int `json:"sharedMailbox"`
	Unused         int `json:"unused"`
}

// Total is the seats counted.
func (s SeatUse) Total() int {
	return s.Used + s.KeptByRule + s.New + s.Idle + s.NeverActivated + s.Disabled + s.Guest + s.SharedMailbox + s.Unused
}

func seatUseOf(c [nCats]int) SeatUse {
	return SeatUse{Used: c[catUsed], KeptByRule: c[catKept], New: c[catNew], Idle: c[catIdle], NeverActivated: c[catNever],
		Disabled: c[catDisabled], Guest: c[catGuest], SharedMailbox: c[catShared], Unused: c[catUnused]}
}

// Accounts are a product's units and seats as one identity: Owned +
// InGrace + Suspended = Assigned + Free + AllottedUnused. Owned is the
// enabled units. Allotments are carved from the best units (enabled, then
// in grace, then suspended or locked out) and their holders sit in the best
// of them; the general pool's holders in the best of the rest. Free is the
// enabled units outside allotments no one holds, AllottedUnused the enabled
// units of allotments no one holds; InGrace and Suspended are the seats
// held in units of a lapsing subscription (warning; suspended or locked
// out).
type Accounts struct {
	Owned, Assigned, Free, AllottedUnused, InGrace, Suspended int
}

// AccountsOf returns a pool's accounts; allotConsumed is the seats held in
// its allotments. The position's rows, the dashboard and the products page
// show these.
func AccountsOf(p licensing.PoolInfo, allotConsumed int) Accounts {
	e, w := p.Units.Enabled, p.Units.Warning
	ae := min(p.Allotted, e)
	aw := min(p.Allotted-ae, w)
	ce := min(allotConsumed, ae)
	cw := min(allotConsumed-ce, aw)
	cs := allotConsumed - ce - cw
	eg, wg := e-ae, w-aw
	held := p.Consumed - allotConsumed
	ge := min(held, eg)
	gw := min(held-ge, wg)
	gs := held - ge - gw
	return Accounts{Owned: e, Assigned: p.Consumed, Free: eg - ge, AllottedUnused: ae - ce, InGrace: cw + gw, Suspended: cs + gs}
}

// Costs are a product's figures priced monthly.
type Costs struct {
	Owned     float64 `json:"owned"`
	Assigned  float64 `json:"assigned"`
	Required  float64 `json:"required"`
	Used      float64 `json:"used"`
	Surplus   float64 `json:"surplus"`
	Shortfall float64 `json:"shortfall"`
}

// Finding is one issue of the position.
type Finding struct {
	// ID is stable across runs for the same kind, user and product (and
	// group, for licenseErrors).
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Title is the kind in words (KindTitle).
	Title             string `json:"title"`
	UserID            string `json:"userId,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	SKUID             string `json:"skuId,omitempty"`
	SKUPartNumber     string `json:"skuPartNumber,omitempty"`
	// SKUDisplayName is the product's name.
	SKUDisplayName string `json:"skuDisplayName,omitempty"`
	GroupID        string `json:"groupId,omitempty"`
	// Basis is what the finding rests on (BasisUsage, BasisGrant,
	// BasisLicense, BasisTrend); EvidenceFrom and EvidenceTo (YYYY-MM-DD)
	// the days its evidence covers: the usage window (the long idle window
	// for a user idle that long), the grant date to asOf, the trend's
	// days, or asOf alone for the license state.
	Basis        string     `json:"basis"`
	EvidenceFrom string     `json:"evidenceFrom"`
	EvidenceTo   string     `json:"evidenceTo"`
	Evidence     []Evidence `json:"evidence"`
	Fix          Fix        `json:"fix"`
	// OnLeave: the user is on leave (the tenant's leave attribute): an idle
	// seat is kept, not a removal candidate.
	OnLeave bool `json:"onLeave,omitempty"`
}

// Evidence is one fact behind a finding.
type Evidence struct {
	Source       string     `json:"source"`
	Feature      string     `json:"feature,omitempty"`
	ServicePlans []string   `json:"servicePlans,omitempty"` // names
	Last         *time.Time `json:"lastDateTime,omitempty"`
	ActiveDays   int        `json:"activeDays,omitempty"` // in the window
	Detail       string     `json:"detail,omitempty"`
	// Sources are, for a feature used, every source that showed the use
	// (usage reports by type, feature events); Source is the first (a
	// report when any showed it). Empty when usage did not record them.
	Sources []usage.EvidenceSource `json:"sources,omitempty"`
}

// Fix is the cheapest way to resolve a finding.
type Fix struct {
	Description string `json:"description"`
	// MonthlyDelta is the change in monthly cost (< 0 saves); null when the
	// products involved are not priced.
	MonthlyDelta *float64 `json:"monthlyDelta"`
	Add          []string `json:"add,omitempty"`    // part numbers to assign or buy
	Remove       []string `json:"remove,omitempty"` // part numbers to remove
	Units        int      `json:"units,omitempty"`  // units to buy (seatsRunningOut)
}

// Totals sum the position.
type Totals struct {
	Owned    int `json:"owned"`
	Assigned int `json:"assigned"`
	Required int `json:"required"`
	Used     int `json:"used"`
	Waiting  int `json:"waiting"`
	// Monthly costs (null without a price list).
	MonthlyCost     *float64           `json:"monthlyCost"`
	AssignedCost    *float64           `json:"assignedCost"`
	RequiredCost    *float64           `json:"requiredCost"`
	SurplusCost     *float64           `json:"surplusCost"`
	MonthlySavings  *float64           `json:"monthlySavings"`        // sum of the findings' savings
	AdditionalCost  *float64           `json:"monthlyAdditionalCost"` // sum of the findings' costs
	Users           int                `json:"users"`
	LicensedUsers   int                `json:"licensedUsers"`
	ActiveUsers     int                `json:"activeUsers"` // any activity in the window
	Findings        int                `json:"findings"`
	FindingsByKind  map[string]int     `json:"findingsByKind"`
	SavingsByKind   map[string]float64 `json:"savingsByKind,omitempty"`
	UnderLicensedBy []FeatureCount     `json:"underLicensedFeatures"`
	CoverProblems   int                `json:"distinctCoverProblems"`
}

// FeatureCount is how many users use a feature their plans do not grant
// (a capability used across the tenant without the add-on).
type FeatureCount struct {
	Feature      string   `json:"feature"`
	ServicePlans []string `json:"servicePlans"`
	Users        int      `json:"users"`
}

// UnpricedRequirement is a requirement no priced product meets.
type UnpricedRequirement struct {
	Requirement  string   `json:"requirement"`
	ServicePlans []string `json:"servicePlans"`
	Users        int      `json:"users"`
}
