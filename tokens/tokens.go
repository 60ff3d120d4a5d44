// Package tokens creates and revokes a tenant's API tokens as one
// operation: the checks (roles, allotments, name length), the stored token
// (auth.Create), the audit entry, and the owner's name listed on the
// allotments an AllotmentOwner token is scoped to. The admin API
// (/allot/v1/tenants/{id}/tokens) and the admin center's tokens page call
// it, so both refuse and record the same.
package tokens

import (
	"context"
	"errors"
	"slices"
	"unicode/utf8"

	"allot"
	"allot/audit"
	"allot/auth"
	"allot/identity"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// Request is a token to create.
type Request struct {
	DisplayName  string
	Roles        []string
	AllotmentIDs []string
}

// Check validates a request against the tenant: known roles (an
// AllotmentOwner token needs allotments, auth.ValidateRoles), a
// displayName of at most identity.MaxDisplayName characters, and
// allotments that exist.
func Check(t *tenant.Tenant, in Request) error {
	if err := auth.ValidateRoles(in.Roles, in.AllotmentIDs); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(in.DisplayName); n > identity.MaxDisplayName {
		return allot.Errorf(allot.EINVALID, "displayName has %d characters; the most allowed is %d.", n, identity.MaxDisplayName)
	}
	var missing string
	t.Read(func(s *tenant.State) {
		for _, id := range in.AllotmentIDs {
			if _, ok := s.Engine.AllotmentByID(id); !ok && missing == "" {
				missing = id
			}
		}
	})
	if missing != "" {
		return allot.Errorf(allot.EINVALID, "Allotment %s does not exist.", missing)
	}
	return nil
}

// Create checks a request (Check), stores the token and returns it with
// its secret (shown once, never stored), then records "Create API token"
// and lists the token's displayName among the owners of its allotments,
// so that people can see who manages them. A refused request stores
// nothing.
func Create(ctx context.Context, st store.Store, t *tenant.Tenant, op licensing.Op, in Request) (store.Token, string, error) {
	if err := Check(t, in); err != nil {
		return store.Token{}, "", err
	}
	tok, secret, err := auth.Create(ctx, st, t.ID, in.DisplayName, in.Roles, in.AllotmentIDs, "", op.Now)
	if err != nil {
		return store.Token{}, "", err
	}
	err = t.Do(ctx, op, func(tx *tenant.Tx) error {
		tx.Audit(audit.Entry{Action: "Create API token", Detail: tok.ID + " " + tok.DisplayName})
		for _, id := range tok.AllotmentIDs {
			a, ok := tx.Engine.AllotmentByID(id)
			if !ok || slices.Contains(a.Owners, tok.DisplayName) {
				continue
			}
			next := a.Allotment
			next.Owners = append(append([]string(nil), a.Owners...), tok.DisplayName)
			if err := identity.PutAllotment(tx, next); err != nil {
				return err
			}
		}
		return nil
	})
	return tok, secret, err
}

// Revoke revokes a token of the tenant (ENOTFOUND when it has no such
// token), makes the authenticator forget it at once, and records "Revoke
// API token".
func Revoke(ctx context.Context, st store.Store, a *auth.Authenticator, t *tenant.Tenant, op licensing.Op, id string) error {
	if err := st.RevokeToken(ctx, t.ID, id, op.Now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = allot.Errorf(allot.ENOTFOUND, "Token %s does not exist.", id)
		}
		return err
	}
	a.Forget(id)
	_ = t.Do(ctx, op, func(tx *tenant.Tx) error {
		tx.Audit(audit.Entry{Action: "Revoke API token", Detail: id})
		return nil
	})
	return nil
}
