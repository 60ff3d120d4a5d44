package scim_test

import (
	"strings"
	"testing"
)

// A SCIM body over the 1 MiB limit is 413 with a SCIM error body, and
// creates nothing.
func TestOversizedSCIMBodyIs413(t *testing.T) {
	w := setup(t)
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big@contoso.example","displayName":"` + strings.Repeat("x", 2<<20) + `"}`
	r := w.scim(413, "POST", "/Users", body)
	scimError(t, r, "413", "")
	r = w.scim(200, "GET", "/Users?filter=userName%20eq%20%22big@contoso.example%22", nil)
	if m := obj(t, r); m["totalResults"] != float64(0) {
		t.Fatalf("a refused request created a user: %s", r.Body)
	}
}
