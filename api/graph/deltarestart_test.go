package graph_test

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"allot/api/admin"
	"allot/api/apitest"
	"allot/api/graph"
	"allot/api/partner"
	"allot/internal/pgtest"
	"allot/store"
	"allot/store/postgres"
	"allot/store/sqlite"
)

// reopenable are the backends a test can close and open again on the same
// database: SQLite (a file), and PostgreSQL (a fresh schema) when
// ALLOT_TEST_POSTGRES is set. Each entry returns an opener of one
// database.
func reopenable(t *testing.T) map[string]func(t *testing.T) func() store.Store {
	m := map[string]func(t *testing.T) func() store.Store{
		"sqlite": func(t *testing.T) func() store.Store {
			path := filepath.Join(t.TempDir(), "allot.db")
			return func() store.Store {
				st, err := sqlite.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
		},
	}
	url, ok := pgtest.Enabled(t)
	if !ok {
		return m
	}
	m["postgres"] = func(t *testing.T) func() store.Store {
		url := pgtest.SchemaOn(t, url)
		return func() store.Store {
			st, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	return m
}

// serveOn starts allot (apitest.Serve: runtime, server with the
// partner, admin and Graph surfaces) on a store; stop closes it all, store
// included (also at the end of the test, if not stopped before).
func serveOn(t testing.TB, st store.Store) (f *fixture, stop func()) {
	e := apitest.Serve(t, st, apitest.Options{}, partner.Register, admin.Register, graph.Register)
	stop = sync.OnceFunc(func() {
		e.Stop()
		st.Close()
	})
	t.Cleanup(stop)
	return &fixture{Env: e}, stop
}

// deltaIDs calls a deltaLink and follows the round to its end: the ids
// sent (removed ones marked "-id"), and the round's deltaLink.
func deltaIDs(t *testing.T, f *fixture, link string, header ...string) (ids []string, dl string) {
	t.Helper()
	for {
		m := f.Must(200, "GET", link, f.admin, nil, header...).JSON()
		for _, v := range m["value"].([]any) {
			o := v.(map[string]any)
			id := o["id"].(string)
			if _, gone := o["@removed"]; gone {
				id = "-" + id
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if n, ok := m["@odata.nextLink"].(string); ok {
			link = pathOf(t, n)
			continue
		}
		slices.Sort(ids)
		return ids, pathOf(t, m["@odata.deltaLink"].(string))
	}
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// TestDeltaAcrossRestart: deltaLinks taken before allot restarts (its
// runtime closed and opened again on the same database) are served after
// it from the change log, with exactly the changes made after them —
// before the restart and after it: changed, created and deleted users;
// changed and deleted groups with their members@delta; a round paged
// across the restart; a client copy equal to the listing at the end.
func TestDeltaAcrossRestart(t *testing.T) {
	for name, db := range reopenable(t) {
		t.Run(name, func(t *testing.T) { deltaAcrossRestart(t, db(t)) })
	}
}

func deltaAcrossRestart(t *testing.T, open func() store.Store) {
	f, stop := serveOn(t, open())
	f.tenant = f.Customer("Contoso", "US")
	f.admin = f.Token(f.tenant, "GlobalAdministrator")
	a, b, c := f.user("a@contoso.example", "A"), f.user("b@contoso.example", "B"), f.user("c@contoso.example", "C")
	e := f.user("e@contoso.example", "E") // never changed after the links
	g, g2, h := f.group("Sales"), f.group("Temp"), f.group("Quiet")
	f.addMember(g, a)
	f.addMember(h, e)

	uc := newDeltaClient(f, "/v1.0/users/delta?$select=displayName,userPrincipalName")
	uc.sync(t)
	gc := newDeltaClient(f, "/v1.0/groups/delta?$select=displayName,members")
	gc.sync(t)
	dlU, dlG := uc.next, gc.next
	// A round paged across the restart: its first page before.
	paged := newDeltaClient(f, dlU, "Prefer: odata.maxpagesize=1")

	// Changes before the restart.
	f.Must(204, "PATCH", "/v1.0/users/"+a, f.admin, map[string]any{"displayName": "A2"})
	f.Must(204, "DELETE", "/v1.0/users/"+b, f.admin, nil)
	f.addMember(g, c)
	paged.page(t)

	stop()
	f2, _ := serveOn(t, open())
	f2.tenant, f2.admin = f.tenant, f.admin
	uc.f, gc.f, paged.f = f2, f2, f2
	f = f2

	// Changes after the restart.
	d := f.user("d@contoso.example", "D")
	f.Must(204, "PATCH", "/v1.0/users/"+c, f.admin, map[string]any{"displayName": "C2"})
	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+a+"/$ref", f.admin, nil)
	f.Must(204, "DELETE", "/v1.0/groups/"+g2, f.admin, nil)

	ids, _ := deltaIDs(t, f, dlU)
	if want := sorted(a, "-"+b, c, d); !slices.Equal(ids, want) {
		t.Fatalf("users changed since the link: %v, want %v (a, b removed, c, d; not e)", ids, want)
	}
	ids, _ = deltaIDs(t, f, dlG)
	if want := sorted(g, "-"+g2); !slices.Equal(ids, want) {
		t.Fatalf("groups changed since the link: %v, want %v (not %s)", ids, want, h)
	}
	r := f.Must(200, "GET", dlG, f.admin, nil)
	for _, v := range values(r) {
		if v["id"] != g {
			continue
		}
		got := map[string]bool{}
		for _, e := range v["members@delta"].([]any) {
			e := e.(map[string]any)
			_, removed := e["@removed"]
			got[e["id"].(string)] = !removed
		}
		if want := map[string]bool{a: false, c: true}; !reflect.DeepEqual(got, want) {
			t.Fatalf("members@delta of the group: %v, want a removed and c added", got)
		}
	}

	// The clients apply the rounds and hold what the listings hold; the
	// round paged across the restart ends too.
	uc.sync(t)
	gc.sync(t)
	paged.sync(t)
	wantU := listAll(t, f, "/v1.0/users?$select=id,displayName,userPrincipalName")
	if !reflect.DeepEqual(uc.objs, wantU) {
		t.Fatalf("users copy %v\nlisting %v", uc.objs, wantU)
	}
	if _, ok := gc.objs[g2]; ok || !reflect.DeepEqual(gc.members[g], map[string]bool{c: true}) {
		t.Fatalf("groups copy: %v, members of g %v", gc.objs, gc.members[g])
	}
	for _, id := range []string{a, c, d} {
		if paged.objs[id] == nil {
			t.Fatalf("the round paged across the restart misses %s: %v", id, paged.objs)
		}
	}
	// Nothing changed since the new deltaLinks.
	if ids, _ := deltaIDs(t, f, uc.next); len(ids) != 0 {
		t.Fatalf("after the round: %v", ids)
	}
}

// compactor is a store that folds a tenant's log into a snapshot on demand
// (store/sqlite and store/postgres).
type compactor interface {
	Compact(ctx context.Context, tenantID string) error
}

// TestDeltaLinkOlderThanCompactedLog: once the tenant's log is folded
// into a snapshot, a deltaLink older than the snapshot cannot be served
// after a restart: Graph's answer to an expired token (410 Gone,
// syncStateNotFound, a Location to start again with the same $select);
// a deltaLink taken after the compaction still is.
func TestDeltaLinkOlderThanCompactedLog(t *testing.T) {
	for name, db := range reopenable(t) {
		t.Run(name, func(t *testing.T) {
			open := db(t)
			f, stop := serveOn(t, open())
			f.tenant = f.Customer("Contoso", "US")
			f.admin = f.Token(f.tenant, "GlobalAdministrator")
			a := f.user("a@contoso.example", "A")
			_, old := deltaIDs(t, f, "/v1.0/users/delta?$select=displayName")
			f.Must(204, "PATCH", "/v1.0/users/"+a, f.admin, map[string]any{"displayName": "A2"})
			if err := f.Store.(compactor).Compact(context.Background(), f.tenant); err != nil {
				t.Fatal(err)
			}
			_, fresh := deltaIDs(t, f, "/v1.0/users/delta?$select=displayName")
			stop()

			f2, _ := serveOn(t, open())
			f2.tenant, f2.admin = f.tenant, f.admin
			b := f2.user("b@contoso.example", "B")
			r := f2.Call("GET", old, f2.admin, nil)
			wantError(t, r, 410, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.")
			if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/v1.0/users/delta?$select=displayName") {
				t.Fatalf("Location %q", loc)
			}
			if ids, _ := deltaIDs(t, f2, fresh); !slices.Equal(ids, []string{b}) {
				t.Fatalf("a deltaLink after the compaction: %v, want %s", ids, b)
			}
		})
	}
}

// TestDeltaTokensOfAnotherVersionOrLog: a token of the first version (bound
// to the process that issued it) and a well-formed token of a log number
// the tenant does not have (a tenant made again) get the resync answer,
// never data and never a 5xx.
func TestDeltaTokensOfAnotherVersionOrLog(t *testing.T) {
	f := newFixture(t)
	f.user("a@contoso.example", "A")
	r := f.Call("GET", "/v1.0/users/delta?$deltatoken="+graph.DeltaTokenV1('u', "displayName"), f.admin, nil)
	wantError(t, r, 410, "syncStateNotFound", "The delta token is expired")
	if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/v1.0/users/delta?$select=displayName") {
		t.Fatalf("Location %q", loc)
	}
	for _, tok := range []graph.DeltaTokenFields{
		{Kind: 'u', Phase: 'l', Log: 1 << 40},
		{Kind: 'u', Phase: 'l', Log: 1 << 63},
		{Kind: 'u', Phase: 'r', Log: 1, CursorSeq: 1 << 40, CursorID: "x"},
	} {
		r := f.Call("GET", "/v1.0/users/delta?$"+map[byte]string{'l': "deltatoken", 'r': "skiptoken"}[tok.Phase]+"="+graph.EncodeDeltaToken(f.tenant, tok), f.admin, nil)
		wantError(t, r, 410, "syncStateNotFound", "The delta token is expired")
	}
}

// FuzzDeltaTokenServed: any token — made with a valid check and any
// fields, or any string — is answered without a 5xx: 200 with a page,
// 400, or 410.
func FuzzDeltaTokenServed(fz *testing.F) {
	// Throttling off: a fuzzing run calls far faster than the per-token
	// limit, and a 429 would hide what the token does.
	e := apitest.New(fz, partner.Register, admin.Register, throttled(0, 0))
	f := &fixture{Env: e, tenant: e.Customer("Contoso", "US")}
	f.admin = e.Token(f.tenant, "GlobalAdministrator")
	g := f.group("Sales")
	var users []string
	for i := range 5 {
		users = append(users, f.user(fmt.Sprintf("u%d@contoso.example", i), fmt.Sprintf("U%d", i)))
		f.addMember(g, users[i])
	}
	real := f.Must(200, "GET", "/v1.0/groups/delta", f.admin, nil).JSON()["@odata.deltaLink"].(string)
	f.Must(204, "DELETE", "/v1.0/groups/"+g+"/members/"+users[0]+"/$ref", f.admin, nil)
	f.Must(204, "DELETE", "/v1.0/users/"+users[1], f.admin, nil)
	fz.Add(byte('g'), byte('l'), uint64(1), uint64(0), uint64(0), uint64(0), "", "", "displayName,members", true, real[strings.Index(real, "=")+1:])
	fz.Add(byte('g'), byte('r'), uint64(1), uint64(0), uint64(0), uint64(30), g, users[2], "", false, "")
	fz.Add(byte('u'), byte('i'), uint64(3), uint64(5), uint64(2), uint64(0), users[0], "", "id", true, "AQ")
	fz.Add(byte('g'), byte('c'), uint64(2), uint64(7), uint64(1), uint64(9), g, "x", "members", true, "garbage")
	fz.Fuzz(func(t *testing.T, kind, phase byte, log, epoch, idx, curSeq uint64, curID, memAfter, sel string, withSel bool, raw string) {
		e.T = t
		fields := graph.DeltaTokenFields{Kind: kind, Phase: phase, Log: log, Epoch: epoch, Idx: idx, CursorSeq: curSeq,
			CursorID: curID, MemberAfter: memAfter}
		if withSel {
			fields.Select = strings.Split(sel, ",")
		}
		tok := graph.EncodeDeltaToken(f.tenant, fields)
		for _, p := range []string{"/v1.0/users/delta?$deltatoken=", "/v1.0/groups/delta?$skiptoken=", "/v1.0/groups/delta?$deltatoken="} {
			for _, v := range []string{tok, raw} {
				r := f.Call("GET", p+url.QueryEscape(v), f.admin, nil, "Prefer: odata.maxpagesize=2")
				switch {
				case r.Status == 200 && r.JSON() == nil:
					t.Fatalf("%s%s: 200 without a JSON page: %s", p, v, r.Body)
				case r.Status != 200 && r.Status != 400 && r.Status != 410:
					t.Fatalf("%s%s: %d %s", p, v, r.Status, r.Body)
				}
			}
		}
	})
}
