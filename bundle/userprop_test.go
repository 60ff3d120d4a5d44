package bundle_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"allot/bundle"
	"allot/catalog"
	"allot/licensing"
	"allot/userprop"
)

// Every registry property comes back from a bundle written and read again:
// the Column ones in users.csv's own columns (in the registry's order,
// after id), the Attribute ones in attribute columns.
func TestEveryRegistryPropertySurvivesABundle(t *testing.T) {
	cat := catalog.Default()
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	u := licensing.User{ID: "u1", UserPrincipalName: "u1@contoso.example", DisplayName: "U One", AccountEnabled: true}
	for i := range userprop.Users {
		p := &userprop.Users[i]
		switch p.Type {
		case userprop.String:
			if p.Name != "id" && p.Name != "userPrincipalName" {
				p.Set(&u, map[string]string{"usageLocation": "DE", "userType": "Guest", "kind": "room"}[p.Name])
				if p.Get(&u) == "" {
					p.Set(&u, "b-"+p.Name)
				}
			}
		case userprop.Date:
			p.Set(&u, "2024-05-01T00:00:00Z")
		case userprop.Strings:
			p.SetStrings(&u, []string{"smtp:a-" + p.Name + "@contoso.example", "smtp:b@contoso.example"})
		case userprop.Time:
			p.SetTime(&u, time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC))
		case userprop.Bool:
			p.SetBool(&u, false)
		}
	}
	if err := e.PutUser(licensing.Op{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, u); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "b")
	if err := bundle.Write(dir, e); err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Read(os.DirFS(dir), cat)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Data.Users) != 1 {
		t.Fatalf("%d users read back", len(b.Data.Users))
	}
	got, want := &b.Data.Users[0], &u
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if p.Get(got) != p.Get(want) || p.GetBool(got) != p.GetBool(want) || !p.GetTime(got).Equal(p.GetTime(want)) ||
			!slices.Equal(p.GetStrings(got), p.GetStrings(want)) {
			t.Errorf("%s: wrote %q/%v/%v/%v, read %q/%v/%v/%v", p.Name, p.Get(want), p.GetBool(want), p.GetTime(want), p.GetStrings(want),
				p.Get(got), p.GetBool(got), p.GetTime(got), p.GetStrings(got))
		}
	}
	hdr, err := os.ReadFile(filepath.Join(dir, "users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(hdr), "id,userPrincipalName,displayName,department,country,usageLocation,") {
		t.Fatalf("users.csv starts %q: the registry's column order changed", hdr[:60])
	}
}
