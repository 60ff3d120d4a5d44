package postgres_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
)

// docs/SCALING.md gives the Citus distribution DDL of the schema. It must
// name every table of a migrated schema exactly once: a table with a
// tenant_id column distributed by it (colocated with tenants) unless it is
// listed as a reference table, a table without one as a reference table
// (and nothing that is not a table of the schema). So a migration that
// adds a table fails here until the document says how to distribute it.
func TestCitusDDLInTheDocNamesEveryTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/SCALING.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)<!-- citus-ddl -->\\s*```sql\n(.*?)```").FindSubmatch(doc)
	if block == nil {
		t.Fatal("docs/SCALING.md has no ```sql block after <!-- citus-ddl -->")
	}
	ddl := string(block[1])
	distributed, reference := citusTables(t, ddl)

	openStore(t) // migrates the schema and makes owner_lease
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, schemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	checkEveryTableNamed(t, conn, distributed, reference)
	checkUniqueIndexesOfDistributed(t, conn, distributed)
	// The lease check of every commit runs on the tenant's shard.
	if !regexp.MustCompile(`create_distributed_function\('lease_fence\(text,\s*bigint\)', 'tenant', colocate_with => 'tenant_leases'\)`).MatchString(ddl) {
		t.Error("the DDL does not distribute lease_fence with tenant_leases")
	}
}

// citusTables reads the tables the DDL distributes (by tenant_id,
// colocated with tenants) and makes reference tables, each named once.
func citusTables(t *testing.T, ddl string) (distributed, reference map[string]bool) {
	distributed = map[string]bool{}
	reference = map[string]bool{}
	for _, m := range regexp.MustCompile(`create_distributed_table\('(\w+)', 'tenant_id'(, colocate_with => '(\w+)')?\)`).FindAllStringSubmatch(ddl, -1) {
		if distributed[m[1]] {
			t.Errorf("%s is distributed twice", m[1])
		}
		distributed[m[1]] = true
		if m[1] != "tenants" && m[3] != "tenants" {
			t.Errorf("%s is not colocated with tenants", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`create_reference_table\('(\w+)'\)`).FindAllStringSubmatch(ddl, -1) {
		if reference[m[1]] || distributed[m[1]] {
			t.Errorf("%s is named twice", m[1])
		}
		reference[m[1]] = true
	}
	if n := len(regexp.MustCompile(`create_(distributed|reference)_table`).FindAllString(ddl, -1)); n != len(distributed)+len(reference) {
		t.Errorf("%d create_…_table calls, %d understood: each must be create_distributed_table('<t>', 'tenant_id'[, colocate_with => 'tenants']) or create_reference_table('<t>')", n, len(distributed)+len(reference))
	}
	return distributed, reference
}

// checkEveryTableNamed: every table of the migrated schema is distributed
// (only one with tenant_id) or a reference table, and the DDL names no
// other.
func checkEveryTableNamed(t *testing.T, conn *pgx.Conn, distributed, reference map[string]bool) {
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		var tenantScoped bool
		if err := rows.Scan(&name, &tenantScoped); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
		switch {
		case !distributed[name] && !reference[name]:
			t.Errorf("table %s is not in the Citus DDL of docs/SCALING.md", name)
		case distributed[name] && !tenantScoped:
			t.Errorf("table %s has no tenant_id but the DDL distributes it by tenant_id", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for name := range distributed {
		if !slices.Contains(tables, name) {
			t.Errorf("the DDL distributes %s, which is not a table of the schema", name)
		}
	}
	for name := range reference {
		if !slices.Contains(tables, name) {
			t.Errorf("the DDL makes %s a reference table, which is not a table of the schema", name)
		}
	}
	if len(tables) < 10 {
		t.Fatalf("only %d tables in the schema (%v): the query no longer finds them", len(tables), tables)
	}
}

// checkUniqueIndexesOfDistributed: Citus requires a distributed table's
// unique indexes to include the distribution column: a table with one that
// does not (a hash looked up across tenants) must be a reference table.
func checkUniqueIndexesOfDistributed(t *testing.T, conn *pgx.Conn, distributed map[string]bool) {
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT t.relname, i.relname FROM pg_index ix
		JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND ix.indisunique
		AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attname = 'tenant_id' AND a.attnum = ANY (ix.indkey))`)
	if err != nil {
		t.Fatal(err)
	}
	crossTenant := 0
	for rows.Next() {
		var table, index string
		if err := rows.Scan(&table, &index); err != nil {
			t.Fatal(err)
		}
		crossTenant++
		if distributed[table] {
			t.Errorf("%s is distributed but its unique index %s does not include tenant_id: make it a reference table", table, index)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if crossTenant < 2 {
		t.Errorf("%d unique indexes without tenant_id found; the token and session hashes are two: the query no longer finds them", crossTenant)
	}
}
