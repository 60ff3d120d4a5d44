package postgres_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every statement on a table of tenant data names tenant_id, so that a
// distributed database (Citus) routes it to one tenant's shard — except the
// few that deliberately span tenants, named here with their reason.
func TestEveryQueryIsTenantScoped(t *testing.T) {
	tables := []string{"objects", "audit", "tokens", "sessions", "state_heads", "state_changes", "state_snapshots", "tenant_leases",
		"alert_states", "alert_jobs", "alert_attempts"}
	spans := map[string]string{
		"FROM tokens WHERE hash":          "a presented secret is looked up by its hash alone",
		"FROM sessions WHERE hash":        "a session cookie is looked up by its hash alone",
		"FROM sessions WHERE expires":     "expired sessions are removed for every tenant at once",
		"DELETE FROM sessions WHERE hash": "a signed-out cookie is removed by its hash alone",
		"UPDATE tenant_leases SET token = token + 1, owner = $1, expires_at = clock_timestamp()": "a process taking the whole database over ends every tenant's lease (owner.go)",
		"FROM alert_jobs WHERE state = ? AND run_at <= ?":                                        "the delivery loop reads every tenant's due jobs in one query per poll (store/alertsql)",
	}
	literal := regexp.MustCompile("(?s)`[^`]*`")
	statement := regexp.MustCompile(`(?i)\b(SELECT|INSERT|UPDATE|DELETE|COPY|FROM)\b`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := filepath.Glob("../alertsql/*.go") // the alert SQL both backends run
	if err != nil || len(shared) == 0 {
		t.Fatalf("no store/alertsql sources: %v", err)
	}
	files = append(files, shared...)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range literal.FindAllString(string(src), -1) {
			if !statement.MatchString(q) || strings.Contains(q, "CREATE ") {
				continue
			}
			flat := strings.Join(strings.Fields(q), " ")
			touches := ""
			for _, tb := range tables {
				if regexp.MustCompile(`(?i)\b(FROM|INTO|UPDATE|JOIN)\s+` + tb + `\b`).MatchString(flat) {
					touches = tb
				}
			}
			if touches == "" {
				continue
			}
			checked++
			exempt := false
			for k := range spans {
				exempt = exempt || strings.Contains(flat, k)
			}
			// The condition must name the tenant (a select list that does
			// is not enough); an insert names it among its columns.
			scope := flat
			if i := strings.Index(strings.ToUpper(flat), " WHERE "); i >= 0 {
				scope = flat[i:]
			}
			if i := strings.Index(strings.ToUpper(scope), " ORDER BY "); i >= 0 {
				scope = scope[:i] // an order naming tenant_id does not scope
			}
			if !exempt && !strings.Contains(scope, "tenant_id") {
				t.Errorf("%s: a statement on %s does not name tenant_id: %s", f, touches, flat)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d statements checked: the test no longer finds the store's SQL", checked)
	}
}
