package rules

import (
	"errors"
	"testing"
)

func TestBadRulesAreRefusedWithPositionAndWhatWasExpected(t *testing.T) {
	cases := []struct{ rule, err string }{
		{``, `the rule is empty; expected a condition like user.department -eq "Sales" at 1:1, found end of rule`},
		{`user.department -eq `, `expected a value after -eq at 1:21, found end of rule`},
		{`user.department`, `expected an operator like -eq after user.department at 1:16, found end of rule`},
		{`user.department "Sales"`, `expected an operator like -eq after user.department at 1:17, found "Sales"`},
		{`user.department -eq Sales`, `expected a value after -eq; put strings in double quotes, like "Sales" at 1:21`},
		{`user.department -eq "Sales`, `the string starting here has no closing " at 1:21, found end of rule`},
		{`user.department -eq 'Sales`, `the string starting here has no closing ' at 1:21, found end of rule`},
		{`user.department -gt "Sales"`, `unknown operator -gt; use -ge or -le at 1:17`},
		{`user.department -eq "a" -and`, `expected a condition like user.department -eq "Sales" after -and at 1:29, found end of rule`},
		{`user.department -eq "a" -and -or user.city -eq "b"`, `expected a condition like user.department -eq "Sales" after -and at 1:30, found -or`},
		{`user.department -eq "a")`, `this ) has no matching ( at 1:24, found )`},
		{`(user.department -eq "a"`, `expected ) to close the ( from 1:1 at 1:25, found end of rule`},
		{`user.department -eq "a" user.city -eq "b"`, `expected -and, -or or the end of the rule at 1:25, found user.city`},
		{`user.department -eq "a" -not user.city -eq "b"`, `expected -and or -or before -not at 1:25, found -not`},
		{`department -eq "a"`, `unknown property department (did you mean user.department?) at 1:1`},
		{`user.departmnt -eq "a"`, `unknown property user.departmnt (did you mean user.department?) at 1:1`},
		{`user.department -in "a"`, `expected a list like ["a","b"] after -in at 1:21, found "a"`},
		{`user.department -in ["a" "b"]`, `expected , or ] in the list from 1:21 at 1:26, found "b"`},
		{`user.department -in []`, `the list after -in is empty at 1:21`},
		{`user.department -eq ["a"]`, `a list can only follow -in or -notIn; expected a value after -eq at 1:21, found [`},
		{`user.department -startsWith null`, `null can only be compared with -eq or -ne at 1:29`},
		{`user.department -match "(abc"`, `invalid regular expression after -match: missing closing ): (abc at 1:24`},
		{`user.department -le "2020-01-01"`, `-le compares dates and numbers: it works with user.employeeHireDate and custom extension properties, not user.department at 1:17`},
		{`user.accountEnabled -eq "yes"`, `user.accountEnabled is true or false; expected true, false or null after -eq at 1:25`},
		{`user.accountEnabled -startsWith "t"`, `-startsWith can't be used with user.accountEnabled, which is true or false; use -eq or -ne at 1:21`},
		{`user.employeeHireDate -ge "yesterday"`, `expected a date like "2020-06-10T18:13:20Z" or system.now after -ge at 1:27`},
		{`user.employeeHireDate -ge system.now -plus 1d`, `invalid duration 1d; use ISO 8601, like P1D, P2W, P1M, P1Y or PT12H at 1:44`},
		{`user.department -eq system.now`, `system.now can only be compared with user.employeeHireDate or a custom extension property at 1:21`},
		{`user.department -any (_ -eq "a")`, `-any works only with multi-valued properties (user.proxyAddresses, user.otherMails, user.assignedPlans); user.department has a single value at 1:17`},
		{`user.proxyAddresses -any _ -eq "a" -and user.department -eq "b"`, `user.department can't be used inside the -any condition of user.proxyAddresses, which tests each item; put that condition in parentheses: user.proxyAddresses -any (…) at 1:41`},
		{`user.proxyAddresses -any`, `expected a condition after -any, like (_ -startsWith "smtp:") at 1:25, found end of rule`},
		{`_ -eq "a"`, `_ stands for each item of a multi-valued property and can only be used inside -any or -all, e.g. user.proxyAddresses -any (_ -startsWith "smtp:") at 1:1`},
		{`user.assignedPlans -any (_ -eq "a")`, `the items of user.assignedPlans are plans: use assignedPlan.servicePlanId, assignedPlan.capabilityStatus or assignedPlan.service instead of _ at 1:26`},
		{`user.assignedPlans -any (assignedPlan.foo -eq "a")`, `unknown property assignedPlan.foo; an assigned plan has servicePlanId, capabilityStatus and service at 1:26`},
		{`user.assignedPlans -eq "a"`, `user.assignedPlans can only be used with -any or -all, e.g. user.assignedPlans -any (assignedPlan.capabilityStatus -eq "Enabled") at 1:20`},
		{`user.proxyAddresses -any (_ -any (_ -eq "a"))`, `-any can't be used inside another -any or -all condition at 1:29`},
		{"user.department -eq “Sales”", `use straight quotes (" or ') around strings, not typographic quotes at 1:21, found “`},
		{"user.department -eq \"a\"\n-and user.city -eq", `expected a value after -eq at 2:19, found end of rule`},
		{"user.department -eq \"a\" -and\n  user.cty -eq \"b\"", `unknown property user.cty (did you mean user.city?) at 2:3`},
		{`user.department -eq user.city`, `expected a value after -eq; a rule can't compare a property with another property at 1:21`},
		{`user.department -eq "a" & user.city -eq "b"`, `unexpected character at 1:25, found &`},
		{`user.department -and "a"`, `expected a comparison operator like -eq after user.department at 1:17, found -and`},
		{"user.département -eq \"a\"", `unexpected character at 1:7, found é`},
		{"user.city -eq \"é\" -and user.city -eq", `expected a value after -eq at 1:37, found end of rule`}, // columns count characters
	}
	for _, c := range cases {
		_, err := Parse(c.rule)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want error %q", c.rule, c.err)
			continue
		}
		var list ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Errorf("Parse(%q) error %T, want a non-empty ErrorList", c.rule, err)
			continue
		}
		if got := list[0].Error(); got != c.err {
			t.Errorf("Parse(%q)\n got %s\nwant %s", c.rule, got, c.err)
		}
	}
}

func TestErrorListCollectsEveryNonSyntaxProblem(t *testing.T) {
	_, err := Parse(`user.departmnt -eq "a" -and user.city -match "(" -and user.accountEnabled -eq "maybe"`)
	list, ok := errors.AsType[ErrorList](err)
	if !ok || len(list) != 3 {
		t.Fatalf("got %v, want three errors", err)
	}
	want := []struct{ line, col, off int }{{1, 1, 0}, {1, 46, 45}, {1, 79, 78}}
	for i, w := range want {
		if e := list[i]; e.Line != w.line || e.Column != w.col || e.Offset != w.off {
			t.Errorf("error %d at %d:%d (offset %d), want %d:%d (offset %d): %v", i, e.Line, e.Column, e.Offset, w.line, w.col, w.off, e)
		}
	}
	if want := `unknown property user.departmnt (did you mean user.department?) at 1:1 (and 2 more: ` +
		`invalid regular expression after -match: missing closing ): ( at 1:46; ` +
		`user.accountEnabled is true or false; expected true, false or null after -eq at 1:79)`; err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err.Error(), want)
	}
	var first *Error
	if !errors.As(err, &first) || first != list[0] {
		t.Errorf("errors.As(*Error) should find the first error")
	}
}
