package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fuzzSeeds are every documentation example and table-test rule.
func fuzzSeeds() []string {
	var seeds []string
	for _, c := range docExamples {
		seeds = append(seeds, c.rule)
	}
	for _, c := range docRefused {
		seeds = append(seeds, c.rule)
	}
	for _, pair := range docEquivalents {
		seeds = append(seeds, pair[0], pair[1])
	}
	return append(seeds,
		`user.department -eq "Sales" -and (user.country -in ["US","CA"] -or -not (user.jobTitle -startsWith "Intern"))`,
		`user.proxyAddresses -any (_ -startsWith "smtp:")`,
		`user.otherMails -all (_ -endsWith "@contoso.com")`,
		`user.employeeHireDate -le system.now -plus p1d`,
		`user.employeeHireDate -ge system.now -minus PT1H30M`,
		"user.department -eq \"Sales `\"East`\"\" -or user.surname -eq 'O''Brien'",
		`user.city -eq "MÜNCHEN" -or user.state -startsWith "ǅ"`,
		`user.department in ['a', "b", 3] and not (user.city notMatch "^x")`,
		`user.extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber -ge 100`,
		`user.proxyAddresses -any _ -startsWith "a" -and _ -endsWith "b"`,
		`user.department -eq`,
		`(user.department -eq "a"`,
		`user.departmnt -eq "a" -and user.city -match "("`,
	)
}

// checkErrors verifies the shape of a parse error.
func checkErrors(t *testing.T, rule string, err error) {
	list, ok := errors.AsType[ErrorList](err)
	if !ok || len(list) == 0 {
		t.Fatalf("Parse(%q): error %T %v, want a non-empty ErrorList", rule, err, err)
	}
	for _, e := range list {
		if e.Line < 1 || e.Column < 1 || e.Offset < 0 || e.Offset > len(rule) || e.Message == "" {
			t.Fatalf("Parse(%q): malformed error %+v", rule, e)
		}
	}
}

// reparse parses r's canonical form and checks that it is the same rule.
func reparse(t *testing.T, rule string, r *Rule) *Rule {
	canonical := r.String()
	r2, err := parse(canonical, 1<<20)
	if err != nil {
		t.Fatalf("rule %q: canonical form %q does not parse: %v", rule, canonical, err)
	}
	if again := r2.String(); again != canonical {
		t.Fatalf("rule %q: canonical form is not stable:\n%s\n%s", rule, canonical, again)
	}
	if sexpr(r.root) != sexpr(r2.root) || !slices.Equal(r.Properties(), r2.Properties()) || r.UsesNow() != r2.UsesNow() {
		t.Fatalf("rule %q: canonical form %q parses to a different rule", rule, canonical)
	}
	return r2
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		r, err := Parse(rule)
		if err != nil {
			checkErrors(t, rule, err)
			return
		}
		r2 := reparse(t, rule, r)
		for name, u := range fixtures {
			if r.Match(u, testNow) != r2.Match(u, testNow) {
				t.Fatalf("rule %q and its canonical form disagree on %s", rule, name)
			}
		}
	})
}

func FuzzMatch(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, "Sales", "Lagos", "SMTP:alex@contoso.com|smtp:a@fabrikam.com", planExchange2+"|Enabled|SCO", "2025-05-20T09:00:00Z")
	}
	f.Add(`user.city -startsWith "\u212A"`, "", "kelvin", "", "", "")
	f.Fuzz(func(t *testing.T, rule, dept, city, proxies, plan, hired string) {
		r, err := Parse(rule)
		if err != nil {
			checkErrors(t, rule, err)
			return
		}
		u := &Attributes{
			Single: map[string]string{
				"department": dept, "city": city, "country": dept, "jobtitle": city,
				"displayname": dept + city, "mail": city, "employeehiredate": hired,
				"accountenabled": dept, "usertype": city, "extensionattribute15": dept,
			},
			Multi: map[string][]string{"proxyaddresses": strings.Split(proxies, "|"), "othermails": strings.Split(city, "|")},
		}
		if p := strings.SplitN(plan, "|", 3); len(p) == 3 {
			u.Plans = []AssignedPlan{{ServicePlanID: p[0], CapabilityStatus: p[1], Service: p[2]}, {ServicePlanID: p[2], CapabilityStatus: p[0], Service: p[1]}}
		}
		got := r.Match(u, testNow)
		if r2 := reparse(t, rule, r); r2.Match(u, testNow) != got {
			t.Fatalf("rule %q and its canonical form %q disagree", rule, r2)
		}
		// The index must find the rule exactly when it matches.
		x := NewIndex()
		x.Set("r", r)
		x.Set("other", MustParse(`user.department -eq "zzz"`))
		if in := slices.Contains(x.MatchAll(u, testNow, nil), "r"); in != got {
			t.Fatalf("rule %q: Match = %v but MatchAll includes it = %v (atoms %v)", rule, got, in, r.atoms)
		}
	})
}
