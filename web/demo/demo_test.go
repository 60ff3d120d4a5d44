package demo_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/store/sqlite"
	"allot/tenant"
	"allot/web/demo"
)

// The demo tenant and its tokens are dated by the runtime's clock: the
// tenant made 400 days before it, the tokens at it.
func TestTheDemoIsDatedByTheRuntimeClock(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return at }}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	if _, err := demo.Ensure(ctx, rt, st, demo.Options{People: 300, SkipUsage: true}); err != nil {
		t.Fatal(err)
	}
	tn, ok := rt.Get(demo.TenantID)
	if !ok {
		t.Fatal("no demo tenant")
	}
	if got := tn.Info().CreatedAt; !got.Equal(at.AddDate(0, 0, -400)) {
		t.Errorf("the demo tenant was created %v, want 400 days before the runtime's %v", got, at)
	}
	ts, err := st.ListTokens(ctx, demo.TenantID)
	if err != nil || len(ts) != 3 {
		t.Fatalf("%d tokens, %v", len(ts), err)
	}
	for _, tok := range ts {
		if !tok.CreatedAt.Equal(at) {
			t.Errorf("token %s created %v, want the runtime's %v", tok.DisplayName, tok.CreatedAt, at)
		}
	}
}
