// Package reclamation is license reclamation campaigns: from the license
// position's findings (idle seats, seats never used, over-assigned users,
// disabled accounts holding seats) an administrator builds a campaign (a
// preview of who is in it and the monthly saving), optionally has a second
// administrator approve it, and starts it. allot mails each user a notice
// (and, optionally, their manager) with a signed link; a user who opens it
// and confirms keeps the license; after the grace period allot removes the
// others' licenses, or replaces them with a cheaper product, through the
// same engine commands the APIs use. Every step is audited, and a
// completed campaign can be restored: each license it removed comes back
// as it was (product, disabled plans, allotment).
//
// Campaigns and their members are tenant objects (KindCampaign,
// KindMember) changed by commands; Service advances running campaigns at
// their times (notices, the end of the grace period) and survives restarts
// because everything it needs is in those objects; notices go through the
// alert package's durable job queue (alert.Service.QueueMail). See
// docs/RECLAMATION.md.
package reclamation

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/licensing"
	"allot/objcheck"
	"allot/position"
	"allot/store"
	"allot/tenant"
)

// Kinds of the tenant objects of this package.
const (
	KindCampaign store.Kind = "reclamationCampaign"
	// KindMember: one per (campaign, user, product), id
	// "<campaign>/<user>/<skuId>".
	KindMember store.Kind = "reclamationMember"
)

// Status is a campaign's state.
type Status string

// A campaign is created as a draft; Start makes it running (or, when it
// requires approval not yet given, awaiting approval, which Approve turns
// into running); the service completes it after the grace period; Restore
// turns a completed campaign into restored. A draft, awaiting or running
// campaign can be cancelled: nothing more happens, links stop working.
const (
	Draft            Status = "draft"
	AwaitingApproval Status = "awaitingApproval"
	Running          Status = "running"
	Completed        Status = "completed"
	Cancelled        Status = "cancelled"
	Restored         Status = "restored"
)

// Actions a campaign takes on the licenses of users who do not keep them.
const (
	Remove    = "remove"    // remove the license
	Downgrade = "downgrade" // replace it with the product DowngradeTo
)

// Kinds are the finding kinds a campaign may take its members from
// (position's kinds whose fix is taking a seat back).
var Kinds = []string{position.Idle, position.NeverActivated, position.DisabledHoldingLicense, position.OverAssigned}

// DefaultKinds are the kinds of a campaign that names none.
var DefaultKinds = []string{position.Idle, position.NeverActivated, position.DisabledHoldingLicense}

// Limits.
const (
	MaxName           = objcheck.MaxName
	MaxMessage        = 2000
	MaxGraceDays      = 90
	DefaultGraceDays  = 14
	MaxCampaigns      = 200
	MaxMembers        = 50_000
	DefaultManagerKey = "manager"
	// DefaultReminderDays is the reminder's lead of a campaign that names
	// none (and whose grace period is longer).
	DefaultReminderDays = 3
)

// Spec is what an administrator asks for: which findings, what to do and
// how long users have.
type Spec struct {
	// ID is the campaign's id (generated when empty).
	ID          string `json:"id,omitempty"`
	DisplayName string `json:"displayName"`
	// Kinds are finding kinds (Kinds; DefaultKinds when empty).
	Kinds []string `json:"kinds,omitempty"`
	// SKUs restricts the campaign to these products (skuIds or part
	// numbers); empty: every product.
	SKUs []string `json:"skus,omitempty"`
	// GroupID restricts it to the members of the group, direct or nested.
	GroupID string `json:"groupId,omitempty"`
	// Action is Remove (default) or Downgrade.
	Action string `json:"action,omitempty"`
	// DowngradeTo is the product (skuId or part number) a downgrade
	// assigns instead; required with Downgrade, not allowed otherwise.
	DowngradeTo string `json:"downgradeTo,omitempty"`
	// GraceDays is how long users have to keep their license after the
	// notices go out (1 to 90; DefaultGraceDays when 0).
	GraceDays int `json:"graceDays,omitempty"`
	// RequireApproval: a second administrator (another principal than the
	// creator) approves before any notice goes out.
	RequireApproval bool `json:"requireApproval,omitempty"`
	// NotifyManager copies each notice to the user's manager: the user
	// attribute ManagerAttribute (default "manager") holds the manager's
	// email address, object id or userPrincipalName. allot's users have
	// no manager relationship; a user without the attribute gets the
	// notice alone.
	NotifyManager    bool   `json:"notifyManager,omitempty"`
	ManagerAttribute string `json:"managerAttribute,omitempty"`
	// Message is added to each notice (plain text).
	Message string `json:"message,omitempty"`
	// ReminderDaysBefore: this many days before the grace period ends,
	// users who have not kept their license get a reminder (once). 0: no
	// reminder; absent: DefaultReminderDays when the grace period is
	// longer than that, none otherwise. It must be shorter than the grace
	// period. Validate fills it, so a stored campaign always has it; one
	// stored before reminders existed (nil) sends none.
	ReminderDaysBefore *int `json:"reminderDaysBefore,omitempty" doc:"Days before the grace period ends when users who have not kept their license get a reminder (once); 0: none; default 3 when graceDays is over 3, else none; less than graceDays"`
}

// Campaign is a campaign's state (its members are separate objects).
type Campaign struct {
	Spec
	Status Status `json:"status"`
	// DowngradeSKUID is DowngradeTo resolved.
	DowngradeSKUID string `json:"downgradeSkuId,omitempty"`
	// AsOf is the day of the position the members come from.
	AsOf string `json:"asOf"`
	// Currency and MonthlySaving: the saving if every member loses the
	// license (members whose products are priced); Currency is empty
	// without a price list.
	Currency      string   `json:"currency,omitempty"`
	MonthlySaving *float64 `json:"monthlySaving"`
	Members       int      `json:"members"`  // in the campaign
	Excluded      int      `json:"excluded"` // found but left out (Member.Excluded)
	Counts        Counts   `json:"counts"`

	CreatedBy   string    `json:"createdBy"`
	CreatedAt   time.Time `json:"createdDateTime"`
	ApprovedBy  string    `json:"approvedBy,omitempty"`
	ApprovedAt  time.Time `json:"approvedDateTime,omitzero"`
	StartedBy   string    `json:"startedBy,omitempty"`
	StartedAt   time.Time `json:"startedDateTime,omitzero"`
	NoticesAt   time.Time `json:"noticesDateTime,omitzero"`
	GraceEndsAt time.Time `json:"graceEndsDateTime,omitzero"`
	// RemindersAt is when the reminders were queued (zero: not yet).
	RemindersAt time.Time `json:"remindersDateTime,omitzero"`
	CompletedAt time.Time `json:"completedDateTime,omitzero"`
	CancelledBy string    `json:"cancelledBy,omitempty"`
	CancelledAt time.Time `json:"cancelledDateTime,omitzero"`
	RestoredBy  string    `json:"restoredBy,omitempty"`
	RestoredAt  time.Time `json:"restoredDateTime,omitzero"`
	// CreatorKey is the creating principal's token id: approval needs
	// another principal.
	CreatorKey string `json:"creatorKey,omitempty"`
}

// Counts are the members by state.
type Counts struct {
	Pending       int `json:"pending"`
	Notified      int `json:"notified"`
	Kept          int `json:"kept"`
	Removed       int `json:"removed"`
	Skipped       int `json:"skipped"`
	Restored      int `json:"restored"`
	RestoreFailed int `json:"restoreFailed"`
}

// Member states.
const (
	MemberExcluded      = "excluded"      // found, left out (Excluded says why)
	MemberPending       = "pending"       // in the campaign, no notice yet
	MemberNotified      = "notified"      // notice queued; the grace period runs
	MemberKept          = "kept"          // the user kept the license through the link
	MemberRemoved       = "removed"       // the license was removed or downgraded
	MemberSkipped       = "skipped"       // at the end, the license was no longer as found (Note)
	MemberRestored      = "restored"      // Restore brought the license back
	MemberRestoreFailed = "restoreFailed" // Restore could not (Note)
)

// Member is one user's license of one product in a campaign.
type Member struct {
	CampaignID        string `json:"campaignId"`
	UserID            string `json:"userId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	SKUID             string `json:"skuId"`
	SKUPartNumber     string `json:"skuPartNumber"`
	// Kind and FindingID name the finding the member comes from.
	Kind      string `json:"kind"`
	FindingID string `json:"findingId"`
	// Sources are the direct licenses (outside allotments and through
	// them) of the product the campaign removes, as they were when the
	// campaign was created; Restore puts back those it removed.
	Sources       []licensing.LicenseSource `json:"sources"`
	MonthlySaving *float64                  `json:"monthlySaving"`
	// Mail and ManagerMail are where the notice goes.
	Mail        string `json:"mail,omitempty"`
	ManagerMail string `json:"managerMail,omitempty"`
	State       string `json:"state"`
	// Excluded says why a found member is left out.
	Excluded string `json:"excluded,omitempty"`
	// Note says what happened at the end or at the restore when it was
	// not the plan.
	Note string `json:"note,omitempty"`
	// Removed are the sources the campaign removed; AddedSKUID the
	// product a downgrade assigned (Restore removes it).
	Removed    []licensing.LicenseSource `json:"removed,omitempty"`
	AddedSKUID string                    `json:"addedSkuId,omitempty"`
	KeptAt     time.Time                 `json:"keptDateTime,omitzero"`
	// RemindedAt: when the reminder was queued for the member (zero:
	// none, e.g. kept before, or no address).
	RemindedAt time.Time `json:"remindedDateTime,omitzero"`
	RemovedAt  time.Time `json:"removedDateTime,omitzero"`
	RestoredAt time.Time `json:"restoredDateTime,omitzero"`
}

func memberKey(campaign, user, sku string) string { return campaign + "/" + user + "/" + sku }

var attrPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

var invalid = objcheck.Invalid

// Validate checks a spec alone and fills its defaults (Check resolves
// what it names in a tenant).
func (s *Spec) Validate() error {
	if s.ID != "" {
		if err := objcheck.ID(s.ID); err != nil {
			return err
		}
	}
	if err := objcheck.DisplayName(s.DisplayName); err != nil {
		return err
	}
	if len(s.Message) > MaxMessage {
		return invalid("message is longer than %d characters.", MaxMessage)
	}
	if len(s.Kinds) == 0 {
		s.Kinds = slices.Clone(DefaultKinds)
	}
	if len(s.Kinds) > len(Kinds) || len(s.SKUs) > 100 {
		return invalid("kinds or skus lists too many entries.")
	}
	for _, k := range s.Kinds {
		if !slices.Contains(Kinds, k) {
			return invalid("kind %q is not a finding a campaign takes seats back from: use %s.", k, strings.Join(Kinds, ", "))
		}
	}
	switch s.Action {
	case "":
		s.Action = Remove
	case Remove, Downgrade:
	default:
		return invalid("action %q is not supported: use remove or downgrade.", s.Action)
	}
	if (s.Action == Downgrade) != (s.DowngradeTo != "") {
		return invalid("downgradeTo names the product a downgrade assigns: give it with action downgrade, and only then.")
	}
	if s.GraceDays == 0 {
		s.GraceDays = DefaultGraceDays
	}
	if s.GraceDays < 1 || s.GraceDays > MaxGraceDays {
		return invalid("graceDays must be 1 to %d.", MaxGraceDays)
	}
	if err := s.defaultReminder(); err != nil {
		return err
	}
	if s.ManagerAttribute != "" && !s.NotifyManager {
		return invalid("managerAttribute applies with notifyManager.")
	}
	if s.NotifyManager && s.ManagerAttribute == "" {
		s.ManagerAttribute = DefaultManagerKey
	}
	if s.ManagerAttribute != "" && !attrPattern.MatchString(s.ManagerAttribute) {
		return invalid("managerAttribute %q is not a user attribute name (lower case letters, digits, '_').", s.ManagerAttribute)
	}
	for _, v := range append(slices.Clone(s.SKUs), s.GroupID, s.DowngradeTo) {
		if len(v) > 256 {
			return invalid("a product or group reference is longer than 256 characters.")
		}
	}
	return nil
}

// defaultReminder checks ReminderDaysBefore against the grace period (set
// before) and fills its default.
func (s *Spec) defaultReminder() error {
	if s.ReminderDaysBefore == nil {
		d := 0
		if s.GraceDays > DefaultReminderDays {
			d = DefaultReminderDays
		}
		s.ReminderDaysBefore = &d
		return nil
	}
	if d := *s.ReminderDaysBefore; d < 0 || d >= s.GraceDays {
		return invalid("reminderDaysBefore must be 0 (no reminder) to %d (less than graceDays).", s.GraceDays-1)
	}
	return nil
}

// reminderAt is when a running campaign's reminders go out (zero: none,
// or the notices are not out yet).
func (c *Campaign) reminderAt() time.Time {
	if c.ReminderDaysBefore == nil || *c.ReminderDaysBefore <= 0 || c.GraceEndsAt.IsZero() {
		return time.Time{}
	}
	return c.GraceEndsAt.Add(-time.Duration(*c.ReminderDaysBefore) * 24 * time.Hour)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Campaigns returns a tenant's campaigns, newest first.
func Campaigns(s *tenant.State) ([]Campaign, error) {
	ids := s.IDs(KindCampaign)
	out := make([]Campaign, 0, len(ids))
	for _, id := range ids {
		var c Campaign
		if _, err := s.Decode(KindCampaign, id, &c); err != nil {
			return nil, fmt.Errorf("reclamation campaign %q: %w", id, err)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Get returns one campaign (ENOTFOUND if missing).
func Get(s *tenant.State, id string) (Campaign, error) {
	var c Campaign
	ok, err := s.Decode(KindCampaign, id, &c)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, allot.Errorf(allot.ENOTFOUND, "Reclamation campaign %q does not exist.", id)
	}
	return c, nil
}

// Members returns a campaign's members (those excluded too), by user
// principal name then product.
func Members(s *tenant.State, campaignID string) ([]Member, error) {
	var out []Member
	prefix := campaignID + "/"
	for _, id := range s.IDs(KindMember) {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		var m Member
		if _, err := s.Decode(KindMember, id, &m); err != nil {
			return nil, fmt.Errorf("reclamation member %q: %w", id, err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].UserPrincipalName != out[j].UserPrincipalName {
			return out[i].UserPrincipalName < out[j].UserPrincipalName
		}
		if out[i].UserID != out[j].UserID {
			return out[i].UserID < out[j].UserID
		}
		return out[i].SKUID < out[j].SKUID
	})
	return out, nil
}

// counts recounts a campaign's members by state.
func counts(ms []Member) Counts {
	var c Counts
	for _, m := range ms {
		switch m.State {
		case MemberPending:
			c.Pending++
		case MemberNotified:
			c.Notified++
		case MemberKept:
			c.Kept++
		case MemberRemoved:
			c.Removed++
		case MemberSkipped:
			c.Skipped++
		case MemberRestored:
			c.Restored++
		case MemberRestoreFailed:
			c.RestoreFailed++
		}
	}
	return c
}

// save writes a campaign with its counts recounted from the tenant's
// members (after the command's member writes).
func save(tx *tenant.Tx, c *Campaign) error {
	ms, err := Members(tx.State, c.ID)
	if err != nil {
		return err
	}
	c.Counts = counts(ms)
	return tx.Put(KindCampaign, c.ID, c)
}
