package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"allot/auth"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/store/sqlite"
	"allot/tenant"
)

// TestDemoCreatesTheTenantOnceAndPrintsWorkingTokens: the first start makes
// the demo tenant, every start prints new tokens and revokes the old ones.
func TestDemoCreatesTheTenantOnceAndPrintsWorkingTokens(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	var out bytes.Buffer
	if err := startDemo(ctx, rt, st, "http://127.0.0.1:8080", &out); err != nil {
		t.Fatal(err)
	}
	first := out.String()
	if !strings.Contains(first, "created the demo tenant") || !strings.Contains(first, "http://127.0.0.1:8080/admin/") {
		t.Fatalf("first start printed:\n%s", first)
	}
	tokens := regexp.MustCompile(`allot_[A-Za-z0-9_-]{20,}`).FindAllString(first, -1)
	if len(tokens) != 3 {
		t.Fatalf("printed %d tokens, want 3:\n%s", len(tokens), first)
	}
	a := auth.NewAuthenticator(st)
	p, err := a.Authenticate(ctx, "Bearer "+tokens[0])
	if err != nil || !p.Has(auth.RoleGlobalAdministrator) {
		t.Fatalf("the administrator token does not sign in as a Global Administrator: %v %+v", err, p)
	}
	out.Reset()
	if err := startDemo(ctx, rt, st, "http://127.0.0.1:8080", &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "exists already") {
		t.Fatalf("second start printed:\n%s", out.String())
	}
	if _, err := auth.NewAuthenticator(st).Authenticate(ctx, "Bearer "+tokens[0]); err == nil {
		t.Error("the first start's administrator token still works after a restart printed new ones")
	}
}
