package respond

import (
	"net/http/httptest"
	"strings"
	"testing"

	"allot"
)

// A body of the wrong JSON type is explained in JSON's terms, never with Go
// type names: the whole body, and one property.
func TestDecodeExplainsAWrongJSONTypeInUserTerms(t *testing.T) {
	type item struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
		On    bool     `json:"on"`
	}
	for _, tc := range []struct {
		body string
		v    func() any
		want string
	}{
		{`[1,2]`, func() any { return &map[string]any{} }, "The request body must be a JSON object."},
		{`"text"`, func() any { return &item{} }, "The request body must be a JSON object."},
		{`{"a":1}`, func() any { return &[]item{} }, "The request body must be a JSON array."},
		{`{"name":5}`, func() any { return &item{} }, "Invalid value for property 'name': expected a string, not a number."},
		{`{"count":"5"}`, func() any { return &item{} }, "Invalid value for property 'count': expected a whole number, not a string."},
		{`{"count":1.5}`, func() any { return &item{} }, "Invalid value for property 'count': expected a whole number."},
		{`{"tags":"a"}`, func() any { return &item{} }, "Invalid value for property 'tags': expected a JSON array, not a string."},
		{`{"on":"yes"}`, func() any { return &item{} }, "Invalid value for property 'on': expected true or false, not a string."},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		err := Decode(r, tc.v(), 0, false)
		if allot.ErrorCode(err) != allot.EINVALID || allot.ErrorMessage(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.body, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "map[") || strings.Contains(err.Error(), "respond.")) {
			t.Errorf("%s: Go type in the message: %v", tc.body, err)
		}
	}
}
