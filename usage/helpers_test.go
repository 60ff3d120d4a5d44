package usage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
)

const testTenant = "22222222-2222-2222-2222-222222222222"

var testEpoch = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)

// env is a runtime over SQLite with one tenant.
type env struct {
	t  testing.TB
	st store.Store
	rt *tenant.Runtime
	tn *tenant.Tenant
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st}
	e.rt = openRuntime(t, st)
	tn, err := e.rt.Create(context.Background(), store.Tenant{ID: testTenant, CompanyName: "Contoso"},
		licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	e.tn = tn
	t.Cleanup(func() {
		e.rt.Close(context.Background())
		st.Close()
	})
	return e
}

func openRuntime(t testing.TB, st store.Store) *tenant.Runtime {
	t.Helper()
	// The runtime's clock starts the tenant in the past: tests run their
	// commands at explicit times after it (the engine times claims at
	// strictly increasing instants).
	rt, err := tenant.Open(context.Background(), st, catalog.Default(),
		tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return testEpoch },
			Extensions: []tenant.Extension{Extension}})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// reopen closes the runtime and loads the tenant again from the store.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.rt.Close(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.rt = openRuntime(e.t, e.st)
	tn, ok := e.rt.Get(testTenant)
	if !ok {
		e.t.Fatal("tenant lost")
	}
	e.tn = tn
}

func (e *env) do(now time.Time, fn func(tx *tenant.Tx) error) {
	e.t.Helper()
	if err := e.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: now}, fn); err != nil {
		e.t.Fatal(err)
	}
}

func skuID(t testing.TB, part string) string {
	s, ok := catalog.Default().SKU(part)
	if !ok {
		t.Fatalf("no SKU %s", part)
	}
	return s.ID
}

func uid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

func upn(n int) string { return fmt.Sprintf("user%d@contoso.example", n) }

// addUsers creates users 1..n; each gets the SKUs given (seats granted at now).
func (e *env) addUsers(now time.Time, n int, skus ...string) {
	e.t.Helper()
	e.do(now, func(tx *tenant.Tx) error {
		for _, s := range skus {
			if err := tx.Engine.SetUnits(tx.Op, skuID(e.t, s), licensing.Units{Enabled: 1_000_000, Status: "Enabled"}); err != nil {
				return err
			}
		}
		for i := 1; i <= n; i++ {
			if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(i), UserPrincipalName: upn(i), DisplayName: fmt.Sprint("User ", i),
				AccountEnabled: true, UserType: "Member", UsageLocation: "US", Kind: licensing.KindPerson}); err != nil {
				return err
			}
			var add []licensing.AssignedLicense
			for _, s := range skus {
				add = append(add, licensing.AssignedLicense{SKUID: skuID(e.t, s)})
			}
			if len(add) > 0 {
				if err := tx.Engine.AssignUserLicenses(tx.Op, uid(i), add, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (e *env) events(now time.Time, body string) Result {
	e.t.Helper()
	b := ParseEvents([]byte(body))
	var r Result
	e.do(now, func(tx *tenant.Tx) error {
		var err error
		r, err = b.Apply(tx)
		return err
	})
	return r
}

func (e *env) signIns(now time.Time, body string) Result {
	e.t.Helper()
	b := ParseSignIns([]byte(body))
	var r Result
	e.do(now, func(tx *tenant.Tx) error {
		var err error
		r, err = b.Apply(tx)
		return err
	})
	return r
}

func (e *env) report(now time.Time, csv string, force bool) Result {
	e.t.Helper()
	rep, err := ParseReport(strings.NewReader(csv), "")
	if err != nil {
		e.t.Fatal(err)
	}
	var r Result
	e.do(now, func(tx *tenant.Tx) error {
		var err error
		r, err = rep.Apply(tx, force)
		return err
	})
	return r
}

func (e *env) user(id string) UserUsage {
	e.t.Helper()
	var u UserUsage
	var ok bool
	e.tn.Read(func(s *tenant.State) { u, ok = Of(s).User(id) })
	if !ok {
		e.t.Fatalf("no usage for %s", id)
	}
	return u
}

func (e *env) userReport(idOrUPN string, asOf Day) UserReport {
	e.t.Helper()
	var r UserReport
	var ok bool
	e.tn.Read(func(s *tenant.State) { r, ok = UserReportOf(s, idOrUPN, asOf) })
	if !ok {
		e.t.Fatalf("no user %s", idOrUPN)
	}
	return r
}

// snapshot renders every user's aggregates (sorted) to compare copies.
func snapshot(a *Aggregates) map[string]UserUsage {
	m := map[string]UserUsage{}
	a.ForEachUser(func(u UserUsage) bool {
		m[u.UserID] = u
		return true
	})
	return m
}

func (e *env) snapshot() map[string]UserUsage {
	var m map[string]UserUsage
	e.tn.Read(func(s *tenant.State) { m = snapshot(Of(s)) })
	return m
}

// assertReloadEqual checks that the state survives a reload from the store.
func (e *env) assertReloadEqual() {
	e.t.Helper()
	before := e.snapshot()
	e.reopen()
	after := e.snapshot()
	if d := diffSnapshots(before, after); d != "" {
		e.t.Fatalf("state after reload differs:\n%s", d)
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func day(s string) Day { return DayOf(at(s + "T00:00:00Z")) }

func mustTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// diffSnapshots describes the first differences between two snapshots.
func diffSnapshots(a, b map[string]UserUsage) string {
	var out []string
	for id, u := range a {
		v, ok := b[id]
		switch {
		case !ok:
			out = append(out, "only before: "+id)
		case !reflect.DeepEqual(u, v):
			out = append(out, fmt.Sprintf("%s:\n  before %+v\n  after  %+v", id, u, v))
		}
		if len(out) >= 3 {
			break
		}
	}
	for id := range b {
		if _, ok := a[id]; !ok && len(out) < 3 {
			out = append(out, "only after: "+id)
		}
	}
	return strings.Join(out, "\n")
}
