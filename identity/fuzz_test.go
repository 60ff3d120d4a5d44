package identity

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"allot/licensing"
	"allot/userprop"
)

// FuzzCheckUser: no input panics; what is accepted is valid UTF-8, NFC,
// within the limits, and accepted again unchanged (the check is
// idempotent).
func FuzzCheckUser(f *testing.F) {
	f.Add("ann@contoso.com", "Ann", "US", "Sales")
	f.Add("jose\u0301@contoso.com", "Jose\u0301", "XX", "")
	f.Add("not-an-upn", "\x00", "us", "\xff")
	f.Add("a@b@c.com", "😀", "", "d")
	domains := []string{"contoso.com"}
	f.Fuzz(func(t *testing.T, upn, name, loc, dept string) {
		u := licensing.User{ID: "u", UserPrincipalName: upn, DisplayName: name, UsageLocation: loc,
			Attributes: map[string]string{"state": dept}}.With(userprop.Department, dept).WithOtherMails([]string{name})
		if err := CheckUser(&u, nil, domains); err != nil {
			return
		}
		for _, s := range []string{u.UserPrincipalName, u.DisplayName, u.Department(), u.Attributes["state"], u.OtherMails()[0]} {
			if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
				t.Fatalf("accepted a value that is not NFC UTF-8: %q", s)
			}
		}
		if utf8.RuneCountInString(u.DisplayName) > MaxDisplayName || len(u.UserPrincipalName) > MaxUPN || !IsCountry(u.UsageLocation) && u.UsageLocation != "" {
			t.Fatalf("accepted beyond the limits: %+v", u)
		}
		again := u
		if err := CheckUser(&again, nil, domains); err != nil || again.DisplayName != u.DisplayName || again.UserPrincipalName != u.UserPrincipalName {
			t.Fatalf("not idempotent: %v", err)
		}
	})
}
