package main

import (
	"context"
	"errors"
	"fmt"

	"allot/store"
	"allot/store/postgres"
	"allot/store/sqlite"
	"allot/tenant"
)

// Commands that write open the database with openStore and so own it (see
// store.ErrInUse): while allot serve runs on a database, they are refused.
// Commands that only read (export, report, groups rule-test) open it
// read-only and work beside a running server.

// openStoreReadOnly opens --db for reading only.
func openStoreReadOnly(ctx context.Context, db string) (store.Store, error) {
	if err := requireDatabase(db); err != nil {
		return nil, err
	}
	if isPostgres(db) {
		return postgres.OpenReadOnly(ctx, db)
	}
	return sqlite.OpenReadOnly(db)
}

// withTenantReadOnly is withTenant on a read-only store.
func withTenantReadOnly(ctx context.Context, db, tenantID string, fn func(t *tenant.Tenant) error) error {
	st, err := openStoreReadOnly(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	return onTenant(ctx, st, tenantID, func(_ *tenant.Runtime, t *tenant.Tenant) error { return fn(t) })
}

// inUseHints says, per command, how to do the same through the running
// server's API.
var inUseHints = map[string]string{
	"allot import tenant":  "POST /allot/v1/tenants/{tenantId}/import with the bundle as a .zip (Content-Type: application/zip)",
	"allot import usage":   "POST /allot/v1/usage/reports with the report file",
	"allot import signins": "POST /allot/v1/signins with the sign-in export",
	"allot prices import":  "PUT /allot/v1/prices with the CSV",
	"allot token create":   "POST /allot/v1/tenants/{tenantId}/tokens (a partner administrator token can only be created offline: stop the server first)",
	"allot token revoke": "DELETE /allot/v1/tenants/{tenantId}/tokens/{id}; the server refuses the token at once " +
		"(a partner administrator token can only be revoked offline: stop the server, revoke, start it again)",
	"allot serve":  "another allot serve already serves this database; run one server per database",
	"allot doctor": "stop allot serve, then run allot doctor --repair (without --repair, allot doctor only reads and works beside the server)",
}

// explainInUse adds the command's API equivalent to a refusal because
// another process owns the database.
func explainInUse(command string, err error) error {
	if !errors.Is(err, store.ErrInUse) {
		return err
	}
	if hint, ok := inUseHints[command]; ok {
		return fmt.Errorf("%w\n  instead: %s", err, hint)
	}
	return err
}
