package tenant

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// engineKinds are the kinds whose bodies are in the binary record format.
var engineKinds = map[store.Kind]bool{store.KindUser: true, store.KindGroup: true, store.KindMember: true,
	store.KindGroupLicense: true, store.KindDirectLicense: true, store.KindLicense: true}

// IDs after the import's (users load in id order).
const (
	zedID       = "ffffffff-0000-4000-8000-000000000001"
	allOrNoneID = "ffffffff-0000-4000-9000-000000000001"
)

// binaryTenant is a tenant written by both paths of the runtime: a bulk
// import streamed to the store (encodeRecords) and commands (serialize).
func binaryTenant(t *testing.T, st store.Store) (before string, licenses map[string][]licensing.License) {
	t.Helper()
	ctx := context.Background()
	rt := newRuntime(t, st)
	tn := newEmptyTenant(t, rt)
	data := importData(t)
	if err := tn.DoBulk(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		_, err := tx.Engine.Import(tx.Op, data)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	e3 := sku(t, "SPE_E3")
	at := time.Date(2024, 3, 1, 9, 30, 0, 0, time.FixedZone("", 2*3600))
	if err := tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
		if err := tx.Engine.PutUser(tx.Op, licensing.User{ID: zedID, UserPrincipalName: "zed@contoso.example", UsageLocation: "DE",
			AccountEnabled: true, Attributes: map[string]string{"state": "BY"}, CreatedAt: at}.WithProxyAddresses([]string{"SMTP:zed@contoso.example"})); err != nil {
			return err
		}
		if err := tx.Engine.PutGroup(tx.Op, licensing.Group{ID: allOrNoneID, DisplayName: "All-or-none", SecurityEnabled: true,
			AssignmentMode: licensing.ModeAllOrNone, CreatedAt: at}); err != nil {
			return err
		}
		if err := tx.Engine.AddMembers(tx.Op, allOrNoneID, []string{zedID, data.Groups[0].ID}); err != nil {
			return err
		}
		if err := tx.Engine.AssignGroupLicenses(tx.Op, allOrNoneID, []licensing.AssignedLicense{{SKUID: e3, DisabledPlans: []string{}}}, nil); err != nil {
			return err
		}
		return tx.Engine.AssignUserLicenses(tx.Op, zedID, []licensing.AssignedLicense{{SKUID: e3}}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *State) { before, licenses = fingerprint(s.Engine), allLicenses(s.Engine) })
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return before, licenses
}

func allLicenses(e *licensing.Engine) map[string][]licensing.License {
	m := map[string][]licensing.License{}
	e.ForEachUser(func(u *licensing.User) bool {
		m[u.ID] = e.Licenses(u.ID)
		return true
	})
	return m
}

// storedObjects returns the tenant's stored objects but the derivation
// stamp, which a load of a store without a current one writes
// (derivation.go).
func storedObjects(t *testing.T, st store.Store) []store.Object {
	t.Helper()
	var objs []store.Object
	if err := st.LoadObjects(context.Background(), tid, func(o store.Object) error {
		if o.Kind == store.KindSetting && o.ID == derivationID {
			return nil
		}
		o.Body = append([]byte(nil), o.Body...)
		objs = append(objs, o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return objs
}

// The runtime stores users, groups, license sources and license records
// in the binary record format and memberships as one byte; a database
// whose bodies are JSON (written before), or a mix of both, loads into
// exactly the same state, without problems and without rewriting
// anything.
func TestJSONAndBinaryBodiesLoadIdentically(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	before, licenses := binaryTenant(t, st)
	objs := storedObjects(t, st)
	counts := map[store.Kind]int{}
	for _, o := range objs {
		if !engineKinds[o.Kind] {
			continue
		}
		counts[o.Kind]++
		if o.Kind == store.KindMember && len(o.Body) != 1 || o.Kind != store.KindMember && !licensing.IsBinary(o.Body) {
			t.Fatalf("%s %s is stored as %q", o.Kind, o.ID, o.Body)
		}
	}
	if len(counts) != len(engineKinds) {
		t.Fatalf("the tenant has records of %d engine kinds, want all %d: %v", len(counts), len(engineKinds), counts)
	}
	check := func(name string, st store.Store) {
		t.Helper()
		stored := storedObjects(t, st)
		if ps, err := Check(ctx, st, catalog.Default(), tid); err != nil || len(ps) != 0 {
			t.Fatalf("%s: check: %v, %d problems: %v", name, err, len(ps), ps[:min(len(ps), 3)])
		}
		rt := newRuntime(t, st)
		tn, ok := rt.Get(tid)
		if !ok || len(rt.ReadOnly()) != 0 {
			t.Fatalf("%s: the tenant is not loaded or read-only", name)
		}
		tn.Read(func(s *State) {
			if fp := fingerprint(s.Engine); fp != before {
				i := 0
				for i < len(fp) && i < len(before) && fp[i] == before[i] {
					i++
				}
				t.Fatalf("%s: the loaded state differs at %d:\n%s\n%s", name, i, before[max(0, i-300):min(len(before), i+200)], fp[max(0, i-300):min(len(fp), i+200)])
			}
			if got := allLicenses(s.Engine); !reflect.DeepEqual(got, licenses) {
				t.Fatalf("%s: the loaded license records differ", name)
			}
		})
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(storedObjects(t, st), stored) {
			t.Fatalf("%s: loading rewrote stored records", name)
		}
	}
	check("binary", st)

	for _, every := range []int{1, 2} { // all JSON; every other record JSON
		old := openSQLite(t)
		if err := old.CreateTenant(ctx, store.Tenant{ID: tid, CompanyName: "Contoso", DefaultUsageLocation: "US"}); err != nil {
			t.Fatal(err)
		}
		var muts []store.Mutation
		for i, o := range objs {
			body := o.Body
			if engineKinds[o.Kind] && i%every == 0 {
				v, err := DecodeRecord(o.Kind, o.Body)
				if err != nil {
					t.Fatalf("%s %s: %v", o.Kind, o.ID, err)
				}
				if o.Kind == store.KindMember {
					v = map[string]string{"type": v.(string)}
				}
				if body, err = json.Marshal(v); err != nil {
					t.Fatal(err)
				}
			}
			muts = append(muts, store.Mutation{Kind: o.Kind, ID: o.ID, Body: body})
		}
		if err := old.Commit(ctx, []store.Change{{TenantID: tid, Mutations: muts}}); err != nil {
			t.Fatal(err)
		}
		name := map[int]string{1: "JSON", 2: "mixed"}[every]
		check(name, old)
	}
}

// DecodeRecord reads both formats of every engine kind, the one-byte and
// the JSON member bodies, and refuses other kinds and bad bodies.
func TestDecodeRecord(t *testing.T) {
	u := licensing.User{ID: uid(1), UserPrincipalName: "ann@contoso.example", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)}
	j, _ := json.Marshal(u)
	for _, body := range [][]byte{j, licensing.AppendUserBinary(nil, &u)} {
		if v, err := DecodeRecord(store.KindUser, body); err != nil || !reflect.DeepEqual(v, u) {
			t.Fatalf("%q: %v %+v", body, err, v)
		}
	}
	for body, want := range map[string]string{"u": MemberUser, "g": MemberGroup, `{"type":"group"}`: MemberGroup, `{"type":"user"}`: MemberUser} {
		if v, err := DecodeRecord(store.KindMember, []byte(body)); err != nil || v != want {
			t.Fatalf("member %q: %v %v", body, v, err)
		}
	}
	for kind, body := range map[store.Kind]string{store.KindMember: "x", store.KindUnits: "{}", store.KindLicense: "\x01\x01", store.KindGroup: `{"id":`} {
		if _, err := DecodeRecord(kind, []byte(body)); err == nil {
			t.Fatalf("%s %q decodes", kind, body)
		}
	}
}
