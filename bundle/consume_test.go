package bundle

import (
	"context"
	"errors"
	"testing"
	"time"

	"allot/catalog"
)

// A consumed bundle imports what the same bundle imports unconsumed, lets
// go of its rows once validated, and cannot be applied again.
func TestConsumedBundleImportsTheSameAndIsReleased(t *testing.T) {
	rt, _ := runtime(t)
	_, dir := richBundle(t, rt, t.TempDir())
	open := func() *Bundle {
		b, err := Open(dir, catalog.Default())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kept := newTenant(t, rt, "22222222-2222-4222-8222-222222222222")
	b := open()
	want, err := Apply(context.Background(), kept, b, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Data.Users) == 0 || len(b.Data.Members) == 0 {
		t.Fatal("a bundle that is not consumed lost its rows")
	}
	consumed := newTenant(t, rt, "33333333-3333-4333-8333-333333333333")
	c := open().Consume()
	got, err := Apply(context.Background(), consumed, c, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got != want || states(consumed) != states(kept) {
		t.Fatalf("consumed import %+v:\n%s\nwant %+v:\n%s", got, states(consumed), want, states(kept))
	}
	if c.Data.Users != nil || c.Data.Members != nil || c.Data.GroupLicenses != nil || c.memberUser != nil || c.userLine.lines != nil || c.memberLine.lines != nil {
		t.Fatalf("the consumed bundle kept rows: %d users, %d memberships", len(c.Data.Users), len(c.Data.Members))
	}
	if _, err := Apply(context.Background(), consumed, c, "test", time.Now()); !errors.Is(err, errConsumed) {
		t.Fatalf("a consumed bundle applied again: %v", err)
	}
}
