// Package audit holds the shape of allot's append-only audit log: what the
// licensing engine records and what the stores keep and query.
package audit

import "time"

// Actor names used for changes nobody asked for directly.
const (
	// ActorGroupLicensing is the actor of every change the engine makes on its
	// own because of a group (membership, group license, waiting room).
	ActorGroupLicensing = "group-based licensing"
)

// Entry is one line of the audit log. Entries are never changed or deleted.
type Entry struct {
	TenantID string    `json:"tenantId"`
	Seq      int64     `json:"seq"` // per tenant, strictly increasing; assigned by the tenant runtime
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`  // a principal's display name and id, or ActorGroupLicensing
	Action   string    `json:"action"` // e.g. "Change user license", "Set group license"
	UserID   string    `json:"userId,omitempty"`
	GroupID  string    `json:"groupId,omitempty"`
	SKUID    string    `json:"skuId,omitempty"`
	// Why says which group, rule or command caused the change, in words.
	Why string `json:"why,omitempty"`
	// Detail is free text or JSON describing the change (old and new state).
	Detail string `json:"detail,omitempty"`
}

// Query selects audit entries. Empty fields do not filter. Results are in
// Seq order; AfterSeq pages forward.
type Query struct {
	TenantID string
	UserID   string
	GroupID  string
	SKUID    string
	From, To time.Time // inclusive From, exclusive To; zero means unbounded
	AfterSeq int64
	Limit    int // 0 means 1000
}
