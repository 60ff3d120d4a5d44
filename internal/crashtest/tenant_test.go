package crashtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// customer creates a tenant with units of SPE_E3 and returns its id and a
// Global Administrator token.
func (s *server) customer(name string, units int) (id, admin string) {
	s.t.Helper()
	m := s.must(201, "POST", "/partner/v1/customers", partnerSecret, map[string]any{
		"companyProfile": map[string]any{"companyName": name, "domain": strings.ToLower(name) + ".example"}, "defaultUsageLocation": "US"})
	id = m["id"].(string)
	if units > 0 {
		s.must(201, "POST", "/partner/v1/customers/"+id+"/subscriptions", partnerSecret, map[string]any{"offerId": "SPE_E3", "quantity": units})
	}
	m = s.must(201, "POST", "/allot/v1/tenants/"+id+"/tokens", partnerSecret, map[string]any{"displayName": "admin", "roles": []string{"GlobalAdministrator"}})
	return id, m["token"].(string)
}

// e3 is SPE_E3 (Microsoft 365 E3).
const e3 = "05e9a617-0261-4cee-bb44-138d3ef5d965"

// userBody is a Graph user to create, named local@domain.
func userBody(local, domain string) map[string]any {
	return map[string]any{"accountEnabled": true, "displayName": local, "mailNickname": local,
		"userPrincipalName": local + "@" + domain, "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}}
}

// writeBundle writes a tenant bundle folder of n users (user ids b00000…)
// and returns its path.
func writeBundle(t testing.TB, domain string, n int) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,userPrincipalName,displayName,usageLocation\n")
	for i := range n {
		fmt.Fprintf(&b, "b%07d,bulk%d@%s,Bulk %d,US\n", i, i, domain, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
