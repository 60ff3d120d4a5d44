// Package auth is allot's principals, roles and API tokens. Tokens are
// random secrets shown once; only their SHA-256 is stored.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/store"
)

// Roles: the Microsoft Entra built-in roles allot has ("Microsoft Entra
// built-in roles"), the partner administrator (a CSP's admin agent, Partner
// Center "Administer customer accounts"), and AllotmentOwner, allot's
// delegated owner of allotments. Tenant roles are scoped to the token's
// tenant; AllotmentOwner is further scoped to the token's allotments. What
// each may do is the table of can.go.
const (
	RolePartnerAdministrator = "PartnerAdministrator"
	RoleGlobalAdministrator  = "GlobalAdministrator"
	RoleLicenseAdministrator = "LicenseAdministrator"
	RoleUserAdministrator    = "UserAdministrator"
	RoleGroupsAdministrator  = "GroupsAdministrator"
	RoleGlobalReader         = "GlobalReader"
	RoleReportsReader        = "ReportsReader"
	RoleAllotmentOwner       = "AllotmentOwner"
)

// TenantRoles are the roles a tenant token may carry.
var TenantRoles = []string{RoleGlobalAdministrator, RoleLicenseAdministrator, RoleUserAdministrator,
	RoleGroupsAdministrator, RoleGlobalReader, RoleReportsReader, RoleAllotmentOwner}

// Principal is who makes a request.
type Principal struct {
	TokenID      string
	TenantID     string // store.PartnerTenant for the partner administrator
	DisplayName  string
	Roles        []string
	AllotmentIDs []string
}

// IsPartner reports whether the principal is a partner administrator.
func (p *Principal) IsPartner() bool {
	return p.TenantID == store.PartnerTenant && slices.Contains(p.Roles, RolePartnerAdministrator)
}

// Has reports whether the principal has any of the roles.
func (p *Principal) Has(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// Actor is the principal's name for the audit log.
func (p *Principal) Actor() string {
	if p == nil {
		return "system"
	}
	return p.DisplayName + " (" + p.TokenID + ")"
}

type ctxKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the request's principal, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// NewSecret returns a new random token secret.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "allot_" + base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns the stored form of a secret.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// NewID returns a random GUID (version 4).
func NewID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ValidateRoles checks the roles of a new tenant token.
func ValidateRoles(roles []string, allotmentIDs []string) error {
	if len(roles) == 0 {
		return allot.Errorf(allot.EINVALID, "A token needs at least one role: %s.", strings.Join(TenantRoles, ", "))
	}
	for _, r := range roles {
		if !slices.Contains(TenantRoles, r) {
			return allot.Errorf(allot.EINVALID, "Unknown role %q: use %s.", r, strings.Join(TenantRoles, ", "))
		}
	}
	if slices.Contains(roles, RoleAllotmentOwner) && len(allotmentIDs) == 0 {
		return allot.Errorf(allot.EINVALID, "An AllotmentOwner token needs allotmentIds.")
	}
	return nil
}

// Create stores a new token and returns it with its secret (shown once).
// An empty secret gets a random one.
func Create(ctx context.Context, st store.Store, tenantID, displayName string, roles, allotmentIDs []string, secret string, now time.Time) (store.Token, string, error) {
	if secret == "" {
		secret = NewSecret()
	}
	if displayName == "" {
		displayName = "token"
	}
	t := store.Token{ID: NewID(), TenantID: tenantID, DisplayName: displayName, Roles: roles, AllotmentIDs: allotmentIDs,
		Hash: Hash(secret), CreatedAt: now.UTC()}
	if err := st.CreateToken(ctx, t); err != nil {
		return store.Token{}, "", err
	}
	return t, secret, nil
}

// Authenticator resolves bearer tokens to principals, with a short-lived
// cache so that the hot path does not query the store.
type Authenticator struct {
	st  store.Store
	ttl time.Duration
	mu  sync.Mutex
	c   map[string]cached
	// forgets counts Forget calls: a lookup that started before a Forget
	// does not cache what it read, which may predate the revocation.
	forgets uint64
}

type cached struct {
	p       *Principal
	expires time.Time
}

// NewAuthenticator returns an authenticator over the store's tokens.
func NewAuthenticator(st store.Store) *Authenticator {
	return &Authenticator{st: st, ttl: 30 * time.Second, c: map[string]cached{}}
}

// ErrUnauthenticated: no valid token.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticate returns the principal of an Authorization header value.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Principal, error) {
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, ErrUnauthenticated
	}
	return a.AuthenticateHash(ctx, Hash(strings.TrimSpace(secret)))
}

// AuthenticateHash returns the principal of the token whose secret has the
// hash h (Hash): what a server-side session keeps instead of the secret.
// ErrUnauthenticated for an unknown or revoked token.
func (a *Authenticator) AuthenticateHash(ctx context.Context, h string) (*Principal, error) {
	now := time.Now()
	a.mu.Lock()
	if c, ok := a.c[h]; ok && now.Before(c.expires) {
		a.mu.Unlock()
		return c.p, nil
	}
	forgets := a.forgets
	a.mu.Unlock()
	t, err := a.st.TokenByHash(ctx, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrUnauthenticated
	}
	if err != nil {
		return nil, err
	}
	if t.RevokedAt != nil {
		return nil, ErrUnauthenticated
	}
	p := &Principal{TokenID: t.ID, TenantID: t.TenantID, DisplayName: t.DisplayName, Roles: t.Roles, AllotmentIDs: t.AllotmentIDs}
	a.mu.Lock()
	if len(a.c) > 100000 {
		a.c = map[string]cached{}
	}
	if a.forgets == forgets {
		a.c[h] = cached{p, now.Add(a.ttl)}
	}
	a.mu.Unlock()
	return p, nil
}

// Forget drops cached principals of a token (after revocation), so that
// the token is refused from the next request on. A lookup in flight during
// Forget does not cache its result.
func (a *Authenticator) Forget(tokenID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.forgets++
	for h, c := range a.c {
		if c.p.TokenID == tokenID {
			delete(a.c, h)
		}
	}
}
