package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"allot/store"
	"allot/tenant"
	"allot/web/demo"
)

// startDemo is `allot serve --demo`: it creates the demo tenant unless it
// exists, and writes to w where the admin center is and fresh sign-in
// tokens.
func startDemo(ctx context.Context, rt *tenant.Runtime, st store.Store, base string, w io.Writer) error {
	start := time.Now()
	info, err := demo.Ensure(ctx, rt, st, demo.Options{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	what := "the demo tenant exists already"
	if info.Created {
		what = fmt.Sprintf("created the demo tenant in %.1f s", time.Since(start).Seconds())
	}
	fmt.Fprintf(w, `
allot demo: %s: Contoso (demo), %d users, tenant %s.

  Admin center: %s/admin/
  Sign in with one of these tokens (new ones at every start):

    Global Administrator   %s
    Global Reader          %s   (sees everything, changes nothing)
    Allotment owner        %s   (sees only the Finance allotment)

`, what, info.Users, info.TenantID, base, info.AdminToken, info.ReaderToken, info.OwnerToken)
	return nil
}
