package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Every table of tenant data can be distributed by tenant (Citus,
// YugabyteDB): its primary key and every unique index lead with
// tenant_id. The exceptions are named with their reason: tables of the
// process (one row each) and the token and session hashes, unique across
// tenants because a presented secret is looked up by hash alone (reference
// tables in a distributed database).
func TestEveryKeyLeadsWithTenantID(t *testing.T) {
	openStore(t) // creates the schema
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exempt := map[string]string{
		"schema_migrations": "the schema's version, one row per migration",
		"write_probe":       "one row the write probe bumps",
		"owner_lease":       "one row: the process that owns the schema",
		"processes":         "one row per process sharing the database (tenant placement)",
		"tokens_hash_key":   "a token is looked up by the hash of its secret alone",
		"sessions_hash_key": "a session is looked up by the hash of its cookie alone",
	}
	rows, err := conn.Query(ctx, `SELECT t.relname, i.relname, ix.indisprimary,
			(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum = ix.indkey[0])
		FROM pg_index ix
		JOIN pg_class i ON i.oid = ix.indexrelid
		JOIN pg_class t ON t.oid = ix.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND (ix.indisunique OR ix.indisprimary)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	var tables []string
	for rows.Next() {
		var table, index, first string
		var primary bool
		if err := rows.Scan(&table, &index, &primary, &first); err != nil {
			t.Fatal(err)
		}
		checked++
		tables = append(tables, table)
		if _, ok := exempt[table]; ok {
			continue
		}
		if _, ok := exempt[index]; ok {
			continue
		}
		if first != "tenant_id" {
			t.Errorf("%s: key %s (primary %v) starts with %s, not tenant_id", table, index, primary, first)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"objects", "audit", "tokens", "state_changes", "state_snapshots", "state_heads", "sessions", "tenant_leases"} {
		if !strings.Contains(" "+strings.Join(tables, " ")+" ", " "+want+" ") {
			t.Errorf("no key of %s was checked (tables seen: %v)", want, tables)
		}
	}
}
