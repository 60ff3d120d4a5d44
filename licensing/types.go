// Package licensing is the licensing engine of allot: given a tenant's users,
// groups, memberships, license sources and subscriptions, it maintains for
// every (user, SKU) the license state of Entra's group-based licensing (its
// documented behaviour is docs/ARCHITECTURE.md's) — one seat per user per SKU,
// the union of enabled plans, a state and error per source, and a waiting room
// per SKU that admits users oldest first when seats free up.
//
// The package is pure: no I/O and no clock. Time comes with each command
// (Op.Now). An Engine is owned by one writer (the tenant runtime) and is not
// safe for concurrent use. Every command either applies completely or
// returns an *allot.Error and changes nothing. What a command changed is
// collected and handed out by TakeDelta so that the runtime can persist it.
// Commands can be undone in place, given an engine that did not run them
// (a what-if without a copy: PeekDelta, an Applier, Rewind, DiffChanged;
// see rewind.go).
package licensing

import (
	"fmt"
	"strings"
	"time"

	"allot/userprop"
)

// Group assignment modes.
const (
	ModePerProduct = "perProduct" // default: each product of a group stands alone
	ModeAllOrNone  = "allOrNone"  // Entra's behaviour: one product in error fails the group's others
)

// User kinds.
const (
	KindPerson         = "person"
	KindSharedMailbox  = "sharedMailbox"
	KindServiceAccount = "serviceAccount"
	KindRoom           = "room"
)

// Settings are the tenant settings the engine obeys.
type Settings struct {
	// DefaultUsageLocation is used for group assignments to users without a
	// usage location of their own (ISO 3166 alpha-2).
	DefaultUsageLocation string `json:"defaultUsageLocation"`
	// ExcludeGuests keeps guests (userType Guest) out of group licensing.
	ExcludeGuests bool `json:"excludeGuestsFromGroupLicensing"`
	// NestedGroups lets members of member groups inherit a group's licenses.
	// Off by default, as in Entra.
	NestedGroups bool `json:"nestedGroupLicensing"`
	// LeaveAttribute names the user attribute that marks a user on leave
	// (an onPremises extension attribute, e.g. extensionAttribute5; ""
	// none): a user whose attribute has a value other than "", "false",
	// "no" or "0" is on leave (OnLeave). The license position reports such
	// a user's unused seats as idle but keeps them (no removal). Licensing
	// itself ignores it.
	LeaveAttribute string `json:"leaveAttribute,omitempty"`
}

// OnLeave reports whether an attribute value marks a user on leave (see
// Settings.LeaveAttribute).
func OnLeave(value string) bool {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "", "false", "no", "0":
		return false
	}
	return true
}

// User is a directory user as the engine and the rules see it. It is
// defined with the registry of its properties (package userprop), which the
// rules and every surface read.
type User = userprop.User

// Group is a directory group.
type Group struct {
	ID              string   `json:"id"`
	DisplayName     string   `json:"displayName"`
	Description     string   `json:"description,omitempty"`
	MailNickname    string   `json:"mailNickname,omitempty"`
	MailEnabled     bool     `json:"mailEnabled"`
	SecurityEnabled bool     `json:"securityEnabled"`
	GroupTypes      []string `json:"groupTypes,omitempty"`
	// MembershipRule makes the group dynamic (with GroupTypes
	// "DynamicMembership").
	MembershipRule string `json:"membershipRule,omitempty"`
	// MembershipRuleProcessingState is "On" or "Paused".
	MembershipRuleProcessingState string    `json:"membershipRuleProcessingState,omitempty"`
	AssignmentMode                string    `json:"assignmentMode,omitempty"` // perProduct (default) | allOrNone
	CreatedAt                     time.Time `json:"createdDateTime"`
}

// IsDynamic reports whether the group's membership follows a rule.
func (g *Group) IsDynamic() bool {
	for _, t := range g.GroupTypes {
		if strings.EqualFold(t, "DynamicMembership") {
			return true
		}
	}
	return false
}

// AssignedLicense is a license to add: a SKU with plans switched off.
type AssignedLicense struct {
	SKUID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// LicenseSource is a license given to a user directly or to a group,
// outside allotments or through one.
type LicenseSource struct {
	SKUID         string    `json:"skuId"`
	AllotmentID   string    `json:"allotmentId,omitempty"`
	DisabledPlans []string  `json:"disabledPlans"` // servicePlanIds, sorted
	AssignedAt    time.Time `json:"assignedDateTime"`
}

// Units are a SKU's prepaid units (subscribedSku.prepaidUnits) and status.
type Units struct {
	Enabled   int    `json:"enabled"`
	Warning   int    `json:"warning"`
	Suspended int    `json:"suspended"`
	LockedOut int    `json:"lockedOut"`
	Status    string `json:"capabilityStatus"` // Enabled | Warning | Suspended | LockedOut | Deleted
}

// Total is every unit the tenant still has, in any state of the
// subscription lifecycle: seats in these units stay assigned (Microsoft
// keeps licenses assigned while a subscription is expired, suspended or
// locked out, "What if my subscription expires?").
func (u Units) Total() int { return u.Enabled + u.Warning + u.Suspended + u.LockedOut }

// Assignable is the units new assignments may use: enabled units and units
// in their grace period (assignedPlan capabilityStatus "Warning": available
// for normal use and assignment). Suspended and locked-out units cannot be
// assigned.
func (u Units) Assignable() int { return u.Enabled + u.Warning }

// StatusOf is the capabilityStatus of a SKU with these units: the state of
// its best units (Enabled, then Warning, Suspended, LockedOut), Deleted when
// none are left.
func StatusOf(u Units) string {
	switch {
	case u.Enabled > 0:
		return "Enabled"
	case u.Warning > 0:
		return "Warning"
	case u.Suspended > 0:
		return "Suspended"
	case u.LockedOut > 0:
		return "LockedOut"
	}
	return "Deleted"
}

// SourceState is one entry of user.licenseAssignmentStates. The
// allotment a source draws from is its license record's
// (License.AllotmentID): a record holds the sources of one pool, so a
// state does not repeat it (16 bytes of each of a million users' ~3
// million states).
type SourceState struct {
	AssignedByGroup string          `json:"assignedByGroup,omitempty"` // "" = direct
	DisabledPlans   []string        `json:"disabledPlans"`
	State           SourceStatus    `json:"state"`
	Error           SourceErrorCode `json:"error"`
	LastUpdated     Instant         `json:"lastUpdatedDateTime"`
	// AssignedAt is when the source (direct license or group license) was
	// created; it orders the waiting room for bulk loads.
	AssignedAt Instant `json:"assignedDateTime"`
	// AppliesSince is when the source began to apply to this user (the
	// command that gave it: a membership, a group license, a direct
	// assignment). It decides which of two mutually exclusive sources
	// stays: the one the user had first (see Precedence). Zero in records
	// written before it existed: AssignedAt stands in.
	AppliesSince Instant `json:"appliesDateTime,omitzero"`
	// KeptState is set only on a source that is gone but kept (see
	// KeptState); nil on every other source, so that the ~2.5 source states
	// per user carry one pointer instead of the rare reason and list. Its
	// fields marshal as fields of SourceState ("kept", "replacedBy"). Read
	// them with KeptReason and KeptReplacedBy (a promoted field read
	// through the nil pointer panics); set them with SetKept.
	*KeptState
}

// KeptState is why a source that is gone (the user left the group, the
// group dropped the product) is kept: its removal waits. Never modified in
// place (copies of a SourceState share it).
type KeptState struct {
	// Kept is KeptForDependency while another license of the user needs a
	// plan only the source enables, KeptForReplacement while the product
	// that replaced it in the same group waits for a seat. A kept source
	// stays ActiveWithError.
	Kept string `json:"kept,omitempty"`
	// ReplacedBy lists the pool keys of the products that replaced a
	// source kept for replacement.
	ReplacedBy []string `json:"replacedBy,omitempty"`
}

// KeptReason is why the source is kept (KeptForDependency,
// KeptForReplacement), "" for a source that is not kept.
func (s *SourceState) KeptReason() string {
	if s.KeptState == nil {
		return ""
	}
	return s.KeptState.Kept
}

// KeptReplacedBy is the pool keys of the products that replaced a source
// kept for replacement.
func (s *SourceState) KeptReplacedBy() []string {
	if s.KeptState == nil {
		return nil
	}
	return s.KeptState.ReplacedBy
}

// SetKept records why the source is kept ("" and nil: not kept).
func (s *SourceState) SetKept(reason string, replacedBy []string) {
	if reason == "" && len(replacedBy) == 0 {
		s.KeptState = nil
		return
	}
	s.KeptState = &KeptState{Kept: reason, ReplacedBy: replacedBy}
}

// Instant is a time to the nanosecond in 8 bytes instead of time.Time's
// 24 (every source state carries one). It reads back in UTC, which is
// what the engine writes (see Engine.tick); the zero Instant is the zero
// time. It marshals exactly as time.Time does, and omitzero omits the
// zero Instant. It holds the times time.Time.UnixNano can (years 1678 to
// 2262).
type Instant uint64

// instantBias maps UnixNano's range onto uint64 with 0 left for the zero
// time (UnixNano math.MinInt64, 1677-09-21T00:12:43.145224192Z, is not
// representable).
const instantBias = 1 << 63

// InstantOf is t as an Instant.
func InstantOf(t time.Time) Instant {
	if t.IsZero() {
		return 0
	}
	return Instant(uint64(t.UnixNano()) ^ instantBias)
}

// Time is the instant as a time.Time in UTC (the zero time for 0).
func (i Instant) Time() time.Time {
	if i == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(uint64(i)^instantBias)).UTC()
}

// InstantIn is t as an Instant, and whether an Instant holds it (the
// zero time, or a time in the years 1678 to 2262): where a time comes
// from outside (a file, a request), a false is the caller's clear error.
func InstantIn(t time.Time) (Instant, bool) {
	i := InstantOf(t)
	return i, t.IsZero() || i.Time().Equal(t)
}

// IsZero reports whether the instant is the zero time.
func (i Instant) IsZero() bool { return i == 0 }

// Before reports whether i is before j (the zero Instant is before all).
func (i Instant) Before(j Instant) bool { return i < j }

// After reports whether i is after j.
func (i Instant) After(j Instant) bool { return i > j }

// Equal reports whether i and j are the same instant.
func (i Instant) Equal(j Instant) bool { return i == j }

// Format is the instant formatted as time.Time.Format does, in UTC.
func (i Instant) Format(layout string) string { return i.Time().Format(layout) }

// String is the instant as time.Time.String writes it, in UTC.
func (i Instant) String() string { return i.Time().String() }

// MarshalJSON writes the instant as time.Time does (RFC 3339).
func (i Instant) MarshalJSON() ([]byte, error) { return i.Time().MarshalJSON() }

// UnmarshalJSON reads an RFC 3339 time as time.Time does; a time outside
// the years an Instant holds is an error.
func (i *Instant) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	n := InstantOf(t)
	if !t.IsZero() && !n.Time().Equal(t) {
		return fmt.Errorf("time %s is outside the years 1678 to 2262", t.Format(time.RFC3339Nano))
	}
	*i = n
	return nil
}

// Reasons a source that is gone is kept (SourceState.KeptReason).
const (
	KeptForDependency  = "dependency"
	KeptForReplacement = "replacement"
)

// Precedence is the time that orders the source against the user's other
// sources for mutual exclusion: AppliesSince, or AssignedAt for records
// written before AppliesSince existed.
func (s *SourceState) Precedence() time.Time {
	if !s.AppliesSince.IsZero() {
		return s.AppliesSince.Time()
	}
	return s.AssignedAt.Time()
}

// Usable reports whether a source's plans are enabled (Active, or
// ActiveWithError for a kept source).
func (s *SourceState) Usable() bool {
	return s.State == StateActive || s.State == StateActiveWithError
}

// License is the state of one (user, SKU): the persisted seat claim plus the
// derived per-source states. It is also the record the runtime stores.
type License struct {
	UserID string `json:"userId"`
	SKUID  string `json:"skuId"`
	// AllotmentID is set when the seat is a unit of an allotment: a user
	// has one record per SKU outside allotments and one per allotment.
	AllotmentID string `json:"allotmentId,omitempty"`
	LicenseState
}

// LicenseState is a license record without the ids that name it: the
// claim, the seat and the sources' states. The engine's records keep only
// this (their ids are their user's and their pool's: 48 bytes less in
// each of a million users' ~3 million records); a License adds the ids.
// Its fields marshal as the License's own.
type LicenseState struct {
	// Claimed: the user wants a seat (has an eligible source). Since is when
	// the claim began; claims are served oldest first.
	Claimed bool `json:"claimed"`
	// Held: the user holds a seat since HeldSince. (Held sits next to
	// Claimed, so that the two share one word.)
	Held      bool    `json:"held"`
	Since     Instant `json:"since"`
	HeldSince Instant `json:"heldSince"`
	// GrantedAt is when imported data (a bundle's assignedAt, Graph's
	// assignedPlans[].assignedDateTime or lastUpdatedDateTime, a usage
	// report's License Assign Date) says the user was granted this seat,
	// when that is before HeldSince: the seat came into allot (an import)
	// long after the user got it. Zero otherwise; cleared whenever the
	// seat is released. It is only a date: Since still orders the waiting
	// room and HeldSince still identifies the grant (activations). Read
	// with GrantDate.
	GrantedAt Instant       `json:"grantedDateTime,omitzero"`
	Sources   []SourceState `json:"sources"` // direct first, then by group id
	// KeptSources lists the sources that are gone but kept
	// (SourceState.KeptReason); they are part of Sources too, with their
	// state. nil on almost every record (one pointer instead of a slice);
	// marshals as "keptSources". Read with Retained, set with SetRetained.
	*KeptSources
}

// KeptSources is the kept sources of a license record. Never modified in
// place (copies of a License share it).
type KeptSources struct {
	Kept []SourceState `json:"keptSources,omitempty"`
}

// Retained is the record's kept sources (nil when none).
func (l *LicenseState) Retained() []SourceState {
	if l.KeptSources == nil {
		return nil
	}
	return l.KeptSources.Kept
}

// SetRetained replaces the record's kept sources.
func (l *LicenseState) SetRetained(kept []SourceState) {
	if len(kept) == 0 {
		l.KeptSources = nil
		return
	}
	l.KeptSources = &KeptSources{Kept: kept}
}

// GrantDate is when the user was granted the held seat: GrantedAt when
// imported data dates the grant before HeldSince, else HeldSince. Zero
// without a seat.
func (l *LicenseState) GrantDate() time.Time {
	if !l.Held {
		return time.Time{}
	}
	if !l.GrantedAt.IsZero() && l.GrantedAt.Before(l.HeldSince) {
		return l.GrantedAt.Time()
	}
	return l.HeldSince.Time()
}

// Waiting reports whether the user waits for a seat.
func (l *LicenseState) Waiting() bool { return l.Claimed && !l.Held }

// Usable reports whether the user holds a seat that enables plans: a seat
// and at least one usable source. This is what Graph lists in
// assignedLicenses.
func (l *LicenseState) Usable() bool {
	if !l.Held {
		return false
	}
	for i := range l.Sources {
		if l.Sources[i].Usable() {
			return true
		}
	}
	return false
}

// Op is the context of one command: who asks and when.
type Op struct {
	Actor string    // display name of the principal, for the audit log
	Now   time.Time // the time of the command
	// Why optionally explains the command in the audit log.
	Why string
}
