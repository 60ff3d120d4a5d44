// Package audit holds the shape of allot's append-only audit log: what the
// licensing engine records and what the stores keep and query.
package audit

import (
	"sort"
	"time"
)

// Actor names used for changes nobody asked for directly.
const (
	// ActorGroupLicensing is the actor of every change the engine makes on its
	// own because of a group (membership, group license, waiting room): the
	// system account Microsoft's audit logs name, case-sensitive (Entra docs,
	// "licensing-group-advanced": use Audit logs to monitor group-based
	// licensing activity).
	ActorGroupLicensing = "Microsoft Entra group-Based Licensing"
)

// Microsoft's audit activity names for licensing (Entra audit log activity
// reference, category GroupManagement / UserManagement), which admins'
// queries and Microsoft's docs filter on.
const (
	// ActivitySetGroupLicense: licenses added to, changed on or removed
	// from a group (Detail: old and new values).
	ActivitySetGroupLicense = "Set group license"
	// ActivityStartApplying: the system starts applying a group's license
	// change to its members (Detail: the changes picked up).
	ActivityStartApplying = "Start applying group based license to users"
	// ActivityFinishApplying: the system finished (Detail: "Users
	// successfully assigned licenses: N, Users for whom license assignment
	// failed: M.").
	ActivityFinishApplying = "Finish applying group based license to users"
	// ActivityRecalculateGroup: an administrator asked to reprocess a group.
	ActivityRecalculateGroup = "Trigger group license recalculation"
	// ActivityChangeUserLicense: a user's licenses changed (directly or as
	// the result of a group).
	ActivityChangeUserLicense = "Change user license"
)

// legacy maps names earlier versions of allot stored to Microsoft's.
// Stored entries are never rewritten: readers see them under the current
// names (Canonical) and queries match both (Aliases).
var legacy = map[string]string{
	"group-based licensing": ActorGroupLicensing,
	"Remove group license":  ActivitySetGroupLicense,
}

// Canonical renames an entry's legacy actor and action to Microsoft's.
func Canonical(e *Entry) {
	if n, ok := legacy[e.Actor]; ok && n == ActorGroupLicensing {
		e.Actor = n
	}
	if n, ok := legacy[e.Action]; ok && n != ActorGroupLicensing {
		e.Action = n
	}
}

// Aliases returns every stored spelling of an actor or activity name:
// the name and the legacy names that mean it.
func Aliases(name string) []string {
	var out []string
	for old, n := range legacy {
		if n == name {
			out = append(out, old)
		}
	}
	sort.Strings(out)
	return append([]string{name}, out...)
}

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
// Seq order (newest first when Newest is set); AfterSeq pages forward,
// BeforeSeq backward.
type Query struct {
	TenantID string
	UserID   string
	GroupID  string
	SKUID    string
	// Activity and Actor match an entry's action and actor exactly, under
	// their current or legacy names (Aliases).
	Activity  string
	Actor     string
	From, To  time.Time // inclusive From, exclusive To; zero means unbounded
	AfterSeq  int64     // only entries with a larger Seq; 0 means unbounded
	BeforeSeq int64     // only entries with a smaller Seq; 0 means unbounded
	Newest    bool      // descending Seq: the newest matching entries first
	Limit     int       // 0 means 1000
}

// QueryParams are the query parameters of GET /allot/v1/audit, with what
// each means: the handler (api/admin) accepts exactly these and the OpenAPI
// document lists them from here. Any other
// parameter is refused (400): a misspelt filter must not silently return
// the whole log.
var QueryParams = []struct{ Name, Description string }{
	{"userId", "Only entries about this user (id)."},
	{"groupId", "Only entries about this group (id)."},
	{"skuId", "Only entries about this product: a skuId or a part number (e.g. ENTERPRISEPACK)."},
	{"activity", `Only this activity, by Microsoft's name (e.g. "Set group license", "Change user license", "Update subscription units").`},
	{"actor", `Only entries by this actor (e.g. "Microsoft Entra group-Based Licensing", or a principal's name as entries show it).`},
	{"from", "Only entries at or after this RFC 3339 time."},
	{"to", "Only entries before this RFC 3339 time."},
	{"before", "Paging, newest first: only entries with a smaller seq (the nextLink sets it)."},
	{"after", "Paging, oldest first: only entries with a larger seq (the nextLink sets it)."},
	{"top", "Page size, 1-1000 (default 100); $top is the same."},
	{"$top", "Page size, 1-1000 (default 100)."},
	{"$orderby", `"at desc" (the default: newest first) or "at asc" (oldest first); seq is the same as at.`},
	{"$filter", `OData filter: "and" of userId, groupId, skuId, activity, actor eq 'value' and at ge/gt/le/lt a date-time, e.g. userId eq 'u1' and at ge 2026-01-01T00:00:00Z.`},
}
