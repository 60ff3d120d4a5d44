package graph_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"

	"allot/api/apitest"
)

func TestBatchRunsRequestsInDependencyOrderAndFailsDependents(t *testing.T) {
	f := newFixture(t)
	g := f.group("Sales")
	r := f.Must(200, "POST", "/v1.0/$batch", f.admin, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "POST", "url": "/users", "headers": map[string]string{"Content-Type": "application/json"},
			"body": map[string]any{"accountEnabled": true, "displayName": "Ann", "mailNickname": "ann", "userPrincipalName": "ann@contoso.example", "usageLocation": "US"}},
		map[string]any{"id": "2", "method": "POST", "url": "/users/ann@contoso.example/assignLicense", "dependsOn": []string{"1"},
			"headers": map[string]string{"Content-Type": "application/json"},
			"body":    map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}}},
		map[string]any{"id": "3", "method": "GET", "url": "users/ann@contoso.example/licenseDetails", "dependsOn": []string{"2"}},
		map[string]any{"id": "4", "method": "GET", "url": "/groups/" + unknown},
		map[string]any{"id": "5", "method": "DELETE", "url": "/groups/" + g, "dependsOn": []string{"4"}},
		map[string]any{"id": "6", "method": "GET", "url": "/users?$count=true&$filter=endsWith(userPrincipalName,'@contoso.example')",
			"headers": map[string]string{"ConsistencyLevel": "eventual"}, "dependsOn": []string{"1"}},
	}})
	var out struct {
		Responses []struct {
			ID     string         `json:"id"`
			Status int            `json:"status"`
			Body   map[string]any `json:"body"`
		} `json:"responses"`
	}
	r.Decode(t, &out)
	status := map[string]int{}
	bodies := map[string]map[string]any{}
	for _, x := range out.Responses {
		status[x.ID], bodies[x.ID] = x.Status, x.Body
	}
	if fmt.Sprint(status) != "map[1:201 2:200 3:200 4:404 5:424 6:200]" {
		t.Fatalf("statuses %v: %s", status, r.Body)
	}
	if d := bodies["3"]["value"].([]any); len(d) != 1 {
		t.Fatalf("licenseDetails in batch: %v", bodies["3"])
	}
	if bodies["6"]["@odata.count"].(float64) != 1 {
		t.Fatalf("advanced query in batch: %v", bodies["6"])
	}
	// The failed dependency kept the group.
	f.Must(200, "GET", "/v1.0/groups/"+g, f.admin, nil)

	req := func(id string) map[string]any { return map[string]any{"id": id, "method": "GET", "url": "/users"} }
	var many []any
	for i := 0; i < 21; i++ {
		many = append(many, req(fmt.Sprint(i)))
	}
	wantError(t, f.Call("POST", "/v1.0/$batch", f.admin, map[string]any{"requests": many}), 400, "BadRequest", "exceeds the limit of 20")
	wantError(t, f.Call("POST", "/v1.0/$batch", f.admin, map[string]any{"requests": []any{req("a"), req("A")}}), 400, "BadRequest", "Request Id A has to be unique in a batch.")
	wantError(t, f.Call("POST", "/v1.0/$batch", f.admin, `{"requests":`), 400, "BadRequest", "Invalid batch payload format.")
	cyc := []any{map[string]any{"id": "1", "method": "GET", "url": "/users", "dependsOn": []string{"2"}}, map[string]any{"id": "2", "method": "GET", "url": "/users", "dependsOn": []string{"1"}}}
	wantError(t, f.Call("POST", "/v1.0/$batch", f.admin, map[string]any{"requests": cyc}), 400, "BadRequest", "cycle")
	// Each request is authorised on its own.
	reader := f.Token(f.tenant, "GlobalReader")
	r = f.Must(200, "POST", "/v1.0/$batch", reader, map[string]any{"requests": []any{req("r"), map[string]any{"id": "w", "method": "DELETE", "url": "/groups/" + g}}})
	if !strings.Contains(string(r.Body), `"id":"w","status":403`) || !strings.Contains(string(r.Body), `"id":"r","status":200`) {
		t.Fatalf("per-request authorisation: %s", r.Body)
	}
}

func TestThrottlingAnswers429WithRetryAfter(t *testing.T) {
	f := newFixture(t, throttled(1, 3))
	for i := 0; i < 3; i++ {
		f.Must(200, "GET", "/v1.0/subscribedSkus", f.admin, nil)
	}
	r := f.Call("GET", "/v1.0/subscribedSkus", f.admin, nil)
	wantError(t, r, 429, "TooManyRequests", "Please retry again later.")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	// Buckets are per token, and the partner administrator is not throttled.
	other := f.Token(f.tenant, "GlobalReader")
	f.Must(200, "GET", "/v1.0/subscribedSkus", other, nil)
	for i := 0; i < 10; i++ {
		f.Must(200, "GET", "/v1.0/subscribedSkus", apitest.PartnerToken, nil, "X-Allot-Tenant: "+f.tenant)
	}
}

func TestGzipRequestBodiesAreAccepted(t *testing.T) {
	f := newFixture(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"accountEnabled":true,"displayName":"Zed","mailNickname":"zed","userPrincipalName":"zed@contoso.example"}`))
	zw.Close()
	f.Must(201, "POST", "/v1.0/users", f.admin, buf.Bytes(), "Content-Encoding: gzip")
	wantError(t, f.Call("POST", "/v1.0/users", f.admin, `{}`, "Content-Encoding: br"), 415, "UnsupportedMediaType", "br")
}

// A write inside a batch without a body is the client's mistake: each such
// request answers 400 with Graph's error body (it used to panic on the
// missing body, an inner 500).
func TestBatchWriteWithoutBodyAnswers400(t *testing.T) {
	f := newFixture(t)
	g := f.group("Sales")
	r := f.Must(200, "POST", "/v1.0/$batch", f.admin, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "POST", "url": "/users"},
		map[string]any{"id": "2", "method": "PATCH", "url": "/groups/" + g},
		map[string]any{"id": "3", "method": "POST", "url": "/groups/" + g + "/members/$ref", "body": nil},
	}})
	var out struct {
		Responses []struct {
			ID     string `json:"id"`
			Status int    `json:"status"`
			Body   struct {
				Error struct{ Code, Message string } `json:"error"`
			} `json:"body"`
		} `json:"responses"`
	}
	r.Decode(t, &out)
	if len(out.Responses) != 3 {
		t.Fatalf("responses: %s", r.Body)
	}
	for _, x := range out.Responses {
		if x.Status != 400 || x.Body.Error.Code == "" || !strings.Contains(x.Body.Error.Message, "body") {
			t.Fatalf("request %s: status %d %+v", x.ID, x.Status, x.Body.Error)
		}
	}
}

// A body of the wrong JSON type (an array or a string where Graph expects an
// object) is answered 400 with a message in JSON's terms — directly and
// inside $batch — never with Go type names.
func TestBodyOfTheWrongJSONTypeSaysAnObjectIsExpected(t *testing.T) {
	f := newFixture(t)
	g := f.group("Sales")
	wantError(t, f.Call("POST", "/v1.0/users", f.admin, `[1,2]`), 400, "Request_BadRequest", "The request body must be a JSON object.")
	wantError(t, f.Call("PATCH", "/v1.0/groups/"+g, f.admin, `"Sales"`), 400, "Request_BadRequest", "The request body must be a JSON object.")
	r := f.Must(200, "POST", "/v1.0/$batch", f.admin, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "POST", "url": "/users", "headers": map[string]string{"Content-Type": "application/json"}, "body": []any{1}},
		map[string]any{"id": "2", "method": "PATCH", "url": "/groups/" + g, "headers": map[string]string{"Content-Type": "application/json"}, "body": "Sales"},
	}})
	var out struct {
		Responses []struct {
			ID     string `json:"id"`
			Status int    `json:"status"`
			Body   struct {
				Error struct{ Code, Message string } `json:"error"`
			} `json:"body"`
		} `json:"responses"`
	}
	r.Decode(t, &out)
	if len(out.Responses) != 2 {
		t.Fatalf("responses: %s", r.Body)
	}
	for _, x := range out.Responses {
		if x.Status != 400 || x.Body.Error.Message != "The request body must be a JSON object." {
			t.Fatalf("request %s: status %d %+v", x.ID, x.Status, x.Body.Error)
		}
	}
}
