package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// testNow is system.now in tests.
var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	planExchange2 = "efb87545-963c-4e0d-99df-69c6916d9eb0" // Exchange Online (Plan 2)
	planIntune    = "c1ec4a95-1f05-45b3-a911-aa3fa01094f5" // Microsoft Intune (service "SCO")
)

// alex is the main fixture user: a member in Sales, in Lagos, with mail
// addresses, plans and extension attributes.
func alex() *Attributes {
	return &Attributes{
		Single: map[string]string{
			"accountenabled":               "true",
			"dirsyncenabled":               "false",
			"city":                         "Lagos",
			"companyname":                  "Contoso",
			"country":                      "US",
			"department":                   "Sales",
			"displayname":                  "David Alexander",
			"employeeid":                   "E100",
			"employeehiredate":             "2025-05-20T09:00:00Z",
			"employeetype":                 "Employee",
			"givenname":                    "David",
			"jobtitle":                     "Senior Engineer",
			"mail":                         "alex@contoso.com",
			"mailnickname":                 "alex-vendor",
			"objectid":                     "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
			"onpremisessecurityidentifier": "S-1-1-11-1111111111-1111111111-1111111111-1111111",
			"passwordpolicies":             "DisableStrongPassword",
			"preferredlanguage":            "en-US",
			"surname":                      "Alexander",
			"usagelocation":                "US",
			"userprincipalname":            "alias@domain",
			"usertype":                     "Member",
			"extensionattribute15":         "Marketing",
			"extension_c272a57b722d4eb29bfe327874ae79cb_officenumber": "123",
		},
		Multi: map[string][]string{
			"proxyaddresses": {"SMTP:alex@contoso.com", "smtp:alex@fabrikam.com"},
			"othermails":     {"alias@domain", "alex@contoso.com"},
		},
		Plans: []AssignedPlan{
			{ServicePlanID: planExchange2, CapabilityStatus: "Enabled", Service: "exchange"},
			{ServicePlanID: planIntune, CapabilityStatus: "Enabled", Service: "SCO"},
		},
	}
}

// with returns a copy of a with the given single-valued properties set
// ("key", "value", …); a value of "" removes the property.
func with(a *Attributes, kv ...string) *Attributes {
	c := &Attributes{Single: map[string]string{}, Multi: map[string][]string{}, Plans: a.Plans}
	for k, v := range a.Single {
		c.Single[k] = v
	}
	for k, v := range a.Multi {
		c.Multi[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(c.Single, kv[i])
		} else {
			c.Single[kv[i]] = kv[i+1]
		}
	}
	return c
}

// fixtures are the named users that table tests refer to.
var fixtures = map[string]*Attributes{
	"alex":  alex(),
	"empty": {},
	"bola":  with(alex(), "department", "Accounts", "city", "Ibadan", "country", "NG", "jobtitle", "SDE Intern"),
	"ngozi": with(alex(), "department", "Accounts", "city", "Port Harcourt", "country", "NG"),
	"guest": with(alex(), "usertype", "Guest", "companyname", "Contoso", "department", ""),
	"da":    with(alex(), "displayname", "Da"),
	"dav":   with(alex(), "displayname", "Dav"),
	"ada":   with(alex(), "displayname", "aDa"),
	"mktg":  with(alex(), "department", "Marketing"),
	"quote": with(alex(), "department", `"Sales"`, "surname", "O'Brien", "city", "Sales \"East\"", "state", "a`b"),
	"noplans": {
		Single: map[string]string{"department": "Sales"},
		Multi:  map[string][]string{"proxyaddresses": {"SMTP:x@contoso.com"}},
	},
}

func fixture(t testing.TB, name string) *Attributes {
	t.Helper()
	a, ok := fixtures[name]
	if !ok {
		t.Fatalf("no fixture %q", name)
	}
	return a
}

// mustParse parses rule or fails the test.
func mustParse(t testing.TB, rule string) *Rule {
	t.Helper()
	r, err := Parse(rule)
	if err != nil {
		t.Fatalf("Parse(%q): %v", rule, err)
	}
	return r
}

// sexpr prints a parsed tree fully parenthesised, to assert its structure.
func sexpr(n *node) string {
	switch n.kind {
	case kindAnd, kindOr, kindNot:
		op := map[nodeKind]string{kindAnd: "and", kindOr: "or", kindNot: "not"}[n.kind]
		parts := []string{op}
		for _, k := range n.kids {
			parts = append(parts, sexpr(k))
		}
		return "(" + strings.Join(parts, " ") + ")"
	case kindAny, kindAll:
		op := "any"
		if n.kind == kindAll {
			op = "all"
		}
		return fmt.Sprintf("(%s %s %s)", op, n.name, sexpr(n.kids[0]))
	}
	var b strings.Builder
	n.write(&b)
	return "[" + b.String() + "]"
}
