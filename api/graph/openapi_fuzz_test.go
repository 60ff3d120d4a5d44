package graph_test

import (
	"regexp"
	"strings"
	"testing"

	"allot/api/apitest"
)

// FuzzDocumentedOperations: every operation of /openapi.json, seeded with
// its documented example (or no body) on the fuzz world's objects, keeps
// the invariants of apitest.Fuzz.Check (no panic, no 5xx, a 4xx changes
// nothing). The seeds come from the registered descriptions, so a new
// route is fuzzed from its example as soon as it is described.
func FuzzDocumentedOperations(fz *testing.F) {
	w := apitest.NewFuzz(fz, allSurfaces...)
	param := regexp.MustCompile(`\{[A-Za-z]+\}`)
	var seeds []apitest.Seed
	var prefixes []string
	for _, rt := range w.Server.Operations() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.ReplaceAll(path, "{tenantId}", "{tenant}")
		path = param.ReplaceAllStringFunc(path, func(string) string { return "{user0}" })
		switch {
		case strings.Contains(rt.Pattern, "/groups/{id}"), strings.Contains(rt.Pattern, "/Groups/{id}"):
			path = strings.Replace(path, "{user0}", "{group0}", 1)
		case strings.Contains(rt.Pattern, "/allotments/{id}"):
			path = strings.Replace(path, "{user0}", "{allotment}", 1)
		case strings.HasPrefix(rt.Pattern, method+" /partner/"):
			path = strings.Replace(path, "{user0}", "{tenant}", 1)
		}
		ct := uint8(apitest.CTJSON)
		switch rt.Op.BodyType {
		case "application/zip":
			ct = apitest.CTZip
		case "text/csv":
			ct = apitest.CTCSV
		}
		seeds = append(seeds, apitest.Seed{Method: method, Path: path, Body: rt.Op.Example, CT: ct})
		prefixes = append(prefixes, "/"+strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)[0])
	}
	w.Surface(fz, prefixes, seeds, nil)
}
