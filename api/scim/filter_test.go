package scim

import (
	"encoding/json"
	"strings"
	"testing"
)

// sampleUser is a rendered user as filters see it.
func sampleUser(t testing.TB) doc {
	t.Helper()
	var d doc
	err := json.Unmarshal([]byte(`{
		"id": "2819c223-7f76-453a-919d-413861904646",
		"externalId": "bjensen",
		"userName": "Bjensen@Example.com",
		"name": {"familyName": "Jensen", "givenName": "Barbara"},
		"displayName": "Babs Jensen",
		"title": "Tour Guide",
		"active": true,
		"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
		"addresses": [{"type": "work", "locality": "Hollywood", "country": "US"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour Operations", "employeeNumber": "701984",
			"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
		"meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"}
	}`), &d)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFilterMatchesRFCExamples(t *testing.T) {
	d := sampleUser(t)
	cases := []struct {
		filter string
		want   bool
	}{
		{`userName eq "bjensen@example.com"`, true}, // userName is not caseExact
		{`USERNAME Eq "BJENSEN@EXAMPLE.COM"`, true}, // names and operators are case-insensitive
		{`externalId eq "BJENSEN"`, false},          // externalId is caseExact
		{`externalId eq "bjensen"`, true},
		{`name.familyName co "ens"`, true},
		{`userName sw "Bj"`, true},
		{`userName ew "example.com"`, true},
		{`title pr`, true},
		{`nickName pr`, false},
		{`title ne "Tour Guide"`, false},
		{`nickName ne "x"`, true},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
		{`meta.lastModified lt "2011-05-13T05:42:34+01:00"`, false}, // same instant
		{`meta.created le "2011-01-01T00:00:00Z"`, true},
		{`title pr and userType eq "Employee"`, false},
		{`title pr or userType eq "Intern"`, true},
		{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, false},
		{`emails co "example.com" and not (title eq "x")`, true},
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "home" and value co "@example.com"]`, false},
		{`emails[type eq "work"] or emails[type eq "other"]`, true},
		{`emails.type eq "home"`, true},
		{`active eq true`, true},
		{`active eq "True"`, true},
		{`active ne false`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true},
		{`department eq "Tour Operations"`, true}, // extension attributes resolve without their URN when unambiguous
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"`, true},
		{`addresses[type eq "work" and country eq "us"].locality`, false},
		{`not(active eq true)`, false},
		{`title eq null`, false},
		{`nickName eq null`, true},
		{`(((userName pr)))`, true},
		{`userName gt "a" and userName lt "c"`, true},
		// Unquoted values, as Microsoft's SCIM reference collection sends them.
		{`userName sw Bj`, true},
		{`userName sw O`, false},
		{`name.FamilyName eq Jensen and (emails.Value co example.com or emails.Value co example.org)`, true},
		{`meta.Created gt 2009-10-10T14:38:21.8617979-07:00`, true},
		{`meta.Created gt 2015-10-10T14:38:21.8617979-07:00`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq 701984`, true},
		{`externalId eq 0701984`, false}, // the text as written, not the number
		{`active eq True`, true},
	}
	for _, c := range cases {
		e, err := parseFilter(c.filter)
		if err != nil {
			if strings.HasSuffix(c.filter, ".locality") {
				continue // value paths followed by a sub-attribute are PATCH paths, not filters
			}
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		p, err := compileFilter(userType, e)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if got := p(func(k string) any { return d[k] }); got != c.want {
			t.Errorf("%s: got %v, want %v", c.filter, got, c.want)
		}
	}
}

func TestFilterSyntaxErrorsNameThePosition(t *testing.T) {
	for _, f := range []string{
		`userName eq`, `userName eq "x`, `userName xx "x"`, `(userName eq "x"`, `userName eq "x")`,
		`emails[type eq "work"`, `emails[type[value eq "x"]]`, `and`, `userName eq "x" and`, `1abc eq "x"`,
		`userName eq and`, `userName eq or title pr`, `not userName eq "x"`, ``, `name.given.x eq "x"`,
	} {
		if _, err := parseFilter(f); err == nil {
			t.Errorf("%q: parsed", f)
		} else if f != "" && !strings.Contains(err.Error(), "position") && !strings.Contains(err.Error(), "invalid") {
			t.Errorf("%q: error %q does not say where", f, err)
		}
	}
}

func TestFilterRefusesWhatItCannotCompare(t *testing.T) {
	for _, f := range []string{
		`noSuchAttribute eq "x"`, `name eq "x"`, `meta.created gt yesterday`, `active eq maybe`, `active gt true`, `active eq "maybe"`, `meta.created gt "yesterday"`,
		`emails[nope eq "x"]`, `userName[value eq "x"]`, `urn:example:unknown:2.0:User:x eq "y"`,
	} {
		e, err := parseFilter(f)
		if err != nil {
			t.Errorf("%q: parse: %v", f, err)
			continue
		}
		if _, err := compileFilter(userType, e); err == nil {
			t.Errorf("%q: compiled", f)
		} else if se, ok := err.(*Error); !ok || se.Type != typeInvalidFilter {
			t.Errorf("%q: %v, want invalidFilter", f, err)
		}
	}
}

func TestFilterNestingIsBounded(t *testing.T) {
	f := strings.Repeat("(", 100) + `userName pr` + strings.Repeat(")", 100)
	if _, err := parseFilter(f); err == nil {
		t.Fatal("deep nesting parsed")
	}
	ok := strings.Repeat("(", 20) + `userName pr` + strings.Repeat(")", 20)
	if _, err := parseFilter(ok); err != nil {
		t.Fatal(err)
	}
}

func TestPathParsing(t *testing.T) {
	cases := []struct {
		path           string
		urn, name, sub string
		filter         bool
		after          string
	}{
		{"userName", "", "userName", "", false, ""},
		{"name.familyName", "", "name", "familyName", false, ""},
		{`members[value eq "2819c223"]`, "", "members", "", true, ""},
		{`emails[type eq "work"].value`, "", "emails", "", true, "value"},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager", "", false, ""},
		{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager", "value", false, ""},
		{`addresses[type eq "work"].streetAddress`, "", "addresses", "", true, "streetAddress"},
	}
	for _, c := range cases {
		p, err := parsePath(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if p.attr.URN != c.urn || p.attr.Name != c.name || p.attr.Sub != c.sub || (p.filter != nil) != c.filter || p.sub != c.after {
			t.Errorf("%s: got %+v", c.path, p)
		}
	}
	for _, bad := range []string{"", "emails[", `emails[type eq "work"]x`, `emails[type eq "work"].`, "name.", "a b", `emails.value[type eq "x"]`} {
		if _, err := parsePath(bad); err == nil {
			t.Errorf("%q: parsed", bad)
		}
	}
}
