package graph

import (
	"testing"

	"allot/api/odata"
	"allot/licensing"
)

// FuzzCompileFilters checks that whatever $filter parses, compiling it for
// users and groups (with and without the advanced query parameters) never
// panics: it yields a predicate or a Graph error.
func FuzzCompileFilters(f *testing.F) {
	for _, s := range []string{
		"assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)",
		"assignedLicenses/$count eq 0",
		"assignedPlans/any(a:a/servicePlanId eq 6fd2c87f-b296-42f0-b197-1e91e994b900 and a/capabilityStatus eq 'Enabled')",
		"onPremisesExtensionAttributes/extensionAttribute1 eq 'x'",
		"proxyAddresses/any(p:endsWith(p,'x') or p eq 'y')",
		"hasMembersWithLicenseErrors eq true",
		"not(startsWith(displayName,'a')) and id in ('a','b')",
		"createdDateTime ge 2021-01-01T00:00:00Z or accountEnabled",
		"groupTypes/any(c:c eq 'Unified')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := odata.ParseFilter(s)
		if err != nil {
			return
		}
		for _, adv := range []bool{false, true} {
			uc := &compiler[licensing.User]{sc: userSchema, advanced: adv}
			if _, err := uc.compile(n); err != nil {
				if _, ok := err.(*odata.Error); !ok {
					t.Fatalf("user filter %q: error of type %T", s, err)
				}
			}
			gc := &compiler[licensing.Group]{sc: groupSchema, advanced: adv}
			if _, err := gc.compile(n); err != nil {
				if _, ok := err.(*odata.Error); !ok {
					t.Fatalf("group filter %q: error of type %T", s, err)
				}
			}
		}
	})
}
