package identity

import (
	"fmt"
	"testing"

	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

// A large import's users are checked on several goroutines; the refusal is
// still the first in the users' order, and every user before it is
// normalised as a check one at a time leaves it.
func TestCheckImportUsersRefusesTheFirstBadUserInOrder(t *testing.T) {
	s := &tenant.State{Engine: licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})}
	users := make([]licensing.User, 3*minUsersPerCheck)
	for i := range users {
		users[i] = licensing.User{ID: fmt.Sprintf("u%d", i), UserPrincipalName: fmt.Sprintf(" user%d@contoso.example ", i), UsageLocation: "US"}
	}
	first, later := 2*minUsersPerCheck+5, 3*minUsersPerCheck-2 // in the last range; an earlier range's is first below
	users[first].UsageLocation, users[later].UsageLocation = "XX", "XX"
	if i, err := CheckImportUsers(s, users); i != first || err == nil {
		t.Fatalf("refusal at %d (%v), want %d", i, err, first)
	}
	earlier := minUsersPerCheck / 2
	users[earlier].UsageLocation = "YY"
	if i, err := CheckImportUsers(s, users); i != earlier || err == nil {
		t.Fatalf("refusal at %d (%v), want %d", i, err, earlier)
	}
	if users[earlier-1].UserPrincipalName != fmt.Sprintf("user%d@contoso.example", earlier-1) {
		t.Errorf("a user before the refusal was not normalised: %q", users[earlier-1].UserPrincipalName)
	}
	users[earlier].UsageLocation, users[first].UsageLocation, users[later].UsageLocation = "US", "US", "US"
	if i, err := CheckImportUsers(s, users); i != -1 || err != nil {
		t.Fatalf("valid users refused at %d: %v", i, err)
	}
}

// BenchmarkCheckImportUsers checks 100,000 new users (an import into an
// empty tenant): the lookups of users that are not stored allocate nothing.
func BenchmarkCheckImportUsers(b *testing.B) {
	s := &tenant.State{Engine: licensing.New(catalog.Default(), licensing.Settings{DefaultUsageLocation: "US"})}
	users := make([]licensing.User, 100_000)
	for i := range users {
		users[i] = licensing.User{ID: fmt.Sprintf("u%d", i), UserPrincipalName: fmt.Sprintf("user%d@contoso.example", i), UsageLocation: "US"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if i, err := CheckImportUsers(s, users); err != nil {
			b.Fatalf("user %d: %v", i, err)
		}
	}
}
