package web

import (
	"context"
	"testing"
	"time"
)

// Without a store that keeps sessions, they live in memory with the same
// rules: found while alive, gone after end or expiry.
func TestMemorySessionsEndAndExpire(t *testing.T) {
	var ss sessions
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	a, err := ss.open(ctx, "t1", "tok", now)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ss.open(ctx, "t1", "tok", now)
	if s, ok := ss.get(ctx, a, now.Add(time.Hour)); !ok || s.TokenHash != "tok" || a == b {
		t.Fatalf("live session: %+v %v", s, ok)
	}
	ss.end(ctx, a)
	if _, ok := ss.get(ctx, a, now); ok {
		t.Fatal("an ended session is still found")
	}
	if _, ok := ss.get(ctx, b, now.Add(sessionTTL)); ok {
		t.Fatal("an expired session is still found")
	}
}
