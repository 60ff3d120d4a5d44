package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"allot/store"
	"allot/store/postgres"
	"allot/store/storetest"
)

// Several processes starting at once on an empty schema: the advisory lock
// lets one migrate, the others wait and find the schema done.
func TestOpenConcurrentlyMigratesOnce(t *testing.T) {
	url := schemaURL(t)
	storetest.OpenAtOnce(t, 4, func() (store.Store, error) { return postgres.Open(context.Background(), url) })
	conn := connect(t, url)
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations WHERE version = 1`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("migration 1 recorded %d times (%v), want once", n, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	url := schemaURL(t)
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	conn := connect(t, url)
	if _, err := conn.Exec(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(t.Context(), url); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer schema = %v, want an error saying so", err)
	}
}

func TestBackupSaysUsePgDump(t *testing.T) {
	s := openStore(t)
	if err := s.Backup(t.Context(), "/tmp/x"); err == nil || !strings.Contains(err.Error(), "pg_dump") {
		t.Fatalf("Backup = %v, want an error naming pg_dump", err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
