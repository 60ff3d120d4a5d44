package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
)

func testReopenKeepsEverything(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	tn := mustCreateTenant(t, s, "t1")
	tok := testToken("t1", "tok", base)
	if err := s.CreateToken(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx(t), "t1", "tok", base); err != nil {
		t.Fatal(err)
	}
	tok.RevokedAt = &base
	var ms []store.Mutation
	for i := range 500 {
		ms = append(ms, put(store.KindUser, fmt.Sprintf("u%03d", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: ms, Audit: []audit.Entry{entry(1), entry(2)}})
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{del(store.KindUser, "u000")}, Audit: []audit.Entry{entry(3)}})
	want := render(loadAll(t, s, "t1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	got, err := s.GetTenant(ctx(t), "t1")
	if err != nil {
		t.Fatalf("GetTenant after reopen: %v", err)
	}
	wantTenant(t, got, tn)
	if objs := render(loadAll(t, s, "t1")); objs != want {
		t.Fatalf("objects after reopen differ (%d bytes, want %d)", len(objs), len(want))
	}
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 3 {
		t.Fatalf("MaxAuditSeq after reopen = %d, %v", seq, err)
	}
	gotTok, err := s.TokenByHash(ctx(t), tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	wantToken(t, gotTok, tok)
}

func testConcurrentCommits(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	const writers, commits = 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			tenant := fmt.Sprintf("t%d", w)
			for i := range commits {
				err := s.Commit(context.Background(), []store.Change{{TenantID: tenant,
					Mutations: []store.Mutation{
						put(store.KindUser, fmt.Sprintf("u%03d", i), `{}`),
						put(store.KindLicense, fmt.Sprintf("u%03d/sku", i), `{}`),
					},
					Audit: []audit.Entry{entry(int64(i + 1))},
				}})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Readers run meanwhile and never fail.
	wg.Go(func() {
		for range 20 {
			if _, err := s.QueryAudit(context.Background(), audit.Query{TenantID: "t0"}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w := range writers {
		tenant := fmt.Sprintf("t%d", w)
		if n := len(loadAll(t, s, tenant)); n != 2*commits {
			t.Errorf("%s has %d objects, want %d", tenant, n, 2*commits)
		}
		if seq, err := s.MaxAuditSeq(ctx(t), tenant); err != nil || seq != commits {
			t.Errorf("MaxAuditSeq(%s) = %d, %v", tenant, seq, err)
		}
	}
}

func testCloseWaitsForCommits(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	const writers = 3
	acked := make([]int64, writers) // the last acknowledged seq of each writer
	var wg sync.WaitGroup
	started := make(chan struct{}, writers)
	for w := range writers {
		wg.Go(func() {
			tenant := fmt.Sprintf("t%d", w)
			for seq := int64(1); ; seq++ {
				err := s.Commit(context.Background(), []store.Change{{TenantID: tenant,
					Mutations: []store.Mutation{put(store.KindUser, fmt.Sprint(seq), `{}`)},
					Audit:     []audit.Entry{entry(seq)},
				}})
				if err != nil {
					return // closed
				}
				acked[w] = seq
				if seq == 3 {
					started <- struct{}{}
				}
			}
		})
	}
	for range writers {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.GetTenant(ctx(t), "t0"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetTenant after Close = %v, want a closed-store error", err)
	}
	if err := s.Commit(ctx(t), []store.Change{{TenantID: "t0", Mutations: []store.Mutation{put(store.KindUser, "late", `{}`)}}}); err == nil {
		t.Fatal("Commit after Close: no error")
	}

	s = open(t)
	for w := range writers {
		tenant := fmt.Sprintf("t%d", w)
		seq, err := s.MaxAuditSeq(ctx(t), tenant)
		if err != nil {
			t.Fatal(err)
		}
		// Everything acknowledged is there, and nothing that failed.
		if seq != acked[w] {
			t.Errorf("%s: MaxAuditSeq after reopen = %d, last acknowledged %d", tenant, seq, acked[w])
		}
		if n := int64(len(loadAll(t, s, tenant))); n != seq {
			t.Errorf("%s: %d objects, want %d", tenant, n, seq)
		}
	}
}

// BulkObjects is the size of the contract's big commit.
const BulkObjects = 100_000

func testCommit100000(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	n := BulkObjects
	if raceEnabled {
		n /= 5
	}
	ch := BulkChange("t1", 0, n)
	start := time.Now()
	mustCommit(t, s, ch)
	t.Logf("committed %d objects in %v", n, time.Since(start).Round(time.Millisecond))
	loaded := 0
	last := ""
	if err := s.LoadObjects(ctx(t), "t1", func(o store.Object) error {
		if o.ID <= last {
			return fmt.Errorf("order: %q after %q", o.ID, last)
		}
		last = o.ID
		loaded++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if loaded != n {
		t.Fatalf("loaded %d objects, want %d", loaded, n)
	}
	o, err := s.GetObject(ctx(t), "t1", store.KindUser, ch.Mutations[n/2].ID)
	if err != nil || !bytes.Equal(o.Body, ch.Mutations[n/2].Body) {
		t.Fatalf("GetObject = %s, %v", o.Body, err)
	}
	if seq, err := s.MaxAuditSeq(ctx(t), "t1"); err != nil || seq != 1 {
		t.Fatalf("MaxAuditSeq = %d, %v", seq, err)
	}
}

// BulkChange returns a change writing n user objects u<first>…u<first+n-1>
// (zero-padded, so that id order is numeric order) with realistic bodies,
// and one audit entry with Seq first+1.
func BulkChange(tenantID string, first, n int) store.Change {
	ch := store.Change{TenantID: tenantID, Mutations: make([]store.Mutation, n)}
	for i := range n {
		id := fmt.Sprintf("u%09d", first+i)
		ch.Mutations[i] = store.Mutation{Kind: store.KindUser, ID: id, Body: userBody(id)}
	}
	ch.Audit = []audit.Entry{{Seq: int64(first + 1), At: base, Actor: "import", Action: "Import users", Detail: fmt.Sprintf(`{"users":%d}`, n)}}
	return ch
}

// userBody is a user object of about 300 bytes, like the runtime writes.
func userBody(id string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"displayName":"User %s","userPrincipalName":"%s@contoso.example.com","department":"Sales","jobTitle":"Account Executive","usageLocation":"DE","accountEnabled":true,"country":"Germany","officeLocation":"Berlin","employeeType":"Employee"}`, id, id, id)
}

func testBackup(t *testing.T, open func(*testing.T) store.Store) {
	s := open(t)
	mustCreateTenant(t, s, "t1")
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u1", `{}`)}})
	path := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(ctx(t), path)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Logf("Backup is not supported: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("Backup wrote no file: %v", err)
	}
	if err := s.Backup(ctx(t), path); err == nil {
		t.Fatal("Backup over an existing file: no error")
	}
	// The store stays usable.
	mustCommit(t, s, store.Change{TenantID: "t1", Mutations: []store.Mutation{put(store.KindUser, "u2", `{}`)}})
}
