package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"allot/auth"
	"allot/store"
)

// firstRun runs at every start of allot serve, after ALLOT_BOOTSTRAP_TOKEN
// was applied. A database with no partner administrator token at all (a
// new database) gets one, and w gets its secret — once: the database keeps
// only its hash, and the next start finds the token and prints nothing. A
// database whose partner administrator tokens were all revoked gets none
// (someone revoked them on purpose); w gets how to create one. base is the
// server's address ("http://127.0.0.1:8080").
func firstRun(ctx context.Context, st store.Store, w io.Writer, base, db string, now time.Time) error {
	ts, err := st.ListTokens(ctx, store.PartnerTenant)
	if err != nil {
		return fmt.Errorf("looking for a partner administrator: %w", err)
	}
	revoked := false
	for _, t := range ts {
		if !hasRole(t.Roles, auth.RolePartnerAdministrator) {
			continue
		}
		if t.RevokedAt == nil {
			return nil // the usual start: an administrator exists
		}
		revoked = true
	}
	if revoked {
		fmt.Fprintf(w, `
allot: every partner administrator token of this database is revoked, so
nothing can manage customers. To create one: stop allot and run

    allot token create --partner --db %s

or start allot with ALLOT_BOOTSTRAP_TOKEN=<a secret of your choice>.

`, db)
		return nil
	}
	t, secret, err := auth.Create(ctx, st, store.PartnerTenant, "first-run partner administrator", []string{auth.RolePartnerAdministrator}, nil, "", now)
	if err != nil {
		return fmt.Errorf("creating the first partner administrator: %w", err)
	}
	fmt.Fprintf(w, `
allot: first run — created a partner administrator (token id %s).
Its token is shown this once; keep it somewhere safe:

    %s

  Admin center:  %s/admin/   (sign in with the token)
  API:           curl -H 'Authorization: Bearer %s' %s/partner/v1/customers
  API reference: %s/docs/api   (OpenAPI 3.1: %s/openapi.json)

Next:
  1. Create a customer:    POST %s/partner/v1/customers
                           {"companyProfile":{"companyName":"Contoso","domain":"contoso.example"},"defaultUsageLocation":"US"}
  2. Buy units for it:     POST %s/partner/v1/customers/{id}/subscriptions {"offerId":"SPE_E3","quantity":25}
  3. Give it a token:      POST %s/allot/v1/tenants/{id}/tokens {"displayName":"admin","roles":["GlobalAdministrator"]}
                           and use that token with Graph (%s/v1.0/…) or the admin center.
Lost the token? Stop allot, then: allot token create --partner --db %s

`, t.ID, secret, base, secret, base, base, base, base, base, base, base, db)
	return nil
}

func hasRole(roles []string, role string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}
