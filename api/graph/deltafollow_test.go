package graph_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/internal/pgtest"
	"allot/internal/tenanttest"
)

// haGraphNode starts one allot process of a cluster on a shared
// PostgreSQL schema (apitest.ServeShared: leases, a runtime that follows
// the tenants it does not write, writes forwarded to their owner) with the
// Graph surface. stopFollowing ends its follower loop (its copies then
// move only when a request waits for them).
func haGraphNode(t *testing.T, url string) (f *fixture, stopFollowing func()) {
	sh := apitest.ServeShared(t, url, apitest.SharedOptions{Process: tenanttest.ProcessOptions{TTL: 5 * time.Second}, ReadWait: 5 * time.Second},
		partner.Register, admin.Register, graph.Register)
	return &fixture{Env: sh.Env}, sh.Process.StopFollowing
}

// TestDeltaOnFollower: two allot processes share a PostgreSQL database;
// a deltaLink issued by the tenant's writer is served by the other process
// (a follower, rebuilding the round from the change log), with exactly
// the changes made after it; the follower's deltaLink is served by the
// writer; and a follower whose copy is behind a token's number waits for
// it (without its follower loop: the request makes it catch up).
func TestDeltaOnFollower(t *testing.T) {
	url := pgtest.Schema(t)
	a, _ := haGraphNode(t, url)
	b, stopB := haGraphNode(t, url)
	a.tenant = a.Customer("Contoso", "US")
	a.admin = a.Token(a.tenant, "GlobalAdministrator")
	b.tenant, b.admin = a.tenant, a.admin
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := b.RT.Get(a.tenant); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the follower never learned of the new tenant")
		}
	}
	u1 := a.user("a@contoso.example", "A")
	a.user("b@contoso.example", "B")
	_, dl := deltaIDs(t, a, "/v1.0/users/delta?$select=displayName")
	a.Must(204, "PATCH", "/v1.0/users/"+u1, a.admin, map[string]any{"displayName": "A2"})
	c := a.user("c@contoso.example", "C")
	// On the follower, once its copy has the changes (a follower serves
	// the changes its copy has; a client that must see a write sends
	// X-Allot-Min-Seq).
	ta, _ := a.RT.Get(a.tenant)
	tb, _ := b.RT.Get(a.tenant)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tb.WaitSeq(ctx, ta.LogSeq()); err != nil {
		t.Fatal(err)
	}
	ids, dl2 := deltaIDs(t, b, dl)
	if want := sorted(u1, c); !slices.Equal(ids, want) {
		t.Fatalf("the follower served %v, want %v", ids, want)
	}
	d := a.user("d@contoso.example", "D")
	ids, dl3 := deltaIDs(t, a, dl2)
	if !slices.Equal(ids, []string{d}) {
		t.Fatalf("the writer served the follower's deltaLink as %v, want %s", ids, d)
	}
	// The follower no longer follows on its own: a deltaLink issued after
	// a change it has not applied waits for its copy to catch up.
	stopB()
	e := a.user("e@contoso.example", "E")
	_, dl4 := deltaIDs(t, a, dl3)
	atToken := ta.LogSeq()
	g := a.user("g@contoso.example", "G")
	// The follower serves the changes after the token that its copy has
	// once it caught up: g when its catch-up saw g's commit, none when it
	// caught up to the token only (a client that must see g sends
	// X-Allot-Min-Seq). Never e, which the token covers.
	ids, _ = deltaIDs(t, b, dl4)
	if !slices.Equal(ids, []string{g}) && len(ids) != 0 {
		t.Fatalf("a follower behind the token served %v, want %s or nothing (never %s)", ids, g, e)
	}
	if got := tb.LogSeq(); got < atToken {
		t.Fatalf("the follower served a token of change %d from a copy at %d", atToken, got)
	}
}
