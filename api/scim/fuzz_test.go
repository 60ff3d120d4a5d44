package scim

import (
	"encoding/json"
	"testing"

	"allot/licensing"
)

// FuzzFilter: parsing, compiling and evaluating any filter never panics,
// and a parsed filter compiles or fails with invalidFilter.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `name.familyName co "O'Malley"`, `userName sw "J"`, `title pr`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`, `title pr and userType eq "Employee"`,
		`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
		`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
		`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
		`active eq "True"`, `x eq 1.5e3`, `members[value eq "\u00e9"]`, `((a pr))`, `not(not(a pr))`,
	} {
		f.Add(s)
	}
	d := sampleUser(f)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseFilter(s)
		if err != nil {
			return
		}
		for _, rt := range resourceTypes {
			p, err := compileFilter(rt, e)
			if err != nil {
				if se, ok := err.(*Error); !ok || se.Type != typeInvalidFilter {
					t.Fatalf("%q: %v", s, err)
				}
				continue
			}
			p(func(k string) any { return d[k] })
		}
	})
}

// FuzzPatchPath: parsing any PATCH path, and applying add, replace and
// remove through it to a user and a group, never panics.
func FuzzPatchPath(f *testing.F) {
	for _, s := range []string{
		`members`, `members[value eq "u1"]`, `emails[type eq "work"].value`, `name.familyName`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, `addresses[type eq "work" and primary eq true].country`,
		`emails[not (type eq "home")]`, `meta.version`, `groups`, `$ref`,
	} {
		f.Add(s, `"x"`)
		f.Add(s, `[{"value":"u1","type":"work"}]`)
		f.Add(s, `{"value":"v","primary":"True"}`)
	}
	f.Fuzz(func(t *testing.T, path, value string) {
		pp, err := parsePath(path)
		if err != nil {
			return
		}
		var v any
		if json.Unmarshal([]byte(value), &v) != nil {
			v = value
		}
		for _, rt := range resourceTypes {
			for _, op := range []string{opAdd, opReplace, opRemove} {
				d := sampleUser(t)
				if rt == groupType {
					d = doc{"displayName": "G", "members": []any{map[string]any{"value": "u1"}}}
				}
				o := patchOp{op: op, path: &pp, raw: path, value: v}
				_ = applyPatch(rt, d, []patchOp{o})
				if rt == userType {
					_, _ = userFromDoc(d, userFixture())
				} else {
					_, _ = groupFromDoc(d, groupFixture())
				}
			}
		}
	})
}

func userFixture() licensing.User {
	return licensing.User{ID: "u", UserPrincipalName: "u@x", Attributes: map[string]string{"scim:address.home.locality": "L", "scim:phone.pager": "1"}}
}

func groupFixture() licensing.Group { return licensing.Group{ID: "g", DisplayName: "G"} }
