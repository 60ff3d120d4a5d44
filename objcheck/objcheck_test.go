package objcheck_test

import (
	"strings"
	"testing"

	"allot"
	"allot/alert"
	"allot/objcheck"
	"allot/reclamation"
	"allot/reportsched"
)

func TestIDs(t *testing.T) {
	for id, ok := range map[string]bool{
		"a": true, "rule-1": true, "R_2.x": true, "9": true, strings.Repeat("a", 64): true,
		"": false, "-a": false, ".a": false, "a b": false, "a/b": false, "é": false, strings.Repeat("a", 65): false,
	} {
		if objcheck.IsID(id) != ok || (objcheck.ID(id) == nil) != ok {
			t.Errorf("id %q: valid %v, want %v", id, !ok, ok)
		}
	}
	if err := objcheck.ID("a b"); allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(err.Error(), `id "a b" is not valid`) {
		t.Errorf("a bad id: %v", err)
	}
}

func TestDisplayNamesAndAddresses(t *testing.T) {
	if objcheck.DisplayName(strings.Repeat("x", objcheck.MaxName)) != nil || objcheck.DisplayName(strings.Repeat("x", objcheck.MaxName+1)) == nil {
		t.Error("displayName's limit is not MaxName")
	}
	many := make([]string, objcheck.MaxAddresses+1)
	for i := range many {
		many[i] = "a@example.com"
	}
	for _, c := range []struct {
		to   []string
		want string
	}{
		{[]string{"a@example.com", "b@example.com"}, ""},
		{nil, "to must list 1 to 50 addresses."},
		{many, "to must list 1 to 50 addresses."},
		{[]string{"a@example.com", "Bob <b@example.com>"}, `"Bob <b@example.com>" is not an email address.`},
		{[]string{"not an address"}, `"not an address" is not an email address.`},
	} {
		err := objcheck.Addresses(c.to)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || allot.ErrorCode(err) != allot.EINVALID) {
			t.Errorf("Addresses(%q) = %v, want %q", c.to, err, c.want)
		}
	}
}

// The objects administrators define answer a bad id, a long name and a bad
// address list with objcheck's own errors: the check is in one place.
func TestEveryDefinedObjectUsesTheSameChecks(t *testing.T) {
	badID, long := "no spaces", strings.Repeat("x", objcheck.MaxName+1)
	want := func(what string, got, want error) {
		t.Helper()
		if got == nil || want == nil || got.Error() != want.Error() {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	idErr, nameErr := objcheck.ID(badID), objcheck.DisplayName(long)
	addrErr := objcheck.Addresses([]string{"Bob <b@example.com>"})

	rule := alert.Rule{ID: badID, Condition: alert.LicenseErrors, Endpoints: []string{"e"}}
	want("alert rule id", rule.Validate(), idErr)
	rule.ID, rule.DisplayName = "r", long
	want("alert rule name", rule.Validate(), nameErr)

	ep := alert.Endpoint{ID: badID, Type: alert.Email, To: []string{"a@example.com"}}
	want("endpoint id", ep.Validate(), idErr)
	ep.ID, ep.DisplayName = "e", long
	want("endpoint name", ep.Validate(), nameErr)
	ep.DisplayName, ep.To = "", []string{"Bob <b@example.com>"}
	want("endpoint addresses", ep.Validate(), addrErr)

	spec := reclamation.Spec{ID: badID}
	want("campaign id", spec.Validate(), idErr)
	spec = reclamation.Spec{DisplayName: long}
	want("campaign name", spec.Validate(), nameErr)

	s := reportsched.Schedule{ID: badID, Report: "position", Format: "csv", Frequency: "daily", At: "08:00", To: []string{"a@example.com"}}
	want("schedule id", s.Validate(), idErr)
	s.ID, s.DisplayName = "s", long
	want("schedule name", s.Validate(), nameErr)
	s.DisplayName, s.To = "", []string{"Bob <b@example.com>"}
	want("schedule addresses", s.Validate(), addrErr)
	if alert.MaxName != objcheck.MaxName || reclamation.MaxName != objcheck.MaxName {
		t.Error("a package's MaxName is not objcheck's")
	}
}
