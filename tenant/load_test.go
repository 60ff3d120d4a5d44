package tenant

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/store/storetest"
)

// storeWithTenants makes a database with the given tenants, one user each.
func storeWithTenants(t *testing.T, ids ...string) store.Store {
	t.Helper()
	st := openSQLite(t)
	rt := newRuntime(t, st)
	ctx := context.Background()
	for i, id := range ids {
		tn, err := rt.Create(ctx, store.Tenant{ID: id, CompanyName: id}, licensing.Settings{DefaultUsageLocation: "US"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tn.Do(ctx, licensing.Op{}, func(tx *Tx) error {
			return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i + 1), UserPrincipalName: id + "@example.com", UsageLocation: "US"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func timeout(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	_ = cancel // ends with the deadline
	return ctx
}

// With Options.Background, Open returns while a tenant still loads: the
// others are served, Loading names it, Wait answers EUNAVAILABLE "still
// loading" when its context ends, creating its id again is a conflict,
// tenants are created and deleted meanwhile, and once its load ends it is
// served. Fails without Background loading (Open would block on the gate).
func TestBackgroundLoadServesTheOthersWhileOneLoads(t *testing.T) {
	ctx := context.Background()
	gate := make(chan struct{})
	st := &storetest.Gated{Store: storeWithTenants(t, "a-small", "b-big", "c-small"), Gates: map[string]chan struct{}{"b-big": gate}}
	opened := make(chan *Runtime, 1)
	go func() {
		rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{Background: true, LoadConcurrency: 1}))
		if err != nil {
			t.Error(err)
		}
		opened <- rt
	}()
	var rt *Runtime
	select {
	case rt = <-opened:
	case <-time.After(30 * time.Second):
		close(gate)
		t.Fatal("Open waited for a tenant's load")
	}
	defer rt.Close(ctx)
	// One worker, in id order: a-small is served, c-small waits behind
	// b-big.
	for _, id := range []string{"a-small"} {
		tn, err := rt.Wait(timeout(30*time.Second), id)
		if err != nil {
			t.Fatalf("Wait(%s): %v", id, err)
		}
		n := 0
		tn.Read(func(s *State) { n = s.Engine.UserCount() })
		if n != 1 {
			t.Fatalf("%s has %d users", id, n)
		}
	}
	if _, ok := rt.Get("b-big"); ok {
		t.Fatal("Get returned a tenant still loading")
	}
	if got := rt.Loading(); len(got) != 2 || got[0] != "b-big" || got[1] != "c-small" {
		t.Fatalf("Loading() = %v", got)
	}
	_, err := rt.Wait(timeout(50*time.Millisecond), "b-big")
	if allot.ErrorCode(err) != allot.EUNAVAILABLE || !strings.Contains(allot.ErrorMessage(err), "still loading") {
		t.Fatalf("Wait for a loading tenant: %v", err)
	}
	if _, err := rt.Wait(ctx, "nobody"); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("Wait for no tenant: %v", err)
	}
	if got := rt.List(); len(got) != 3 {
		t.Fatalf("List() while loading = %v", got)
	}
	if _, err := rt.Create(ctx, store.Tenant{ID: "b-big"}, licensing.Settings{}); allot.ErrorCode(err) != allot.ECONFLICT {
		t.Fatalf("creating a loading tenant's id: %v", err)
	}
	if _, err := rt.Create(ctx, store.Tenant{ID: "d-new"}, licensing.Settings{DefaultUsageLocation: "US"}); err != nil {
		t.Fatalf("creating a tenant while another loads: %v", err)
	}
	if err := rt.Delete(ctx, "a-small", func(*State) error { return nil }); err != nil {
		t.Fatalf("deleting a tenant while another loads: %v", err)
	}
	if err := rt.Delete(timeout(50*time.Millisecond), "b-big", func(*State) error { return nil }); allot.ErrorCode(err) != allot.EUNAVAILABLE {
		t.Fatalf("deleting a tenant still loading: %v", err)
	}
	if got := rt.List(); len(got) != 3 || got[0].ID != "b-big" || got[2].ID != "d-new" {
		t.Fatalf("List() = %v", got)
	}
	close(gate)
	if err := rt.WaitLoaded(timeout(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b-big", "c-small", "d-new"} {
		if _, ok := rt.Get(id); !ok {
			t.Fatalf("%s is not served once loaded", id)
		}
	}
	if got := rt.Loading(); len(got) != 0 {
		t.Fatalf("Loading() after the load = %v", got)
	}
	tn, _ := rt.Get("b-big")
	if err := tn.Do(ctx, licensing.Op{}, func(tx *Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(9), UserPrincipalName: "x@example.com", UsageLocation: "US"})
	}); err != nil {
		t.Fatalf("a command once loaded: %v", err)
	}
}

// A tenant whose load fails is reported (Failed, Wait's EUNAVAILABLE that
// says so, not ENOTFOUND) and the others are served; without Background,
// Open fails with it, as the CLI needs.
func TestFailedLoadIsReportedAndTheOthersAreServed(t *testing.T) {
	ctx := context.Background()
	base := storeWithTenants(t, "a-fine", "b-broken", "c-fine")
	st := &storetest.Gated{Store: base, Fail: map[string]error{"b-broken": errors.New("disk says no")}}
	rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{Background: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	if err := rt.WaitLoaded(timeout(30 * time.Second)); err == nil || !strings.Contains(err.Error(), "loading tenant b-broken: disk says no") {
		t.Fatalf("WaitLoaded = %v", err)
	}
	for _, id := range []string{"a-fine", "c-fine"} {
		if _, ok := rt.Get(id); !ok {
			t.Fatalf("%s is not served", id)
		}
	}
	_, err = rt.Wait(ctx, "b-broken")
	if allot.ErrorCode(err) != allot.EUNAVAILABLE || !strings.Contains(allot.ErrorMessage(err), "could not be loaded") {
		t.Fatalf("Wait for a failed tenant: %v", err)
	}
	if f := rt.Failed(); len(f) != 1 || f["b-broken"] != "disk says no" {
		t.Fatalf("Failed() = %v", f)
	}
	if got := rt.List(); len(got) != 3 {
		t.Fatalf("List() = %v", got)
	}
	if _, err := Open(ctx, st, catalog.Default(), testOptions(Options{})); err == nil || !strings.Contains(err.Error(), "loading tenant b-broken") {
		t.Fatalf("synchronous Open = %v", err)
	}
}

// Close cancels the loads still running and returns; their tenants are
// shut down, not failed.
func TestCloseWhileLoading(t *testing.T) {
	ctx := context.Background()
	gate := make(chan struct{})
	defer close(gate)
	st := &storetest.Gated{Store: storeWithTenants(t, "a", "b", "c"), Gates: map[string]chan struct{}{"a": gate, "b": gate, "c": gate}}
	rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{Background: true}))
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(timeout(30 * time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := rt.Wait(ctx, "c"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close: %v", err)
	}
	if f := rt.Failed(); len(f) != 0 {
		t.Fatalf("Failed() after Close = %v", f)
	}
}

// EachLoaded passes every tenant of the start-up load once, as it loads.
func TestEachLoaded(t *testing.T) {
	ctx := context.Background()
	gate := make(chan struct{})
	st := &storetest.Gated{Store: storeWithTenants(t, "a", "b", "c"), Gates: map[string]chan struct{}{"b": gate}}
	rt, err := Open(ctx, st, catalog.Default(), testOptions(Options{Background: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{})
	go func() {
		rt.EachLoaded(ctx, func(tn *Tenant) {
			mu.Lock()
			seen[tn.ID]++
			mu.Unlock()
		})
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("EachLoaded returned while a tenant loads")
	case <-time.After(100 * time.Millisecond):
	}
	close(gate)
	<-done
	if len(seen) != 3 || seen["a"] != 1 || seen["b"] != 1 || seen["c"] != 1 {
		t.Fatalf("EachLoaded passed %v", seen)
	}
}

// A load's users and license records keep no view of the id the store
// gives them: a record whose own fields give that id keeps none (the id is
// made again for a problem), one whose fields do not keeps a copy, so a
// problem names the key the record is stored under either way.
func TestBulkRecordsKeepNoViewOfTheirStoredID(t *testing.T) {
	const u1, sku, al = "00000000-0000-4000-8000-000000000001", "05e9a617-0261-4cee-bb44-138d3ef5d965", "al-1"
	for _, c := range []struct {
		user, allotment, id string
		keyed               bool
	}{
		{u1, "", u1 + "/" + sku, true},
		{u1, al, u1 + "/" + sku + "/" + al, true},
		{u1, "", u1 + "/" + sku + "/" + al, false},
		{u1, al, u1 + "/" + sku, false},
		{u1, "", "ghost/" + sku, false},
		{u1, "", u1 + sku, false},
		{u1, "", u1 + "/" + sku + "/", false},
		{u1, al, u1 + "/" + sku + "/" + al + "x", false},
	} {
		l := licensing.License{UserID: c.user, SKUID: sku, AllotmentID: c.allotment}
		r, err := licensing.DecodeLicenseRecord(licensing.AppendLicenseBinary(nil, &l))
		if err != nil {
			t.Fatal(err)
		}
		if got := licenseKeyed(r, c.id); got != c.keyed {
			t.Errorf("licenseKeyed(%s/%s/%s, %q) = %v", c.user, sku, c.allotment, c.id, got)
		}
		if c.keyed && licenseKey(r) != c.id {
			t.Errorf("licenseKey = %q, want %q", licenseKey(r), c.id)
		}
	}

	// Through the bulk decoding: the stored ids are views of a buffer
	// that is overwritten once the records are decoded.
	rs := newStoredRecords()
	buf := []byte(u1 + "/" + sku + "|" + "stored-under-another-key" + "|" + u1)
	lic := licensing.AppendLicenseBinary(nil, &licensing.License{UserID: u1, SKUID: sku})
	user := licensing.AppendUserBinary(nil, &licensing.User{ID: u1, UserPrincipalName: "a@contoso.com"})
	n := len(u1) + 1 + len(sku)
	rs.lics.add(&rs.dec, unsafeView(buf[:n]), lic) // views: the store gives ids this way (statelog.DecodePart)
	rs.lics.add(&rs.dec, unsafeView(buf[n+1:n+25]), lic)
	rs.users.add(&rs.dec, unsafeView(buf[n+26:]), user)
	rs.decoded()
	for i := range buf {
		buf[i] = '#'
	}
	var ids []string
	rs.lics.drain(func(r *rec[*licensing.LicenseRecord]) { ids = append(ids, rs.lics.id(r)) })
	rs.users.drain(func(r *rec[*licensing.UserRecord]) { ids = append(ids, rs.users.id(r)) })
	if want := []string{u1 + "/" + sku, "stored-under-another-key", u1}; strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("ids after the buffer was overwritten: %q, want %q", ids, want)
	}
}

// unsafeView is a string sharing b's bytes, as the store's ids do.
func unsafeView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// The memberships', groups' and license sources' ids a load keeps until
// its engine is filled are its own copies, not views of the buffer the
// store gave them in (which holds a whole snapshot part): overwriting the
// buffer after the read changes none of them.
func TestStagedIDsKeepNoViewOfTheStoredPart(t *testing.T) {
	const g, u1, u2, sku = "g-1", "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "05e9a617-0261-4cee-bb44-138d3ef5d965"
	group := licensing.AppendGroupBinary(nil, &licensing.Group{ID: g, DisplayName: "Sales"})
	source := licensing.AppendLicenseSourceBinary(nil, &licensing.LicenseSource{SKUID: sku})
	objs := []store.Object{
		{Kind: store.KindGroup, ID: g, Body: group},
		{Kind: store.KindGroupLicense, ID: g + "/" + sku, Body: source},
		{Kind: store.KindDirectLicense, ID: u1 + "/" + sku, Body: source},
		{Kind: store.KindMember, ID: g + "/" + u1},
		{Kind: store.KindMember, ID: g + "/" + u2},
		{Kind: store.KindMember, ID: "g-2/" + u2},
	}
	var buf []byte
	for _, o := range objs {
		buf = append(buf, o.ID...)
	}
	rs := newStoredRecords()
	at := 0
	for _, o := range objs {
		n := len(o.ID)
		o.ID = unsafeView(buf[at : at+n]) // as statelog.DecodePart gives them
		at += n
		rs.read(o)
	}
	for i := range buf {
		buf[i] = '#'
	}
	rs.decoded() // the end of the reading: the last group's run is complete
	if len(rs.problems) != 0 {
		t.Fatalf("problems: %v", rs.problems)
	}
	var got []string
	rs.groups.drain(func(r *rec[licensing.Group]) { got = append(got, r.id) })
	rs.gls.drain(func(r *rec[licensing.LicenseSource]) { got = append(got, r.id) })
	rs.dls.drain(func(r *rec[licensing.LicenseSource]) { got = append(got, r.id) })
	for _, run := range rs.members {
		got = append(got, run.group+":"+strings.Join(run.members, ","))
	}
	want := []string{g, g + "/" + sku, u1 + "/" + sku, g + ":" + u1 + "," + u2, "g-2:" + u2}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("ids after the buffer was overwritten: %q, want %q", got, want)
	}
}
