package scim

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return m
}

func patchDoc(t testing.TB, rt *ResourceType, d doc, body string) error {
	t.Helper()
	ops, err := decodePatch(decode(t, body))
	if err != nil {
		return err
	}
	return applyPatch(rt, d, ops)
}

func TestPatchAppliesRFCAndProviderForms(t *testing.T) {
	cases := []struct {
		name       string
		before     string
		patch      string
		want       string
		rt         *ResourceType
		wantErrTyp string
	}{
		{name: "replace single-valued", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","path":"userName","value":"b"}]}`, want: `{"userName":"b"}`},
		{name: "Entra capitalised op and string boolean", before: `{"userName":"a","active":true}`,
			patch: `{"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, want: `{"userName":"a","active":false}`},
		{name: "no path, value object with string boolean", before: `{"userName":"a","active":true}`,
			patch: `{"Operations":[{"op":"replace","value":{"active":"False"}}]}`, want: `{"userName":"a","active":false}`},
		{name: "no path, keys are paths (Entra aadOptscim062020)", before: `{"userName":"a","name":{"givenName":"G"},"emails":[{"value":"a@x","type":"work"}]}`,
			patch: `{"Operations":[{"op":"replace","value":{"displayName":"D","emails[type eq \"work\"].value":"b@x","name.familyName":"F"}}]}`,
			want:  `{"userName":"a","displayName":"D","name":{"givenName":"G","familyName":"F"},"emails":[{"value":"b@x","type":"work"}]}`},
		{name: "add through a filter that matches nothing creates the element", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@x"}]}`,
			want:  `{"userName":"a","emails":[{"type":"work","value":"a@x"}]}`},
		{name: "replace through a filter keeps the other values", before: `{"userName":"a","phoneNumbers":[{"value":"1","type":"work"},{"value":"2","type":"mobile"}]}`,
			patch: `{"Operations":[{"op":"replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"3"}]}`,
			want:  `{"userName":"a","phoneNumbers":[{"value":"1","type":"work"},{"value":"3","type":"mobile"}]}`},
		{name: "add to multi-valued appends without duplicates", before: `{"userName":"a","emails":[{"value":"a@x","type":"work"}]}`,
			patch: `{"Operations":[{"op":"add","path":"emails","value":[{"value":"A@x"},{"value":"b@x","type":"home"}]}]}`,
			want:  `{"userName":"a","emails":[{"value":"A@x","type":"work"},{"value":"b@x","type":"home"}]}`},
		{name: "a new primary value takes primary from the others", before: `{"userName":"a","emails":[{"value":"a@x","primary":true}]}`,
			patch: `{"Operations":[{"op":"add","path":"emails","value":{"value":"b@x","primary":"true"}}]}`,
			want:  `{"userName":"a","emails":[{"value":"a@x"},{"value":"b@x","primary":true}]}`},
		{name: "remove a value by filter", before: `{"userName":"a","emails":[{"value":"a@x","type":"work"},{"value":"b@x","type":"home"}]}`,
			patch: `{"Operations":[{"op":"remove","path":"emails[type eq \"home\"]"}]}`,
			want:  `{"userName":"a","emails":[{"value":"a@x","type":"work"}]}`},
		{name: "remove a sub-attribute of filtered values", before: `{"userName":"a","addresses":[{"type":"work","locality":"L","country":"US"}]}`,
			patch: `{"Operations":[{"op":"remove","path":"addresses[type eq \"work\"].locality"}]}`,
			want:  `{"userName":"a","addresses":[{"type":"work","country":"US"}]}`},
		{name: "remove what is absent succeeds", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"remove","path":"emails[type eq \"work\"]"},{"op":"remove","path":"nickName"}]}`,
			want:  `{"userName":"a"}`},
		{name: "Entra manager as a bare string", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m-1"}]}`,
			want:  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m-1"}}}`},
		{name: "remove manager", before: `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m-1"},"department":"D"}}`,
			patch: `{"Operations":[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":[{"value":"m-1"}]}]}`,
			want:  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`},
		{name: "whole extension by URN", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"Department":"D","employeeNumber":7}}]}`,
			want:  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","employeeNumber":"7"}}`},
		{name: "extension key in a value object", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"D"}}]}`,
			want:  `{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`},
		{name: "complex replace merges sub-attributes", before: `{"userName":"a","name":{"givenName":"G","familyName":"F"}}`,
			patch: `{"Operations":[{"op":"replace","path":"name","value":{"familyName":"X"}}]}`,
			want:  `{"userName":"a","name":{"givenName":"G","familyName":"X"}}`},
		{name: "unknown and read-only attributes in a value object are ignored", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","value":{"id":"other","groups":[],"roles":[],"nickName":"N"}}]}`,
			want:  `{"userName":"a","nickName":"N"}`},
		{name: "Entra remove members with a value list", rt: groupType,
			before: `{"displayName":"G","members":[{"value":"u1","type":"User"},{"value":"u2"}]}`,
			patch:  `{"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`,
			want:   `{"displayName":"G","members":[{"value":"u2"}]}`},
		{name: "Okta remove a member by filter", rt: groupType,
			before: `{"displayName":"G","members":[{"value":"u1"},{"value":"u2"}]}`,
			patch:  `{"Operations":[{"op":"remove","path":"members[value eq \"u2\"]"}]}`,
			want:   `{"displayName":"G","members":[{"value":"u1"}]}`},
		{name: "Okta rename with id in the value", rt: groupType,
			before: `{"id":"g1","displayName":"G"}`,
			patch:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"id":"g1","displayName":"H"}}]}`,
			want:   `{"id":"g1","displayName":"H"}`},
		{name: "replace members", rt: groupType,
			before: `{"displayName":"G","members":[{"value":"u1"}]}`,
			patch:  `{"Operations":[{"op":"replace","path":"members","value":[{"value":"u2","display":"ignored"}]}]}`,
			want:   `{"displayName":"G","members":[{"value":"u2"}]}`},
		{name: "remove all members", rt: groupType,
			before: `{"displayName":"G","members":[{"value":"u1"}]}`,
			patch:  `{"Operations":[{"op":"remove","path":"members"}]}`,
			want:   `{"displayName":"G"}`},
		{name: "path naming a read-only attribute", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","path":"id","value":"x"}]}`, wantErrTyp: typeMutability},
		{name: "unknown attribute path", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","path":"favouriteColour","value":"x"}]}`, wantErrTyp: typeInvalidPath},
		{name: "malformed path", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","path":"emails[type eq","value":"x"}]}`, wantErrTyp: typeInvalidPath},
		{name: "remove without path", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"remove"}]}`, wantErrTyp: typeNoTarget},
		{name: "replace through a filter no element can satisfy", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","path":"emails[value co \"x\"].type","value":"work"}]}`, wantErrTyp: typeNoTarget},
		{name: "unknown op", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"move","path":"userName","value":"x"}]}`, wantErrTyp: typeInvalidSyntax},
		{name: "wrong type", before: `{"userName":"a"}`,
			patch: `{"Operations":[{"op":"replace","path":"active","value":"perhaps"}]}`, wantErrTyp: typeInvalidValue},
		{name: "no operations", before: `{"userName":"a"}`, patch: `{"Operations":[]}`, wantErrTyp: typeInvalidSyntax},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := c.rt
			if rt == nil {
				rt = userType
			}
			d := decode(t, c.before)
			err := patchDoc(t, rt, d, c.patch)
			if c.wantErrTyp != "" {
				se, ok := err.(*Error)
				if !ok || se.Type != c.wantErrTyp {
					t.Fatalf("error %v, want scimType %s", err, c.wantErrTyp)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := decode(t, c.want); !reflect.DeepEqual(map[string]any(d), want) {
				got, _ := json.Marshal(d)
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestMemberChangesRecogniseMembershipOnlyPatches(t *testing.T) {
	for body, fast := range map[string]bool{
		`{"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`:                      true,
		`{"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1"}]}]}`:                               true,
		`{"Operations":[{"op":"remove","path":"members[value eq \"u1\"]"}]}`:                                       true,
		`{"Operations":[{"op":"add","path":"members","value":[{"value":"u1"}]},{"op":"remove","path":"members"}]}`: false,
		`{"Operations":[{"op":"replace","path":"members","value":[{"value":"u1"}]}]}`:                              false,
		`{"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`:                                       false,
		`{"Operations":[{"op":"remove","path":"members[display eq \"x\"]"}]}`:                                      false,
	} {
		ops, err := decodePatch(decode(t, body))
		if err != nil {
			t.Fatal(err)
		}
		if _, got := memberChanges(ops); got != fast {
			t.Errorf("%s: fast %v, want %v", body, got, fast)
		}
	}
}
