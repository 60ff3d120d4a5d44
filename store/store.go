// Package store defines what allot persists and the contract every backend
// (store/sqlite, store/postgres) keeps. The contract suite in store/storetest
// runs against each backend.
//
// The model is deliberately small: a tenant's state is a set of objects
// keyed by (tenant_id, kind, id) whose bodies are opaque bytes (JSON, or a
// binary record format for the engine's records: docs/STORAGE.md); the
// tenant runtime is the only writer of a tenant and commits batches of
// mutations atomically. Backends lay the objects out as a snapshot plus a
// log of change records (package store/statelog). Audit
// entries and tokens have their own tables because they are queried by
// columns. Every primary key begins with tenant_id so that the schema can be
// distributed by tenant (Citus, YugabyteDB) unchanged.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"allot/audit"
)

// Errors returned by every backend. Callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

// PartnerTenant is the tenant id under which partner-level principals
// (which manage customers) are stored.
const PartnerTenant = "partner"

// Tenant is one organisation (a Partner Center "customer").
type Tenant struct {
	ID                   string    `json:"id"`
	CompanyName          string    `json:"companyName"`
	Domain               string    `json:"domain"`
	DefaultUsageLocation string    `json:"defaultUsageLocation"`
	Settings             []byte    `json:"settings,omitempty"` // JSON, owned by the runtime
	CreatedAt            time.Time `json:"createdAt"`
}

// Kind names a type of tenant object.
type Kind string

// The kinds of object a tenant has. New kinds need no schema change.
const (
	KindUser          Kind = "user"
	KindGroup         Kind = "group"
	KindMember        Kind = "member"        // id "groupId/memberId"; body: docs/STORAGE.md
	KindGroupLicense  Kind = "groupLicense"  // id "groupId/skuId"
	KindDirectLicense Kind = "directLicense" // id "userId/skuId"
	KindLicense       Kind = "license"       // id "userId/skuId": seat claim and derived state
	KindSubscription  Kind = "subscription"
	KindProduct       Kind = "product" // custom catalog products of the tenant
	KindAllotment     Kind = "allotment"
	KindSetting       Kind = "setting"
	KindUnits         Kind = "units"  // id skuId: a SKU's prepaid units (derived from subscriptions)
	KindDomain        Kind = "domain" // id: the lower-case domain name (package identity)
)

// Object is one stored record of a tenant.
type Object struct {
	Kind Kind
	ID   string
	Body []byte // JSON
	// Prepared is what a load's LoadOptions.NewPrepare function made of
	// the object (nil: nothing; always nil outside such a load).
	Prepared any
}

// LoadOptions tune ChangeLog.LoadObjectsAt for a caller that decodes
// every object it is given (a tenant's load). The zero value changes
// nothing.
type LoadOptions struct {
	// NewPrepare, when set, makes the function that one of the backend's
	// decoding goroutines calls on each object of a snapshot before the
	// object is passed to fn; each goroutine makes its own, which may keep
	// state from call to call. It may set the object's Prepared (and only
	// that), for fn: decoding there runs beside the reading, on every
	// core. Objects that are not a snapshot's (the log's later records,
	// rows of the legacy layout) are not prepared.
	NewPrepare func() func(*Object)
	// Transient says that fn keeps no view of the ID or the Body of an
	// object it is given once it has returned (it copies what it keeps):
	// the backend may then reuse their memory for objects read later, and
	// a large load leaves far less garbage.
	Transient bool
}

// Mutation writes (upserts) or deletes one object.
type Mutation struct {
	Kind   Kind
	ID     string
	Body   []byte // ignored when Delete
	Delete bool   // deleting a missing object is not an error
}

// Change is everything one batch of commands did to one tenant.
type Change struct {
	TenantID  string
	Mutations []Mutation    // applied in order
	Audit     []audit.Entry // appended; Seq must be unique within the tenant
	// Fence is the fencing token of the tenant's lease (Leaser) this
	// change is written under; 0 when the process owns the whole
	// database. A store with leases refuses the whole commit with
	// ErrFenced unless Fence is the tenant's current token; a store of
	// one writer process (SQLite, PostgreSQL without leases) ignores it.
	Fence int64
	// Seq is set by Commit, when it returns nil, to the log number of the
	// change's record (store/statelog; ChangeLog), or 0 for a change
	// without mutations (which writes no record). Ignored on input.
	Seq int64
}

// Token is a stored API credential. The secret is never stored, only Hash.
type Token struct {
	ID           string     `json:"id"`
	TenantID     string     `json:"tenantId"` // PartnerTenant for partner principals
	DisplayName  string     `json:"displayName"`
	Roles        []string   `json:"roles"`
	AllotmentIDs []string   `json:"allotmentIds,omitempty"`
	Hash         string     `json:"-"` // hex SHA-256 of the secret
	CreatedAt    time.Time  `json:"createdAt"`
	RevokedAt    *time.Time `json:"revokedAt,omitempty"`
}

// Store is the persistence of allot. Implementations are safe for concurrent
// use. Commit is the only way tenant objects change.
type Store interface {
	// CreateTenant stores a new tenant. Returns ErrConflict if the id exists.
	CreateTenant(ctx context.Context, t Tenant) error
	// UpdateTenant replaces a tenant's fields. Returns ErrNotFound if missing.
	UpdateTenant(ctx context.Context, t Tenant) error
	// GetTenant returns ErrNotFound if the tenant does not exist.
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// ListTenants returns every tenant ordered by id.
	ListTenants(ctx context.Context) ([]Tenant, error)
	// DeleteTenant removes a tenant with its objects, audit log and tokens,
	// in one transaction. Returns ErrNotFound if the tenant is missing.
	DeleteTenant(ctx context.Context, id string) error

	// LoadObjects calls fn for every object of the tenant, ordered by kind
	// then id. An error from fn stops the load and is returned.
	LoadObjects(ctx context.Context, tenantID string, fn func(Object) error) error
	// GetObject returns one object or ErrNotFound.
	GetObject(ctx context.Context, tenantID string, kind Kind, id string) (Object, error)

	// Commit applies every change in one transaction and returns only once it
	// is durable (fsync on SQLite, commit on PostgreSQL). On error nothing of
	// any change is applied.
	Commit(ctx context.Context, changes []Change) error

	// CommitBulk commits one large change of one tenant in one transaction
	// and returns only once it is durable, like Commit([]Change{c}), plus
	// new objects: after c's mutations and audit entries it inserts the
	// objects that next returns, one batch per call, until next returns an
	// empty batch. The store is done with a batch when it calls next again:
	// a batch's objects, their keys and bodies included, are valid only
	// until then (the caller reuses their memory), so a store copies what
	// it keeps of them.
	// The objects must come in strictly increasing key order (kind, then
	// id, byte order) and be new: no key may exist in the store or in c's
	// mutations; an existing key fails the commit with an error that wraps
	// ErrConflict, a key out of order (or twice) with another error. If
	// next returns an error, or anything else fails, nothing is applied and
	// the error is returned. Backends write the tenant's whole state as a
	// new snapshot: meant for a tenant with few objects before.
	CommitBulk(ctx context.Context, c Change, next func() ([]Object, error)) error

	// MaxAuditSeq returns the highest audit Seq of the tenant, 0 if none.
	MaxAuditSeq(ctx context.Context, tenantID string) (int64, error)
	// QueryAudit returns entries matching q in Seq order.
	QueryAudit(ctx context.Context, q audit.Query) ([]audit.Entry, error)

	// CreateToken stores a token. Returns ErrConflict if the id or hash exists.
	CreateToken(ctx context.Context, t Token) error
	// TokenByHash returns the token with that hash, revoked or not, or ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// ListTokens returns the tenant's tokens ordered by creation time.
	ListTokens(ctx context.Context, tenantID string) ([]Token, error)
	// RevokeToken marks a token revoked. Returns ErrNotFound if missing.
	RevokeToken(ctx context.Context, tenantID, id string, at time.Time) error

	// Backup writes a consistent copy of the whole database to path while
	// the store stays online (SQLite: VACUUM INTO; PostgreSQL: not supported,
	// returns an error that says to use pg_dump).
	Backup(ctx context.Context, path string) error

	// Close releases the store. Pending commits finish first.
	Close() error
}

// Compactor is a store that keeps a tenant's objects as a snapshot plus a
// log of changes (package store/statelog): Commit appends to the log, and
// Compact folds the log into a new snapshot. Stores compact by themselves
// in the background; Compact is for tests and tools. It changes no
// object: LoadObjects and GetObject answer the same before and after.
type Compactor interface {
	Compact(ctx context.Context, tenantID string) error
}

// Validate checks what a backend's schema cannot — every change has a
// tenant, every mutation a kind and an id, every audit entry the change's
// tenant (or none) — and returns the number of rows the changes write.
func Validate(changes []Change) (int, error) {
	n := 0
	for i, c := range changes {
		if c.TenantID == "" {
			return 0, fmt.Errorf("change %d has no tenant id", i)
		}
		for j, m := range c.Mutations {
			if m.Kind == "" || m.ID == "" {
				return 0, fmt.Errorf("change %d (tenant %q): mutation %d needs a kind and an id", i, c.TenantID, j)
			}
		}
		for _, e := range c.Audit {
			if e.TenantID != "" && e.TenantID != c.TenantID {
				return 0, fmt.Errorf("change %d (tenant %q): audit seq %d belongs to tenant %q", i, c.TenantID, e.Seq, e.TenantID)
			}
		}
		n += len(c.Mutations) + len(c.Audit)
	}
	return n, nil
}
