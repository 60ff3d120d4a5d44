// Package graphsub is Microsoft Graph's change notifications for a
// tenant's users and groups (`/v1.0/subscriptions`): the subscription
// (a tenant object), its checks and Graph's refusals, the notificationUrl
// validation handshake, and the Notifier that turns each commit's changed
// users and groups into change notifications and lifecycle notifications,
// delivered through the alert job queue (alert.Service.Enqueue: durable,
// at least once, retried). docs/ALERTS.md, "Graph change notifications".
package graphsub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/store"
	"allot/tenant"
)

// Kind is the store kind of a subscription (id: the subscription's id).
const Kind store.Kind = "graphSubscription"

// Limits. MaxMinutes is Graph's maximum length of a subscription to
// users, groups and other directory resources (subscription resource type,
// "Maximum length of subscription per resource type": 41760 minutes,
// under 29 days). MaxClientState is the documented length of clientState.
// MaxPerTenant bounds a tenant's active subscriptions.
const (
	MaxMinutes     = 41760
	MaxClientState = 128
	MaxPerTenant   = 1000
	maxURL         = 2048
)

// Change types.
const (
	Created = "created"
	Updated = "updated"
	Deleted = "deleted"
)

// Lifecycle events (lifecycle notifications' lifecycleEvent).
const (
	ReauthorizationRequired = "reauthorizationRequired"
	SubscriptionRemoved     = "subscriptionRemoved"
	Missed                  = "missed"
)

// Subscription is one subscription, as Graph's subscription resource.
type Subscription struct {
	ID                        string    `json:"id"`
	Resource                  string    `json:"resource"`
	ChangeType                string    `json:"changeType"`
	ClientState               string    `json:"clientState,omitempty"`
	NotificationURL           string    `json:"notificationUrl"`
	LifecycleNotificationURL  string    `json:"lifecycleNotificationUrl,omitempty"`
	ExpirationDateTime        time.Time `json:"expirationDateTime"`
	CreatorID                 string    `json:"creatorId,omitempty"`
	LatestSupportedTLSVersion string    `json:"latestSupportedTlsVersion,omitempty"`
}

// Request is the body of a create (POST) or an update (PATCH). Fields
// not sent are nil. Graph's other properties (includeResourceData,
// encryptionCertificate, …) are refused: the decoder rejects unknown
// properties.
type Request struct {
	ODataType                 *string    `json:"@odata.type,omitempty"`
	Resource                  *string    `json:"resource,omitempty"`
	ChangeType                *string    `json:"changeType,omitempty"`
	ClientState               *string    `json:"clientState,omitempty"`
	NotificationURL           *string    `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL  *string    `json:"lifecycleNotificationUrl,omitempty"`
	ExpirationDateTime        *time.Time `json:"expirationDateTime,omitempty"`
	LatestSupportedTLSVersion *string    `json:"latestSupportedTlsVersion,omitempty"`
	IncludeResourceData       *bool      `json:"includeResourceData,omitempty"`
}

// Error is a refusal in Graph's words: its error code and message. It is
// an allot EINVALID error (400) whose code the Graph surface writes.
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Message }

// Unwrap makes it an EINVALID error.
func (e *Error) Unwrap() error { return allot.NewError(allot.EINVALID, e.Message) }

func refuse(code, msg string) error { return &Error{Code: code, Message: msg} }

// CodeOf returns the Graph error code of a refusal ("" if err is not one).
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Target is what a resource path subscribes to: every user ("users"),
// every group ("groups"), or one of them ("users/{id}", "groups/{id}").
type Target struct {
	Groups bool   // groups, else users
	ID     string // one object, or "" for all
}

// ParseResource reads a resource path as Graph accepts it: with or
// without a leading "/", "users" and "groups" in any case.
func ParseResource(s string) (Target, bool) {
	p := strings.Trim(s, "/")
	coll, id, _ := strings.Cut(p, "/")
	var t Target
	switch strings.ToLower(coll) {
	case "users":
	case "groups":
		t.Groups = true
	default:
		return Target{}, false
	}
	if strings.ContainsAny(id, "/?#") || len(id) > 256 {
		return Target{}, false
	}
	t.ID = id
	return t, true
}

// Matches reports whether a change of a user (group false) or group with
// the id is in the target.
func (t Target) Matches(group bool, id string) bool {
	return t.Groups == group && (t.ID == "" || t.ID == id)
}

// ChangeTypes splits a changeType list.
func ChangeTypes(s string) []string {
	var out []string
	for _, c := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

// Wants reports whether the subscription asked for a change type.
func (s *Subscription) Wants(changeType string) bool {
	for _, c := range ChangeTypes(s.ChangeType) {
		if c == changeType {
			return true
		}
	}
	return false
}

// Active reports whether the subscription has not expired at now.
func (s *Subscription) Active(now time.Time) bool { return now.Before(s.ExpirationDateTime) }

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || len(raw) > maxURL || u.User != nil || u.Fragment != "" {
		return refuse("InvalidRequest", "The "+name+" is not a valid URL.")
	}
	// Graph requires HTTPS; allot also accepts http to a loopback address
	// (a receiver on the same machine).
	if u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil
	}
	return refuse("InvalidRequest", "The "+name+" must use the HTTPS protocol.")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkExpiration(t, now time.Time) error {
	if !t.After(now) {
		return refuse("ExtensionError", "Subscription expiration must be in the future.")
	}
	if t.Sub(now) > MaxMinutes*time.Minute {
		return refuse("ExtensionError", "Subscription expiration can only be 41760 minutes in the future.")
	}
	return nil
}

// NewSubscription checks a create request at now and returns the
// subscription it asks for (with a new id). Graph's required properties
// missing, unknown change types, a resource other than users and groups,
// an expiration in the past or more than MaxMinutes ahead, a clientState
// over MaxClientState, URLs that are not HTTPS: EINVALID (an *Error).
func NewSubscription(req Request, now time.Time) (Subscription, error) {
	for _, f := range []struct {
		name string
		set  bool
	}{{"changeType", req.ChangeType != nil}, {"notificationUrl", req.NotificationURL != nil},
		{"resource", req.Resource != nil}, {"expirationDateTime", req.ExpirationDateTime != nil}} {
		if !f.set {
			return Subscription{}, refuse("InvalidRequest", f.name+" is a required property for subscription creation.")
		}
	}
	if req.ODataType != nil && !strings.EqualFold(strings.TrimPrefix(*req.ODataType, "#"), "microsoft.graph.subscription") {
		return Subscription{}, refuse("InvalidRequest", "@odata.type must be #microsoft.graph.subscription.")
	}
	if req.IncludeResourceData != nil && *req.IncludeResourceData {
		return Subscription{}, refuse("InvalidRequest", "includeResourceData is not supported for users and groups.")
	}
	s := Subscription{ID: newUUID(), Resource: *req.Resource, ChangeType: *req.ChangeType,
		NotificationURL: *req.NotificationURL, ExpirationDateTime: req.ExpirationDateTime.UTC()}
	if req.ClientState != nil {
		s.ClientState = *req.ClientState
	}
	if req.LifecycleNotificationURL != nil {
		s.LifecycleNotificationURL = *req.LifecycleNotificationURL
	}
	if req.LatestSupportedTLSVersion != nil {
		s.LatestSupportedTLSVersion = *req.LatestSupportedTLSVersion
	}
	return s, s.Validate(now)
}

// Validate checks a subscription at now (see NewSubscription).
func (s *Subscription) Validate(now time.Time) error {
	if _, ok := ParseResource(s.Resource); !ok {
		return refuse("InvalidRequest", "Resource '"+s.Resource+"' is not supported: use users, users/{id}, groups or groups/{id}.")
	}
	types := ChangeTypes(s.ChangeType)
	seen := map[string]bool{}
	for _, c := range types {
		if c != Created && c != Updated && c != Deleted || seen[c] {
			return refuse("InvalidRequest", "Invalid 'changeType' attribute: '"+c+"'.")
		}
		seen[c] = true
	}
	if len(s.ClientState) > MaxClientState {
		return refuse("InvalidRequest", "clientState must be at most 128 characters.")
	}
	if err := checkURL("notificationUrl", s.NotificationURL); err != nil {
		return err
	}
	if s.LifecycleNotificationURL != "" {
		if err := checkURL("lifecycleNotificationUrl", s.LifecycleNotificationURL); err != nil {
			return err
		}
	}
	switch s.LatestSupportedTLSVersion {
	case "", "v1_0", "v1_1", "v1_2", "v1_3":
	default:
		return refuse("InvalidRequest", "latestSupportedTlsVersion must be v1_0, v1_1, v1_2 or v1_3.")
	}
	return checkExpiration(s.ExpirationDateTime, now)
}

// Update applies a PATCH (expirationDateTime: renew; notificationUrl,
// lifecycleNotificationUrl) to s at now. Other properties cannot change.
func Update(s Subscription, req Request, now time.Time) (Subscription, error) {
	if req.Resource != nil || req.ChangeType != nil || req.ClientState != nil || req.IncludeResourceData != nil || req.LatestSupportedTLSVersion != nil {
		return s, refuse("InvalidRequest", "Only expirationDateTime, notificationUrl and lifecycleNotificationUrl can be updated.")
	}
	if req.ExpirationDateTime != nil {
		s.ExpirationDateTime = req.ExpirationDateTime.UTC()
	}
	if req.NotificationURL != nil {
		s.NotificationURL = *req.NotificationURL
	}
	if req.LifecycleNotificationURL != nil {
		s.LifecycleNotificationURL = *req.LifecycleNotificationURL
	}
	return s, s.Validate(now)
}

// List returns a tenant's active subscriptions at now, by id.
func List(st *tenant.State, now time.Time) ([]Subscription, error) {
	ids := st.IDs(Kind)
	sort.Strings(ids)
	out := make([]Subscription, 0, len(ids))
	for _, id := range ids {
		var s Subscription
		if _, err := st.Decode(Kind, id, &s); err != nil {
			return nil, err
		}
		if s.Active(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

// Get returns an active subscription (an expired one is gone, as in Graph).
func Get(st *tenant.State, id string, now time.Time) (Subscription, bool) {
	var s Subscription
	ok, err := st.Decode(Kind, id, &s)
	return s, ok && err == nil && s.Active(now)
}

func notFound(id string) error {
	return allot.Errorf(allot.ENOTFOUND, "The object was not found: subscription '%s'.", id)
}

// Put stores a subscription (a command at tx.Op.Now): a new one only
// while the tenant has fewer than MaxPerTenant active ones; expired ones
// are removed as it goes.
func Put(tx *tenant.Tx, s Subscription) error {
	now := tx.Op.Now
	if err := s.Validate(now); err != nil {
		return err
	}
	active := 0
	exists := false
	for _, id := range tx.State.IDs(Kind) {
		var old Subscription
		if _, err := tx.State.Decode(Kind, id, &old); err != nil || !old.Active(now) {
			tx.Delete(Kind, id)
			continue
		}
		active++
		exists = exists || id == s.ID
	}
	if !exists && active >= MaxPerTenant {
		return allot.Errorf(allot.ECONFLICT, "A tenant has at most %d subscriptions.", MaxPerTenant)
	}
	return tx.Put(Kind, s.ID, s)
}

// Modify applies fn to an active subscription inside a command
// (ENOTFOUND if it is missing or expired).
func Modify(tx *tenant.Tx, id string, fn func(Subscription) (Subscription, error)) (Subscription, error) {
	s, ok := Get(tx.State, id, tx.Op.Now)
	if !ok {
		return Subscription{}, notFound(id)
	}
	s, err := fn(s)
	if err != nil {
		return Subscription{}, err
	}
	s.ID = id
	return s, Put(tx, s)
}

// Delete deletes an active subscription (ENOTFOUND otherwise).
func Delete(tx *tenant.Tx, id string) error {
	if _, ok := Get(tx.State, id, tx.Op.Now); !ok {
		return notFound(id)
	}
	tx.Delete(Kind, id)
	return nil
}

// NotFound is the refusal for an id that names no active subscription.
func NotFound(id string) error { return notFound(id) }

// ValidationTimeout is how long the notification endpoint has to answer
// the validation request (Graph: "within 10 seconds").
const ValidationTimeout = 10 * time.Second

var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// ValidateEndpoint runs Graph's validation handshake with a notification
// URL: a POST to the URL with a validationToken query parameter (and an
// empty text/plain body), which must be answered within
// ValidationTimeout with 200 OK, Content-Type text/plain, and the token
// (decoded) as the body. Otherwise it returns Graph's 400 refusal.
func ValidateEndpoint(ctx context.Context, raw string) error {
	token := newToken()
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("InvalidRequest", "The notificationUrl is not a valid URL.")
	}
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, ValidationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), http.NoBody)
	if err != nil {
		return refuse("InvalidRequest", "The notificationUrl is not a valid URL.")
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("User-Agent", "allot-graph-notifications/1")
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return refuse("ValidationError", "Subscription validation request timed out.")
		}
		return refuse("ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(token))+1024))
	if err != nil && ctx.Err() != nil {
		return refuse("ValidationError", "Subscription validation request timed out.")
	}
	if resp.StatusCode != http.StatusOK {
		return refuse("ValidationError", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/plain" || string(body) != token {
		return refuse("InvalidRequest", "Subscription validation request failed. Response must exactly match validationToken query parameter.")
	}
	return nil
}

// newToken is an opaque validation token.
func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newUUID is a random (version 4) UUID: Graph's subscription ids are GUIDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
