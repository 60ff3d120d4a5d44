package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// --ha needs PostgreSQL and a lease time from 1s to 1h; a bad one is a
// usage error (exit code 2) before anything is opened or listened on.
func TestServeHAFlagsAreChecked(t *testing.T) {
	db := filepath.Join(t.TempDir(), "allot.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--ha", "--db", db, "--addr", "127.0.0.1:0"}, "needs a PostgreSQL --db"},
		{[]string{"serve", "--ha", "--db", "postgres://127.0.0.1:1/x", "--lease-ttl", "500ms", "--addr", "127.0.0.1:0"}, "--lease-ttl"},
		{[]string{"serve", "--ha", "--db", "postgres://127.0.0.1:1/x", "--lease-ttl", "ten", "--addr", "127.0.0.1:0"}, "--lease-ttl"},
		{[]string{"serve", "--ha", "--db", "postgres://127.0.0.1:1/x", "--lease-ttl", "2h", "--addr", "127.0.0.1:0"}, "--lease-ttl"},
		{[]string{"serve", "--ha", "--db", "postgres://127.0.0.1:1/x", "--max-tenants", "-1", "--addr", "127.0.0.1:0"}, "--max-tenants"},
		{[]string{"serve", "--ha", "--db", "postgres://127.0.0.1:1/x", "--max-tenants", "many", "--addr", "127.0.0.1:0"}, "--max-tenants"},
	} {
		_, err := runAllot(t, c.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want a usage error saying %q", c.args, err, c.want)
		}
	}
	if err := (haOptions{on: true, ttl: "10s"}).check("postgres://h/db"); err != nil {
		t.Errorf("the default lease time on PostgreSQL: %v", err)
	}
	if err := (haOptions{ttl: "nonsense"}).check(db); err != nil {
		t.Errorf("without --ha nothing is checked: %v", err)
	}
}
