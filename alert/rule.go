// Package alert tells people when a tenant's licensing goes wrong: alert
// rules and their endpoints (tenant objects), the evaluation of the rules
// after each commit from what the commit touched (Service), the alerts'
// states and the durable queue of notifications (store.AlertStore), and
// their delivery as signed webhooks, Slack and Microsoft Teams messages and
// email (deliver.go).
package alert

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"allot"
	"allot/objcheck"
	"allot/store"
	"allot/tenant"
)

// Kinds of the tenant objects of this package.
const (
	KindRule     store.Kind = "alertRule"
	KindEndpoint store.Kind = "alertEndpoint"
)

// Condition is what a rule watches.
type Condition string

// The conditions. Their parameters are the Rule fields named with each.
const (
	// LicenseErrors: users with a license source in error (any code, or
	// the codes in Errors: CountViolation, DependencyViolation,
	// MutuallyExclusiveViolation, ProhibitedInUsageLocationViolation, …),
	// tenant-wide or of the group GroupID; fires when at least Threshold
	// (default 1) are. One alert per rule.
	LicenseErrors Condition = "licenseErrors"
	// WaitingTooLong: a user has waited more than Hours for a seat, in the
	// tenant pool of SKUID (every product when empty) or in the allotment
	// AllotmentID. One alert per pool.
	WaitingTooLong Condition = "waitingTooLong"
	// FreeSeatsLow: the free seats of SKUID (every product with units when
	// empty) are below Threshold, or below ThresholdPercent of its
	// assignable units. One alert per product.
	FreeSeatsLow Condition = "freeSeatsLow"
	// AllotmentFull: the allotment AllotmentID (every allotment when empty)
	// has no free seat. One alert per allotment.
	AllotmentFull Condition = "allotmentFull"
	// SubscriptionEnding: a subscription's term ends within Days and it
	// will not renew. One alert per subscription.
	SubscriptionEnding Condition = "subscriptionEnding"
	// SubscriptionRenewing: a subscription renews within Days and its
	// product has seats nobody holds (seats that could be cut before the
	// renewal). One alert per subscription.
	SubscriptionRenewing Condition = "subscriptionRenewing"
	// IdleSeatsCost: the monthly cost of idle seats in the license
	// position (its findings) is above Threshold (the price list's
	// currency). Evaluated when a position is computed.
	IdleSeatsCost Condition = "idleSeatsCost"
	// UnderLicensed: more than Threshold users hold nothing that meets
	// their needs (the position's findings). Evaluated when a position is
	// computed.
	UnderLicensed Condition = "underLicensedUsers"
	// OperationFailed: a sync or an import of the tenant failed (Source:
	// "import", "sync", or empty for any); it resolves when the next one
	// succeeds. One alert per source.
	OperationFailed Condition = "operationFailed"
)

// Conditions lists every condition.
var Conditions = []Condition{LicenseErrors, WaitingTooLong, FreeSeatsLow, AllotmentFull, SubscriptionEnding,
	SubscriptionRenewing, IdleSeatsCost, UnderLicensed, OperationFailed}

// ErrorCodes are the license error codes a LicenseErrors rule may name:
// Graph's licenseAssignmentState.error values.
var ErrorCodes = []string{"CountViolation", "MutuallyExclusiveViolation", "DependencyViolation",
	"ProhibitedInUsageLocationViolation", "UniquenessViolation", "Other"}

// Rule is one alert rule of a tenant.
type Rule struct {
	ID          string    `json:"id"`
	DisplayName string    `json:"displayName"`
	Disabled    bool      `json:"disabled,omitempty"`
	Condition   Condition `json:"condition"`

	GroupID          string   `json:"groupId,omitempty"`
	SKUID            string   `json:"skuId,omitempty"`
	AllotmentID      string   `json:"allotmentId,omitempty"`
	Errors           []string `json:"errors,omitempty"`
	Source           string   `json:"source,omitempty"`
	Threshold        float64  `json:"threshold,omitempty"`
	ThresholdPercent float64  `json:"thresholdPercent,omitempty"`
	Hours            int      `json:"hours,omitempty"`
	Days             int      `json:"days,omitempty"`

	// Endpoints are the ids of the endpoints notified.
	Endpoints []string `json:"endpoints"`
	// QuietMinutes: an open alert resolves only once its condition has
	// stayed clear this long, so a condition that flaps sends one alert.
	QuietMinutes int `json:"quietMinutes,omitempty"`
	// RepeatMinutes: while open, the alert is sent again this often (0:
	// never), at most MaxRepeats times.
	RepeatMinutes int `json:"repeatMinutes,omitempty"`
	MaxRepeats    int `json:"maxRepeats,omitempty"`
}

// Endpoint types.
const (
	Webhook = "webhook" // JSON, signed (Sign)
	Slack   = "slack"   // a Slack incoming webhook
	Teams   = "teams"   // a Microsoft Teams incoming webhook (workflow)
	Email   = "email"   // SMTP, to To
	// Raw is a target of another package (RegisterTarget): its jobs'
	// payloads are POSTed to URL as they are, as JSON, unsigned. It is
	// never stored as an alert endpoint (Validate refuses it).
	Raw = "raw"
)

// Endpoint is where a rule's alerts go.
type Endpoint struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Type        string   `json:"type"`
	URL         string   `json:"url,omitempty"`
	To          []string `json:"to,omitempty"`
	// Secret signs webhooks (Sign). Generated when an endpoint is
	// created; answers show it only then.
	Secret string `json:"secret,omitempty"`
}

// Limits of a rule and an endpoint.
const (
	MaxName      = objcheck.MaxName
	MaxEndpoints = 20
	MaxRules     = 500
	maxMinutes   = 366 * 24 * 60
)

var invalid = objcheck.Invalid

// Validate checks a rule alone (CheckRefs checks what it names): its id
// and name, the numbers' ranges, the fields its condition takes and its
// endpoints, in that order, returning the first problem as EINVALID.
func (r *Rule) Validate() error {
	if err := objcheck.ID(r.ID); err != nil {
		return err
	}
	if err := objcheck.DisplayName(r.DisplayName); err != nil {
		return err
	}
	if !slices.Contains(Conditions, r.Condition) {
		return invalid("condition %q is not supported: use one of %s.", r.Condition, joinConditions())
	}
	if err := r.validateRanges(); err != nil {
		return err
	}
	if err := r.validateCondition(); err != nil {
		return err
	}
	return r.validateEndpoints()
}

// validateRanges checks that the rule's numbers are in range, whatever
// its condition.
func (r *Rule) validateRanges() error {
	if r.Threshold < 0 || r.ThresholdPercent < 0 || r.ThresholdPercent > 100 || r.Hours < 0 || r.Days < 0 {
		return invalid("threshold, thresholdPercent (0 to 100), hours and days must not be negative.")
	}
	if r.Threshold > 1e12 || r.Hours > 24*366 || r.Days > 3660 {
		return invalid("threshold, hours or days is too large.")
	}
	if r.QuietMinutes < 0 || r.RepeatMinutes < 0 || r.MaxRepeats < 0 || r.QuietMinutes > maxMinutes || r.RepeatMinutes > maxMinutes || r.MaxRepeats > 1000 {
		return invalid("quietMinutes and repeatMinutes must be 0 to %d, maxRepeats 0 to 1000.", maxMinutes)
	}
	if r.RepeatMinutes > 0 && r.RepeatMinutes < 5 {
		return invalid("repeatMinutes must be at least 5.")
	}
	return nil
}

// only returns an error naming the first set field (in name order) that
// is not in fields, the fields condition cond takes.
func (r *Rule) only(cond Condition, fields ...string) error {
	set := map[string]bool{"groupId": r.GroupID != "", "skuId": r.SKUID != "", "allotmentId": r.AllotmentID != "",
		"errors": len(r.Errors) > 0, "source": r.Source != "", "threshold": r.Threshold != 0,
		"thresholdPercent": r.ThresholdPercent != 0, "hours": r.Hours != 0, "days": r.Days != 0}
	names := make([]string, 0, len(set))
	for k := range set {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if set[k] && !slices.Contains(fields, k) {
			return invalid("%s does not apply to condition %s (it takes %s).", k, cond, strings.Join(fields, ", "))
		}
	}
	return nil
}

// validateCondition checks that the rule sets only the fields its
// condition takes, and those the condition needs.
func (r *Rule) validateCondition() error {
	var err error
	switch r.Condition {
	case LicenseErrors:
		err = r.validateLicenseErrors()
	case WaitingTooLong:
		err = r.only(r.Condition, "skuId", "allotmentId", "hours")
		if err == nil && r.SKUID != "" && r.AllotmentID != "" {
			err = invalid("name skuId or allotmentId, not both.")
		}
	case FreeSeatsLow:
		err = r.only(r.Condition, "skuId", "threshold", "thresholdPercent")
		if err == nil && (r.Threshold == 0) == (r.ThresholdPercent == 0) {
			err = invalid("freeSeatsLow needs threshold (seats) or thresholdPercent, one of them.")
		}
	case AllotmentFull:
		err = r.only(r.Condition, "allotmentId")
	case SubscriptionEnding, SubscriptionRenewing:
		err = r.only(r.Condition, "skuId", "days")
		if err == nil && r.Days == 0 {
			err = invalid("%s needs days (1 or more).", r.Condition)
		}
	case IdleSeatsCost, UnderLicensed:
		err = r.only(r.Condition, "threshold")
	case OperationFailed:
		err = r.only(r.Condition, "source")
		if err == nil && r.Source != "" && r.Source != "import" && r.Source != "sync" {
			err = invalid("source %q is not supported: use import or sync, or none for both.", r.Source)
		}
	}
	return err
}

// validateLicenseErrors checks a licenseErrors rule: an unknown error
// code is reported before a field the condition does not take.
func (r *Rule) validateLicenseErrors() error {
	err := r.only(r.Condition, "groupId", "errors", "threshold")
	for _, e := range r.Errors {
		if !slices.Contains(ErrorCodes, e) {
			return invalid("error %q is not a license error code: use %s.", e, strings.Join(ErrorCodes, ", "))
		}
	}
	if err == nil && r.Threshold != float64(int(r.Threshold)) {
		err = invalid("threshold of %s is a number of users.", r.Condition)
	}
	return err
}

// validateEndpoints checks that the rule names 1 to MaxEndpoints
// endpoints with valid ids (CheckRefs checks they exist).
func (r *Rule) validateEndpoints() error {
	if len(r.Endpoints) == 0 || len(r.Endpoints) > MaxEndpoints {
		return invalid("endpoints must name 1 to %d endpoints.", MaxEndpoints)
	}
	for _, id := range r.Endpoints {
		if !objcheck.IsID(id) {
			return invalid("endpoint id %q is not valid.", id)
		}
	}
	return nil
}

func joinConditions() string {
	s := make([]string, len(Conditions))
	for i, c := range Conditions {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// CheckRefs checks that what a rule names exists in the tenant: its
// endpoints, group, product and allotment.
func (r *Rule) CheckRefs(s *tenant.State) error {
	for _, id := range r.Endpoints {
		if ok, _ := s.Decode(KindEndpoint, id, &Endpoint{}); !ok {
			return invalid("endpoint %q does not exist.", id)
		}
	}
	if r.GroupID != "" && !s.Engine.IsGroup(r.GroupID) {
		return invalid("group %q does not exist.", r.GroupID)
	}
	if r.SKUID != "" {
		if _, ok := s.Engine.Pool(r.SKUID); !ok {
			return invalid("product %q has no units in this tenant.", r.SKUID)
		}
	}
	if r.AllotmentID != "" {
		if _, ok := s.Engine.AllotmentByID(r.AllotmentID); !ok {
			return invalid("allotment %q does not exist.", r.AllotmentID)
		}
	}
	return nil
}

// Validate checks an endpoint.
func (e *Endpoint) Validate() error {
	if err := objcheck.ID(e.ID); err != nil {
		return err
	}
	if err := objcheck.DisplayName(e.DisplayName); err != nil {
		return err
	}
	switch e.Type {
	case Webhook, Slack, Teams:
		if len(e.To) > 0 {
			return invalid("to is for email endpoints.")
		}
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(e.URL) > 2048 {
			return invalid("url must be an http or https URL of at most 2048 characters.")
		}
		if u.User != nil {
			return invalid("url must not carry a user name or password.")
		}
	case Email:
		if e.URL != "" {
			return invalid("url is for webhook, slack and teams endpoints.")
		}
		if err := objcheck.Addresses(e.To); err != nil {
			return err
		}
	default:
		return invalid("type %q is not supported: use webhook, slack, teams or email.", e.Type)
	}
	if len(e.Secret) > 256 {
		return invalid("secret is longer than 256 characters.")
	}
	return nil
}

// Rules returns a tenant's rules ordered by id.
func Rules(s *tenant.State) ([]Rule, error) {
	ids := s.IDs(KindRule)
	sort.Strings(ids)
	out := make([]Rule, 0, len(ids))
	for _, id := range ids {
		var r Rule
		if _, err := s.Decode(KindRule, id, &r); err != nil {
			return nil, fmt.Errorf("alert rule %q: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Endpoints returns a tenant's endpoints ordered by id, with secrets.
func Endpoints(s *tenant.State) ([]Endpoint, error) {
	ids := s.IDs(KindEndpoint)
	sort.Strings(ids)
	out := make([]Endpoint, 0, len(ids))
	for _, id := range ids {
		var e Endpoint
		if _, err := s.Decode(KindEndpoint, id, &e); err != nil {
			return nil, fmt.Errorf("alert endpoint %q: %w", id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// EndpointOf returns one endpoint, with its secret.
func EndpointOf(s *tenant.State, id string) (Endpoint, bool) {
	var e Endpoint
	ok, err := s.Decode(KindEndpoint, id, &e)
	return e, ok && err == nil
}

// PutRule stores a rule after checking it (a command). Tenants hold at
// most MaxRules rules.
func PutRule(tx *tenant.Tx, r Rule) error {
	if err := r.Validate(); err != nil {
		return err
	}
	if err := r.CheckRefs(tx.State); err != nil {
		return err
	}
	if ok, _ := tx.State.Decode(KindRule, r.ID, &Rule{}); !ok && len(tx.State.IDs(KindRule)) >= MaxRules {
		return allot.Errorf(allot.ECONFLICT, "a tenant has at most %d alert rules.", MaxRules)
	}
	return tx.Put(KindRule, r.ID, r)
}

// DeleteRule deletes a rule (ENOTFOUND if missing).
func DeleteRule(tx *tenant.Tx, id string) error {
	if ok, _ := tx.State.Decode(KindRule, id, &Rule{}); !ok {
		return allot.Errorf(allot.ENOTFOUND, "Alert rule %q does not exist.", id)
	}
	tx.Delete(KindRule, id)
	return nil
}

// PutEndpoint stores an endpoint after checking it (a command); an
// existing endpoint keeps its secret when e has none.
func PutEndpoint(tx *tenant.Tx, e Endpoint) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if e.Type == Webhook && e.Secret == "" {
		old, ok := EndpointOf(tx.State, e.ID)
		if !ok || old.Secret == "" {
			return invalid("a webhook endpoint needs a secret.")
		}
		e.Secret = old.Secret
	}
	if ok, _ := tx.State.Decode(KindEndpoint, e.ID, &Endpoint{}); !ok && len(tx.State.IDs(KindEndpoint)) >= MaxRules {
		return allot.Errorf(allot.ECONFLICT, "a tenant has at most %d alert endpoints.", MaxRules)
	}
	return tx.Put(KindEndpoint, e.ID, e)
}

// DeleteEndpoint deletes an endpoint that no rule names (ECONFLICT
// otherwise, ENOTFOUND if missing).
func DeleteEndpoint(tx *tenant.Tx, id string) error {
	if _, ok := EndpointOf(tx.State, id); !ok {
		return allot.Errorf(allot.ENOTFOUND, "Alert endpoint %q does not exist.", id)
	}
	rules, err := Rules(tx.State)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if slices.Contains(r.Endpoints, id) {
			return allot.Errorf(allot.ECONFLICT, "Alert rule %q sends to endpoint %q: change the rule first.", r.ID, id)
		}
	}
	tx.Delete(KindEndpoint, id)
	return nil
}
