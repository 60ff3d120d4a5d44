// Package demo builds the demo tenant of `allot serve --demo`: a realistic
// organisation of a few thousand people across departments and countries,
// static and dynamic groups, Microsoft 365 E3/E5, Business Premium, EMS and
// add-ons with some products short of seats (so waiting rooms and errors
// have something to show), allotments (one with a delegated owner), a
// price list, a large shared mailbox, usage data and a first license
// position snapshot — and sign-in tokens for the admin center.
//
// The tenant is the same on every machine: ids and names come from a
// seeded generator, times are relative to the moment it is created.
package demo

import (
	"context"
	"fmt"
	"time"

	"allot"
	"allot/auth"
	"allot/identity"
	"allot/licensing"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// TenantID is the demo tenant's id.
const TenantID = "c0de0000-de30-4000-8000-000000000001"

// Token names; earlier demo tokens with these names are revoked when new
// ones are made.
const (
	adminTokenName  = "Demo administrator"
	readerTokenName = "Demo reader"
	ownerTokenName  = "Demo allotment owner (Finance)"
)

// Info is what Ensure made: the tenant and fresh sign-in tokens.
type Info struct {
	TenantID string
	Created  bool // false when the tenant existed already
	Users    int
	// Tokens (secrets, shown once): a Global Administrator, a Global
	// Reader, and the delegated owner of OwnedAllotment.
	AdminToken, ReaderToken, OwnerToken string
	OwnedAllotment                      string
	OtherAllotment                      string
}

// Options size the demo.
type Options struct {
	// People is the number of employees (default 3,000).
	People int
	// SkipUsage leaves out the usage data and the position snapshot
	// (tests, to stay quick).
	SkipUsage bool
}

// Ensure creates the demo tenant unless it exists, then issues new tokens
// (revoking the previous demo tokens, whose secrets are gone).
func Ensure(ctx context.Context, rt *tenant.Runtime, st store.Store, opts Options) (Info, error) {
	if opts.People <= 0 {
		opts.People = 3000
	}
	info := Info{TenantID: TenantID, OwnedAllotment: allotFinanceID, OtherAllotment: allotMarketingID}
	// The demo tenant may still be loading (allot serve loads tenants in
	// the background): wait for it rather than create it again.
	t, werr := rt.Wait(ctx, TenantID)
	if werr != nil && allot.ErrorCode(werr) != allot.ENOTFOUND {
		return info, werr
	}
	if werr != nil {
		now := rt.Now().Truncate(time.Second)
		var err error
		t, err = rt.Create(ctx, store.Tenant{ID: TenantID, CompanyName: "Contoso (demo)", Domain: "contoso.example",
			DefaultUsageLocation: "US", CreatedAt: now.AddDate(0, 0, -400)}, licensing.Settings{DefaultUsageLocation: "US"},
			func(tx *tenant.Tx) error { // the initial domain, and the one of the Fabrikam people
				if _, err := identity.AddDomain(tx, "contoso.example", true); err != nil {
					return err
				}
				_, err := identity.AddDomain(tx, "fabrikam.example", false)
				return err
			})
		if err != nil {
			return info, fmt.Errorf("creating the demo tenant: %w", err)
		}
		d := generate(opts.People, now)
		if err := t.Do(ctx, licensing.Op{Actor: "allot demo", Now: now, Why: "demo tenant"}, func(tx *tenant.Tx) error {
			return d.apply(tx)
		}); err != nil {
			return info, fmt.Errorf("filling the demo tenant: %w", err)
		}
		if !opts.SkipUsage {
			if err := ingestUsage(ctx, t, d, now); err != nil {
				return info, fmt.Errorf("demo usage data: %w", err)
			}
			if err := snapshot(ctx, t, now); err != nil {
				return info, fmt.Errorf("demo license position: %w", err)
			}
		}
		info.Created = true
	}
	t.Read(func(s *tenant.State) { info.Users = s.Engine.UserCount() })
	var err error
	if info.AdminToken, err = freshToken(ctx, st, rt.Now(), adminTokenName, []string{auth.RoleGlobalAdministrator}, nil); err != nil {
		return info, err
	}
	if info.ReaderToken, err = freshToken(ctx, st, rt.Now(), readerTokenName, []string{auth.RoleGlobalReader}, nil); err != nil {
		return info, err
	}
	if info.OwnerToken, err = freshToken(ctx, st, rt.Now(), ownerTokenName, []string{auth.RoleAllotmentOwner}, []string{allotFinanceID}); err != nil {
		return info, err
	}
	return info, nil
}

// freshToken revokes the tenant's earlier tokens of that name and creates
// a new one, both at now.
func freshToken(ctx context.Context, st store.Store, now time.Time, name string, roles, allotments []string) (string, error) {
	ts, err := st.ListTokens(ctx, TenantID)
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		if t.DisplayName == name && t.RevokedAt == nil {
			if err := st.RevokeToken(ctx, TenantID, t.ID, now); err != nil {
				return "", err
			}
		}
	}
	_, secret, err := auth.Create(ctx, st, TenantID, name, roles, allotments, "", now)
	return secret, err
}

// apply fills the empty tenant in one command: subscriptions (one unit
// each, so that the products exist), the directory and its licenses as
// one bulk import (which computes every license at once), then the
// subscriptions' real quantities: enough for some products, short for
// others — the users who claimed a seat last wait, oldest first.
func (d *data) apply(tx *tenant.Tx) error {
	e := tx.Engine
	for _, p := range d.products {
		sku, ok := e.Catalog().SKU(p.part)
		if !ok {
			return fmt.Errorf("the catalog has no %s", p.part)
		}
		p.skuID = sku.ID
		sub := subscription.Subscription{ID: p.subID, OfferID: p.part, SKUID: sku.ID, SKUPartNumber: sku.PartNumber, FriendlyName: sku.DisplayName,
			Quantity: p.allotted + 1, Status: "active", CreationDate: p.bought, LastModifiedDate: p.bought,
			Attributes: subscription.Attributes{ObjectType: "Subscription"}}
		p.sub = sub
		if err := subscription.Put(tx, sub); err != nil {
			return err
		}
	}
	if err := priceList(tx, d); err != nil {
		return err
	}
	if _, err := e.Import(tx.Op, d.importData()); err != nil {
		return err
	}
	inAllotments := map[string]int{}
	for _, a := range e.Allotments() {
		inAllotments[a.SKUID] += a.ConsumedUnits
	}
	for _, p := range d.products {
		pool, _ := e.Pool(p.skuID)
		demand := pool.Consumed - inAllotments[p.skuID] + pool.Waiting // outside allotments
		q := max(1, demand+p.spare+p.allotted)
		if p.short > 0 {
			q = max(1, demand-p.short+p.allotted)
		}
		p.sub.Quantity, p.sub.LastModifiedDate = q, tx.Op.Now
		if err := subscription.Put(tx, p.sub); err != nil {
			return err
		}
	}
	return nil
}
