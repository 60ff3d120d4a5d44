// Package storetest is the contract of store.Store as a test suite. Every
// backend runs it from its own tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { … })
//	}
//
// Beyond the comments of store.Store, the suite holds backends to these
// behaviours, which store/sqlite and store/postgres document:
//
//   - Times are read back in UTC and Equal to what was written truncated to
//     the microsecond.
//   - Commit fails with an error wrapping store.ErrConflict when an audit Seq
//     already exists for the tenant (stored, or earlier in the same call).
//   - UpdateTenant keeps the CreatedAt that CreateTenant stored.
//   - Revoking a revoked token keeps the first revocation time.
//   - A store that implements store.SessionStore keeps sessions across
//     reopening (the suite skips Sessions otherwise).
//   - QueryAudit refuses a query without a TenantID: nothing is read across
//     tenants.
//   - Backup either writes a file at path or returns an error wrapping
//     errors.ErrUnsupported.
//   - Close waits for the operations in progress; later calls fail; a second
//     Close is harmless.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"allot/audit"
	"allot/store"
)

// Run runs the contract suite. open returns a store for the (sub)test t. The
// first call for a given t returns an empty store over a database of its
// own; a later call with the same t, once the previous store is closed, must
// reopen that same database (the suite checks durability that way). open
// registers the cleanup of what it creates; the suite may already have
// closed the store by then, so Close must be harmless twice. Subtests run in
// parallel: open is called from several goroutines at once.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"TenantsRoundTrip", testTenantsRoundTrip},
		{"ChangeLogNumbersAndReadsBack", testChangeLogNumbersAndReadsBack},
		{"ChangeLogCompactedPast", testChangeLogCompactedPast},
		{"TunedLoadPreparesAndGivesTheSameObjects", testTunedLoad},
		{"CreateTenantTwiceConflicts", testCreateTenantTwiceConflicts},
		{"MissingTenantIsNotFound", testMissingTenantIsNotFound},
		{"UpdateTenantReplacesFieldsButCreatedAt", testUpdateTenant},
		{"ListTenantsOrderedByID", testListTenantsOrderedByID},
		{"CommitThenGetObject", testCommitThenGetObject},
		{"MissingObjectIsNotFound", testMissingObjectIsNotFound},
		{"LoadObjectsOrderedByKindThenID", testLoadObjectsOrdered},
		{"LoadObjectsStopsAtCallbackError", testLoadObjectsStopsAtCallbackError},
		{"MutationsApplyInOrder", testMutationsApplyInOrder},
		{"MutationsApplyInOrderInLargeCommit", testMutationsApplyInOrderLarge},
		{"DeleteOfMissingObjectIsNoError", testDeleteOfMissingObject},
		{"EmptyAndNilBodiesAreStored", testEmptyBodies},
		{"EmptyCommitIsNoop", testEmptyCommit},
		{"DuplicateAuditSeqInBatchAppliesNothing", testDuplicateSeqInBatch},
		{"AuditSeqAlreadyStoredAppliesNothing", testSeqAlreadyStored},
		{"LargeCommitWithDuplicateAuditSeqAppliesNothing", testLargeCommitDuplicateSeq},
		{"InvalidMutationAppliesNothing", testInvalidMutation},
		{"CancelledCommitAppliesNothing", testCancelledCommit},
		{"AuditRoundTripsEveryField", testAuditRoundTrip},
		{"AuditLegacyNamesReadAsMicrosofts", testAuditLegacyNamesReadAsMicrosofts},
		{"MaxAuditSeq", testMaxAuditSeq},
		{"QueryAuditFilters", testQueryAuditFilters},
		{"QueryAuditPagesWithAfterSeqAndLimit", testQueryAuditPages},
		{"QueryAuditNewestFirstWithBeforeSeq", testQueryAuditNewestFirst},
		{"QueryAuditDefaultLimitIs1000", testQueryAuditDefaultLimit},
		{"QueryAuditNeedsTenant", testQueryAuditNeedsTenant},
		{"TimesReadBackAsUTCMicroseconds", testTimes},
		{"TenantsAreIsolated", testTenantsAreIsolated},
		{"DeleteTenantRemovesEverythingOfIt", testDeleteTenant},
		{"TokensRoundTrip", testTokensRoundTrip},
		{"TokenConflicts", testTokenConflicts},
		{"RevokeToken", testRevokeToken},
		{"Sessions", testSessions},
		{"ReopenKeepsEverything", testReopenKeepsEverything},
		{"ConcurrentCommitsOnDifferentTenants", testConcurrentCommits},
		{"CloseWaitsForCommitsInProgress", testCloseWaitsForCommits},
		{"Commit100000Objects", testCommit100000},
		{"CommitBulk", testCommitBulk},
		{"CommitBulkExistingObjectAppliesNothing", testCommitBulkExistingObjectAppliesNothing},
		{"CommitBulkStreamErrorAppliesNothing", testCommitBulkStreamErrorAppliesNothing},
		{"CommitBulkReusedBatches", testCommitBulkReusedBatches},
		{"Backup", testBackup},
		{"StateMatchesModelThroughCompactions", testStateMatchesModelThroughCompactions},
		{"FinishAttempts", testFinishAttempts},
	}
	// Each subtest has a database of its own, so they run in parallel: most
	// of their time is spent waiting for fsync and the server.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open)
		})
	}
}

// base is a time with nanoseconds in a zone other than UTC, so that every
// round trip checks truncation and normalisation.
var base = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))

// us is what a backend must read back for t.
func us(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func ctx(t *testing.T) context.Context { return t.Context() }

func mustCommit(t testing.TB, s store.Store, changes ...store.Change) {
	t.Helper()
	if err := s.Commit(context.Background(), changes); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func mustCreateTenant(t testing.TB, s store.Store, id string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: id, CompanyName: "Company " + id, Domain: id + ".example.com", DefaultUsageLocation: "DE", CreatedAt: base}
	if err := s.CreateTenant(context.Background(), tn); err != nil {
		t.Fatalf("CreateTenant(%q): %v", id, err)
	}
	return tn
}

func put(kind store.Kind, id, body string) store.Mutation {
	return store.Mutation{Kind: kind, ID: id, Body: []byte(body)}
}

func del(kind store.Kind, id string) store.Mutation {
	return store.Mutation{Kind: kind, ID: id, Delete: true}
}

func entry(seq int64) audit.Entry {
	return audit.Entry{Seq: seq, At: base.Add(time.Duration(seq) * time.Minute), Actor: "admin", Action: "Change user license"}
}

func loadAll(t testing.TB, s store.Store, tenantID string) []store.Object {
	t.Helper()
	var objs []store.Object
	if err := s.LoadObjects(context.Background(), tenantID, func(o store.Object) error {
		objs = append(objs, o)
		return nil
	}); err != nil {
		t.Fatalf("LoadObjects(%q): %v", tenantID, err)
	}
	return objs
}

// render shows objects as "kind/id=body" lines for comparison.
func render(objs []store.Object) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s/%s=%s\n", o.Kind, o.ID, o.Body)
	}
	return b.String()
}

func wantObjects(t testing.TB, s store.Store, tenantID string, want ...store.Object) {
	t.Helper()
	if got, w := render(loadAll(t, s, tenantID)), render(want); got != w {
		t.Fatalf("objects of %q:\n got:\n%s want:\n%s", tenantID, got, w)
	}
}

func obj(kind store.Kind, id, body string) store.Object {
	return store.Object{Kind: kind, ID: id, Body: []byte(body)}
}

func seqs(es []audit.Entry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}
