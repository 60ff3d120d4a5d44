package odata

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParseFilterBuildsTheExpectedTree(t *testing.T) {
	cases := []struct{ in, want string }{
		{"displayName eq 'Ann'", "(displayName eq 'Ann')"},
		{"displayName EQ 'O''Brien'", "(displayName eq 'O''Brien')"},
		{"accountEnabled eq true and userType eq 'Guest'", "((accountEnabled eq true) and (userType eq 'Guest'))"},
		{"a eq 1 or b eq 2 and c eq 3", "((a eq 1) or ((b eq 2) and (c eq 3)))"},
		{"(a eq 1 or b eq 2) and c eq 3", "(((a eq 1) or (b eq 2)) and (c eq 3))"},
		{"not(a eq 1)", "not((a eq 1))"},
		{"NOT startsWith(displayName,'Conf')", "not(startswith(displayName,'Conf'))"},
		{"startsWith(displayName, 'Al')", "startswith(displayName,'Al')"},
		{"endsWith(mail,'@contoso.com')", "endswith(mail,'@contoso.com')"},
		{"id in ('a', 'b')", "(id in ('a','b'))"},
		{"assignedLicenses/any(x:x/skuId eq 6FD2C87F-B296-42F0-B197-1E91E994B900)", "assignedLicenses/any(x:(x/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900))"},
		{"assignedLicenses/$count eq 0", "(assignedLicenses/$count eq 0)"},
		{"assignedLicenses/any()", "assignedLicenses/any()"},
		{"proxyAddresses/any(p:startsWith(p,'smtp:'))", "proxyAddresses/any(p:startswith(p,'smtp:'))"},
		{"hasMembersWithLicenseErrors eq true", "(hasMembersWithLicenseErrors eq true)"},
		{"createdDateTime ge 2021-01-01T00:00:00Z", "(createdDateTime ge 2021-01-01T00:00:00Z)"},
		{"employeeHireDate le 2021-01-01", "(employeeHireDate le 2021-01-01)"},
		{"city eq null", "(city eq null)"},
		{"onPremisesExtensionAttributes/extensionAttribute1 eq 'x'", "(onPremisesExtensionAttributes/extensionAttribute1 eq 'x')"},
		{"n gt -1.5", "(n gt -1.5)"},
	}
	for _, c := range cases {
		n, err := ParseFilter(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := n.String(); got != c.want {
			t.Errorf("%q: got %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseFilterRefusesMalformedInputWithPosition(t *testing.T) {
	cases := []struct{ in, msg string }{
		{"", "empty"},
		{"displayName eq", "an expression expected at position 14"},
		{"displayName eq 'x", "unterminated string literal at position 15"},
		{"(a eq 1", "')' expected"},
		{"a eq 1)", "unexpected ')'"},
		{"a eq # ", "character '#' is not valid at position 5"},
		{"startsWith(a)", "takes 2 arguments"},
		{"id in 'a'", "'(' expected after 'in'"},
		{"id in (a)", "a literal expected"},
		{"x/any(y y eq 1)", "':' expected"},
		{"a eq 1 and", "an expression expected"},
		{"a eq 12abc", "unexpected character"},
		{strings.Repeat("(", 100) + "a eq 1" + strings.Repeat(")", 100), "nested more than"},
	}
	for _, c := range cases {
		_, err := ParseFilter(c.in)
		var e *Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%q: got %v, want an error containing %q", c.in, err, c.msg)
			continue
		}
		if e.Code != "BadRequest" || !strings.HasPrefix(e.Msg, "Invalid filter clause") {
			t.Errorf("%q: %s %s", c.in, e.Code, e.Msg)
		}
	}
}

func TestParseQueryOptions(t *testing.T) {
	all := Options{Select: true, Filter: true, Top: true, Count: true, OrderBy: true, Search: true, SkipToken: true}
	q, err := Parse(url.Values{"$select": {"id, displayName"}, "$top": {"5"}, "$count": {"true"}, "$orderby": {"displayName desc"},
		"$search": {`"displayName:ann" OR "mail:bob" AND "displayName:x"`}, "api-version": {"1"}}, all, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Select) != 2 || q.Select[1] != "displayName" || q.Top != 5 || !q.Count || !q.OrderBy[0].Desc || q.OrderBy[0].Property != "displayName" {
		t.Fatalf("%+v", q)
	}
	if len(q.Search.Any) != 2 || len(q.Search.Any[1]) != 2 || q.Search.Any[0][0].Value != "ann" {
		t.Fatalf("search %+v", q.Search)
	}
	bad := []struct {
		v    url.Values
		opts Options
		code string
		msg  string
	}{
		{url.Values{"$top": {"0"}}, all, "Request_UnsupportedQuery", "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."},
		{url.Values{"$top": {"1000"}}, all, "Request_UnsupportedQuery", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{url.Values{"$top": {"x"}}, all, "Request_UnsupportedQuery", "Invalid page size"},
		{url.Values{"$skip": {"10"}}, all, "Request_BadRequest", "'$skip' is not supported by the service."},
		{url.Values{"$expand": {"manager"}}, all, "Request_BadRequest", "'$expand' is not supported by the service."},
		{url.Values{"$filter": {"a eq 1"}}, Options{Select: true}, "Request_BadRequest", "'$filter' is not supported"},
		{url.Values{"$count": {"maybe"}}, all, "BadRequest", "not a valid count option"},
		{url.Values{"$orderby": {"displayName sideways"}}, all, "BadRequest", "not asc or desc"},
		{url.Values{"$search": {"displayName:x"}}, all, "Request_UnsupportedQuery", "quoted"},
		{url.Values{"$search": {`"displayName:x" NEAR "mail:y"`}}, all, "Request_UnsupportedQuery", "AND or OR expected"},
		{url.Values{"$select": {"id,,x"}}, all, "BadRequest", "$select"},
	}
	for _, c := range bad {
		_, err := Parse(c.v, c.opts, true)
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%v: got %v", c.v, err)
		}
	}
}
