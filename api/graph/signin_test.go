package graph_test

import (
	"net/url"
	"testing"
	"time"

	"allot/api/graph"
	apiusage "allot/api/usage"
)

func TestSignInActivityFromSignIns(t *testing.T) {
	f := newFixture(t, graph.Register, apiusage.Register)
	a := f.user("a@contoso.example", "A")
	b := f.user("b@contoso.example", "B")
	t1 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	t2 := t1.Add(time.Hour)
	f.Must(200, "POST", "/allot/v1/signins", f.admin, `{"value":[`+
		`{"id":"s1","user":"a@contoso.example","at":"`+t1.Format(time.RFC3339)+`","application":"Outlook","interactive":true},`+
		`{"id":"s2","user":"a@contoso.example","at":"`+t2.Format(time.RFC3339)+`","application":"Teams","interactive":false}]}`)

	si := f.Must(200, "GET", "/v1.0/users/"+a+"?$select=id,signInActivity", f.admin, nil).JSON()["signInActivity"].(map[string]any)
	want := map[string]any{"lastSignInDateTime": t1.Format(time.RFC3339), "lastNonInteractiveSignInDateTime": t2.Format(time.RFC3339),
		"lastSuccessfulSignInDateTime": t2.Format(time.RFC3339), "lastSignInRequestId": nil, "lastNonInteractiveSignInRequestId": nil,
		"lastSuccessfulSignInRequestId": nil}
	for k, v := range want {
		if si[k] != v {
			t.Errorf("%s = %v, want %v", k, si[k], v)
		}
	}
	// An interactive sign-in after: no non-interactive one is known since.
	t3 := t2.Add(time.Minute)
	f.Must(200, "POST", "/allot/v1/signins", f.admin, `{"value":[{"id":"s3","user":"a@contoso.example","at":"`+t3.Format(time.RFC3339)+`","interactive":true}]}`)
	si = f.Must(200, "GET", "/v1.0/users/"+a+"?$select=signInActivity", f.admin, nil).JSON()["signInActivity"].(map[string]any)
	if si["lastSignInDateTime"] != t3.Format(time.RFC3339) || si["lastNonInteractiveSignInDateTime"] != nil || si["lastSuccessfulSignInDateTime"] != t3.Format(time.RFC3339) {
		t.Errorf("after an interactive sign-in: %v", si)
	}
	// No sign-ins: every property null; in a listing too; not by default.
	r := f.Must(200, "GET", "/v1.0/users?$select=id,signInActivity&$filter="+url.QueryEscape("id eq '"+b+"'"), f.admin, nil)
	if len(values(r)) != 1 {
		t.Fatalf("listing: %s", r.Body)
	}
	si = values(r)[0]["signInActivity"].(map[string]any)
	for k, v := range si {
		if v != nil {
			t.Errorf("user without sign-ins: %s = %v", k, v)
		}
	}
	if _, ok := f.Must(200, "GET", "/v1.0/users/"+a, f.admin, nil).JSON()["signInActivity"]; ok {
		t.Error("signInActivity is returned only when selected")
	}
	// Not in delta queries.
	wantError(t, f.Call("GET", "/v1.0/users/delta?$select=id,signInActivity", f.admin, nil), 400, "Request_UnsupportedQuery", "signInActivity")
	for _, v := range values(f.Must(200, "GET", "/v1.0/users/delta?$select=*", f.admin, nil)) {
		if _, ok := v["signInActivity"]; ok {
			t.Fatal("$select=* in a delta query leaves signInActivity out")
		}
	}
}
