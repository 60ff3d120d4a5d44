package odata

import (
	"strings"
	"testing"
)

// FuzzParseFilter checks that the parser never panics and that whatever it
// accepts prints to a form it accepts again, with the same meaning.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"displayName eq 'Ann'",
		"assignedLicenses/any(x:x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)",
		"not(a eq 1) and (b ne 'x' or startsWith(c,'y'))",
		"id in ('a','b')",
		"assignedLicenses/$count eq 0",
		"createdDateTime ge 2021-01-01T00:00:00Z",
		"x/any(y:y/any(z:z eq 1))",
		"((((",
		"'unterminated",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseFilter(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		again, err := ParseFilter(n.String())
		if err != nil && strings.Contains(err.Error(), "nested more than") {
			return // printing adds parentheses, so a deep tree may print deeper than allowed
		}
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, n.String(), err)
		}
		if again.String() != n.String() {
			t.Fatalf("%q: %q reparsed as %q", s, n.String(), again.String())
		}
	})
}

// FuzzParseExpand checks that $expand never panics, that its errors are
// Graph errors, and that every item it accepts names a property.
func FuzzParseExpand(f *testing.F) {
	for _, s := range []string{"members", "members($select=id,displayName)", "members,owners", "members(", "a)(", "members($top=1)", "($select=x)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ex, err := parseExpand(s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, e := range ex {
			if e.Property == "" || strings.ContainsAny(e.Property, "() ") {
				t.Fatalf("%q: property %q", s, e.Property)
			}
		}
	})
}
