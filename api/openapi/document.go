package openapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var (
	pathParam = regexp.MustCompile(`\{([A-Za-z0-9_]+)(\.\.\.)?\}`)
	words     = regexp.MustCompile(`[A-Za-z0-9]+`)
)

// Info is the document's title, version and description.
type Info struct {
	Title, Version, Description string
}

// IsPage reports whether a pattern is not an API operation: a pattern
// without a method (a catch-all that answers the surface's 404), the
// admin center's pages (/ and /admin/…: HTML for a browser session, not
// for API clients) and the document and its page themselves. Every other
// registered route must carry an Op.
func IsPage(pattern string) bool {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || !strings.HasPrefix(path, "/") || method == "" {
		return true
	}
	return path == "/{$}" || path == "/" || strings.HasPrefix(path, "/admin/")
}

// OperationID is the operationId of an operation: Op.ID, else one made of
// the method and the path's words (getAllotV1PositionSnapshotsId).
func OperationID(method, path string, op Op) string {
	if op.ID != "" {
		return op.ID
	}
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, w := range words.FindAllString(path, -1) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// Document builds the OpenAPI 3.1 document of the routes. errorBody is a
// value of the error answer's type (unless an Op names its own). Routes whose pattern IsPage are left
// out.
func Document(info Info, routes []Route, errorBody any) map[string]any {
	g := NewSchemas()
	errSchema := g.Of(errorBody)
	paths := map[string]any{}
	tags := map[string]bool{}
	for _, rt := range routes {
		if IsPage(rt.Pattern) {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = operation(g, method, path, rt.Op, errSchema)
		tags[rt.Op.Tag] = true
	}
	var tagList []any
	for _, t := range sortedKeys(tags) {
		if t != "" {
			tagList = append(tagList, map[string]any{"name": t, "description": tagDescriptions[t]})
		}
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": info.Title, "version": info.Version, "description": info.Description,
			"license": map[string]any{"name": "Proprietary", "identifier": "LicenseRef-allot"}},
		"servers":  []any{map[string]any{"url": "/", "description": "This allot server"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"tags":     tagList,
		"paths":    paths,
		"components": map[string]any{
			"schemas": g.Components,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "An allot API token (allot token create, or the admin center's Tokens page)."}},
		},
	}
}

// tagDescriptions name the surfaces.
var tagDescriptions = map[string]string{
	"users": "Microsoft Graph v1.0: users", "groups": "Microsoft Graph v1.0: groups", "licenses": "Microsoft Graph v1.0: licenses",
	"deletedItems": "Microsoft Graph v1.0: deleted users and groups (30 days)", "domains": "Microsoft Graph v1.0: the tenant's domains",
	"batch": "Microsoft Graph JSON batching", "partner": "Partner Center: customers and subscriptions",
	"admin": "allot administration: tokens, import, rules, audit, catalog, settings",
	"usage": "Usage reports, feature events and sign-ins", "position": "The license position, prices, snapshots and what-if",
	"allotments": "Microsoft Graph beta cloudLicensing: allotments and assignments",
	"scim":       "SCIM 2.0 provisioning (RFC 7643/7644); errors in SCIM's error body", "operations": "Health, readiness, metrics, this document",
}

func operation(g *Schemas, method, path string, op Op, errSchema map[string]any) map[string]any {
	var params []any
	described := map[string]Param{}
	for _, p := range op.Params {
		if p.In == "path" {
			described[p.Name] = p
		}
	}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		p := described[m[1]]
		p.Name, p.In, p.Required = m[1], "path", true
		params = append(params, param(p))
	}
	for _, p := range op.Params {
		if p.In != "path" {
			params = append(params, param(p))
		}
	}
	read := method == http.MethodGet || method == http.MethodHead
	if !op.Public && read {
		params = append(params, minSeqParam)
	}
	out := map[string]any{"operationId": OperationID(method, pathParam.ReplaceAllString(path, "$1"), op), "summary": op.Summary}
	if op.Tag != "" {
		out["tags"] = []string{op.Tag}
	}
	if op.Description != "" {
		out["description"] = op.Description
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if op.Body != nil {
		ct := op.BodyType
		if ct == "" {
			ct = "application/json"
		}
		media := map[string]any{"schema": g.Of(op.Body)}
		if op.Example != "" {
			media["example"] = exampleValue(ct, op.Example)
		}
		out["requestBody"] = map[string]any{"required": !op.BodyOptional, "content": map[string]any{ct: media}}
	}
	out["responses"] = responsesOf(g, op, read, errSchema)
	if op.Public {
		out["security"] = []any{}
	}
	return out
}

// responsesOf is an operation's responses: its success (with the write's
// sequence header), and the error statuses it declares or that every
// operation of its kind can answer (401 and 503 with a token, 400 with a
// body or parameters, 413 with a body).
func responsesOf(g *Schemas, op Op, read bool, errSchema map[string]any) map[string]any {
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	if op.Response != nil {
		ct := op.ResponseType
		if ct == "" {
			ct = "application/json"
		}
		ok["content"] = map[string]any{ct: map[string]any{"schema": g.Of(op.Response)}}
	}
	if !op.Public && !read {
		ok["headers"] = map[string]any{seqHeader: seqHeaderDoc}
	}
	responses := map[string]any{strconv.Itoa(status): ok}
	errs := map[int]bool{}
	for _, e := range op.Errors {
		errs[e] = true
	}
	if !op.Public {
		errs[http.StatusUnauthorized] = true
		errs[http.StatusServiceUnavailable] = true
	}
	if op.Body != nil || len(op.Params) > 0 || (!op.Public && read) {
		errs[http.StatusBadRequest] = true
	}
	if op.Body != nil {
		errs[http.StatusRequestEntityTooLarge] = true
	}
	codes := make([]int, 0, len(errs))
	for c := range errs {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	for _, c := range codes {
		e := map[string]any{"description": errorText[c]}
		if e["description"] == "" {
			e["description"] = http.StatusText(c)
		}
		switch {
		case op.ErrorBody != nil:
			e["content"] = map[string]any{op.ErrorType: map[string]any{"schema": g.Of(op.ErrorBody)}}
		case errSchema != nil:
			e["content"] = map[string]any{"application/json": map[string]any{"schema": errSchema}}
		}
		responses[strconv.Itoa(c)] = e
	}
	return responses
}

// The read-your-writes headers of every request of one tenant (api/server
// cluster.go): a write's success answer carries the log number of the
// tenant's state it left; a read may ask to see at least that number.
const seqHeader = "X-Allot-Seq"

var (
	seqHeaderDoc = map[string]any{
		"description": "On a request of one tenant: the tenant's log number once this write is committed. Send it as X-Allot-Min-Seq on a later read (to any allot process sharing the database) to read this write.",
		"schema":      map[string]any{"type": "integer", "minimum": 0},
	}
	minSeqParam = map[string]any{
		"name": "X-Allot-Min-Seq", "in": "header", "required": false,
		"description": "On a request of one tenant: answer only from a state that includes this log number (a write's X-Allot-Seq): the request waits up to 5 s for it, then gets 503 with Retry-After. A value that is not a non-negative integer, or past the log of a single-writer process, is 400.",
		"schema":      map[string]any{"type": "integer", "minimum": 0},
	}
)

// errorText says when each error status is answered.
var errorText = map[int]string{
	400: "The request is invalid (the message says what is wrong); nothing was changed",
	401: "No token, or an invalid or revoked one",
	403: "The token's role may not do this",
	404: "No such object (or one outside an allotment owner's scope)",
	409: "The change conflicts with the tenant's state; nothing was changed",
	413: "The request body is too large",
	429: "Too many requests; retry after Retry-After seconds",
	503: "The tenant is still loading or the store is unavailable; retry after Retry-After seconds",
}

func param(p Param) map[string]any {
	in := p.In
	if in == "" {
		in = "query"
	}
	typ := p.Type
	if typ == "" {
		typ = "string"
	}
	s := map[string]any{"type": typ}
	if len(p.Enum) > 0 {
		s["enum"] = p.Enum
	}
	if p.Default != nil {
		s["default"] = p.Default
	}
	out := map[string]any{"name": p.Name, "in": in, "schema": s}
	if p.Description != "" {
		out["description"] = p.Description
	}
	if p.Required || in == "path" {
		out["required"] = true
	}
	return out
}

// exampleValue is an example as the document holds it: JSON bodies as
// their value, others as text.
func exampleValue(ct, raw string) any {
	if strings.Contains(ct, "json") {
		var v any
		if err := json.Unmarshal([]byte(raw), &v); err == nil {
			return v
		}
	}
	return raw
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
