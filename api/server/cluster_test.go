package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot/api/apitest"
	"allot/api/partner"
	"allot/api/server"
	"allot/auth"
	"allot/internal/pgtest"
	"allot/internal/tenanttest"
	"allot/store"
)

// newHANode starts one allot process of a cluster test on the schema at
// url with the partner API, leases of the given TTL, and reads that wait
// 300 ms at most for a commit their copy lacks.
func newHANode(t *testing.T, url string, ttl time.Duration) *apitest.Shared {
	return newHANodeFollowing(t, url, ttl, true)
}

// newHANodeFollowing is newHANode whose runtime follows the log (Follow:
// notifications and a poll) only if follow is set; without, its copies
// catch up only when a read waits for a number (WaitSeq).
func newHANodeFollowing(t *testing.T, url string, ttl time.Duration, follow bool) *apitest.Shared {
	return apitest.ServeShared(t, url, apitest.SharedOptions{Process: tenanttest.ProcessOptions{TTL: ttl, NoFollow: !follow}, ReadWait: 300 * time.Millisecond},
		partner.Register)
}

// Two processes on one PostgreSQL: a write sent to the process that does
// not own the tenant is forwarded to the owner (which keeps the lease) and
// answered with the change's number; a read on the other process with
// that number sees it; a bad number is 400, one not reached in time 503.
// Once the owner is gone, a write waits for its lease to end and is served
// by the process it was sent to, which then owns the tenant.
func TestWritesAreForwardedToTheOwnerAndReadsWaitForTheirSeq(t *testing.T) {
	url := pgtest.Schema(t)
	ttl := time.Second
	a := newHANode(t, url, ttl)
	b := newHANode(t, url, ttl)
	id := a.Customer("Contoso", "US")
	ctx := context.Background()
	leaseOwner := func() store.Lease {
		l, err := a.Process.Store.LeaseOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if !strings.Contains(leaseOwner().Owner, " at "+a.HTTP.Listener.Addr().String()+"/") {
		t.Fatalf("the creator does not own the tenant: %+v", leaseOwner())
	}
	// b learns of the tenant (notification or poll) before it is written
	// through b.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := b.RT.Get(id); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other process never learned of the new tenant")
		}
	}
	r := b.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 5})
	seq := r.Header.Get(server.SeqHeader)
	if n, err := strconv.ParseInt(seq, 10, 64); err != nil || n < 1 {
		t.Fatalf("a forwarded write's %s = %q", server.SeqHeader, seq)
	}
	if !strings.Contains(leaseOwner().Owner, " at "+a.HTTP.Listener.Addr().String()+"/") {
		t.Fatal("forwarding moved the lease: the write was not served by the owner")
	}
	if b.Process.Leases.Holds(id) {
		t.Fatal("the forwarding process took a lease")
	}
	subs := b.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil, server.MinSeqHeader+": "+seq)
	if !strings.Contains(string(subs.Body), "ENTERPRISEPACK") {
		t.Fatalf("a read with %s %s on the follower does not see the write: %s", server.MinSeqHeader, seq, subs.Body)
	}
	for _, bad := range []string{"abc", "-1", "1.5", "99999999999999999999"} {
		b.Must(400, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil, server.MinSeqHeader+": "+bad)
	}
	late := b.Must(503, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil, server.MinSeqHeader+": 1000000")
	if late.Header.Get("Retry-After") == "" {
		t.Error("a read that could not catch up in time has no Retry-After")
	}
	// The owner crashes: the next write through b waits for the lease,
	// then b serves it and owns the tenant.
	a.Kill()
	start := time.Now()
	r = b.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 2})
	t.Logf("write served after the owner crashed in %s (lease %s)", time.Since(start), ttl)
	if !b.Process.Leases.Holds(id) {
		t.Fatal("the process that served the write after the owner crashed does not hold the lease")
	}
	subs = b.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil, server.MinSeqHeader+": "+r.Header.Get(server.SeqHeader))
	if strings.Count(string(subs.Body), `"offerId":"ENTERPRISEPACK"`) != 2 {
		t.Fatalf("the new owner's subscriptions: %s", subs.Body)
	}
}

// A write forwarded from a process is answered as soon as the owner
// answered it, not once the forwarding process's copy has it; the next
// read of the tenant there, without X-Allot-Min-Seq, waits until its copy
// has it; another principal's read there does not wait. The forwarding
// process runs no follower here: only that wait brings its copy up to
// date, so the read would miss the write without it.
func TestAForwardedWriteIsAnsweredAtOnceAndReadWhereItWasSent(t *testing.T) {
	url := pgtest.Schema(t)
	a := newHANode(t, url, 5*time.Second)
	id := a.Customer("Contoso", "US")
	b := newHANodeFollowing(t, url, 5*time.Second, false) // loads the tenant at its start
	b.Server.Cluster.ReadWait = 10 * time.Second          // a loaded machine: no flake
	tb, ok := b.RT.Get(id)
	if !ok {
		t.Fatal("the second process did not load the tenant")
	}
	r := b.Must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 5})
	if r.Header.Get(server.ForwardedToHeader) == "" {
		t.Fatal("the write was not forwarded")
	}
	seq, err := strconv.ParseInt(r.Header.Get(server.SeqHeader), 10, 64)
	if err != nil || seq < 1 {
		t.Fatalf("a forwarded write's %s = %q", server.SeqHeader, r.Header.Get(server.SeqHeader))
	}
	if got := tb.LogSeq(); got >= seq {
		t.Fatalf("the forwarded write was answered after the forwarding process's copy reached %d (it has %d): it waited", seq, got)
	}
	// Another principal's read there does not wait for it.
	const other = "allot_test_other_partner_secret"
	if _, _, err := auth.Create(context.Background(), a.Process.Store, store.PartnerTenant, "another partner administrator", []string{auth.RolePartnerAdministrator}, nil, other, time.Now()); err != nil {
		t.Fatal(err)
	}
	b.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", other, nil)
	if got := tb.LogSeq(); got >= seq {
		t.Fatalf("another principal's read waited for the forwarded write (the copy has %d of %d)", got, seq)
	}
	subs := b.Must(200, "GET", "/partner/v1/customers/"+id+"/subscriptions", apitest.PartnerToken, nil)
	if !strings.Contains(string(subs.Body), "ENTERPRISEPACK") {
		t.Fatalf("a read on the process that forwarded the write does not see it: %s", subs.Body)
	}
	if got := tb.LogSeq(); got < seq {
		t.Fatalf("after the read the forwarding process's copy has %d, want %d", got, seq)
	}
}
