package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"allot/alert"
	"allot/api/admin"
	alertsapi "allot/api/alerts"
	"allot/api/apitest"
	chargebackapi "allot/api/chargeback"
	"allot/api/cloudlicensing"
	"allot/api/connections"
	"allot/api/graph"
	graphsubapi "allot/api/graphsub"
	"allot/api/openapi"
	"allot/api/partner"
	positionapi "allot/api/position"
	reclamationapi "allot/api/reclamation"
	"allot/api/scim"
	"allot/api/server"
	usageapi "allot/api/usage"
	"allot/m365"
	"allot/reclamation"
	"allot/store"
	"allot/web"
)

// registeredPatterns finds every route pattern registered in the source
// tree: calls of Route, RoutePublic, Handle, HandlePublic and HandleFunc
// whose first argument is a constant string expression ("GET "+base+"/x"
// included). TestOpenAPICoversEveryRoute checks that the server it mounts
// registers all of them, so that a surface the test does not mount cannot
// hide an undescribed route.
func registeredPatterns(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	dirs := map[string][]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, files := range dirs {
		consts := stringConsts(files)
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				if p, ok := routePattern(n, consts); ok && strings.Contains(p, " /") {
					out[p] = dir
				}
				return true
			})
		}
	}
	return out
}

// stringConsts are a package's string constants declared with a literal.
func stringConsts(files []*ast.File) map[string]string {
	consts := map[string]string{}
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						consts[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
	}
	return consts
}

// constString evaluates a constant string expression: literals, the
// package's constants (consts), and their sums in parentheses or not.
func constString(e ast.Expr, consts map[string]string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, ok
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			a, ok1 := constString(e.X, consts)
			b, ok2 := constString(e.Y, consts)
			return a + b, ok1 && ok2
		}
	case *ast.ParenExpr:
		return constString(e.X, consts)
	}
	return "", false
}

// routePattern is the pattern a node registers: a call of Handle,
// HandlePublic or HandleFunc with two arguments, or of Route or
// RoutePublic with three, whose first is a constant string expression.
func routePattern(n ast.Node, consts map[string]string) (string, bool) {
	call, ok := n.(*ast.CallExpr)
	if !ok || len(call.Args) < 2 {
		return "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	switch sel.Sel.Name {
	case "Handle", "HandlePublic", "HandleFunc":
		if len(call.Args) != 2 {
			return "", false
		}
	case "Route", "RoutePublic":
		if len(call.Args) != 3 {
			return "", false
		}
	default:
		return "", false
	}
	return constString(call.Args[0], consts)
}

// allSurfaces are the surfaces allot serve mounts.
var allSurfaces = []apitest.Mount{partner.Register, admin.Register, cloudlicensing.Register, graph.Register, graphsubapi.Register, scim.Register,
	usageapi.Register, positionapi.Register, mountAlerts, chargebackapi.Register, mountConnections}

// newReclamation is a reclamation service (its loop not started) over the
// server's alert queue.
func newReclamation(s *server.Server) *reclamation.Service {
	svc := reclamation.New(reclamation.Config{Alerts: alert.New(alert.Config{Store: s.Store.(store.AlertStore)}), Key: make([]byte, 32)})
	svc.Attach(s.RT)
	return svc
}

// mountAlerts mounts the alerts API with a service over the server's store
// (its loops not started: nothing is delivered).
func mountAlerts(s *server.Server) {
	svc := alert.New(alert.Config{Store: s.Store.(store.AlertStore)})
	svc.Attach(s.RT)
	s.Alerts = svc
	alertsapi.Register(s)
}

// mountConnections mounts the connections API with a sealing key, so that
// a documented connection is created (no request leaves the process: none
// is synced), the reclamation API, and the admin center with its
// connections and reclamation pages, as allot serve does.
func mountConnections(s *server.Server) {
	sealer, err := m365.NewSealer(make([]byte, 32))
	if err != nil {
		panic(err)
	}
	mgr := &m365.Manager{RT: s.RT, Env: &m365.Env{Sealer: sealer, RT: s.RT}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	connections.Register(s, mgr)
	rs := newReclamation(s)
	reclamationapi.Register(s, rs)
	web.Mount(web.Options{M365: mgr, Reclamation: rs})(s)
}

type openAPIDoc struct {
	OpenAPI    string                                      `json:"openapi"`
	Paths      map[string]map[string]map[string]any        `json:"paths"`
	Components struct{ Schemas map[string]map[string]any } `json:"components"`
}

func fetchDoc(t *testing.T, e *apitest.Env) (openAPIDoc, []byte) {
	t.Helper()
	r := e.Must(200, "GET", "/openapi.json", "", nil)
	var doc openAPIDoc
	r.Decode(t, &doc)
	return doc, r.Body
}

// Every registered API route is described (registered with Route or
// RoutePublic) and in /openapi.json, every operation of the document is a
// registered route, and every route registered anywhere in the source is
// registered by the surfaces mounted here.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	doc, _ := fetchDoc(t, e)
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) == 0 {
		t.Fatalf("document: openapi %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
	documented := map[string]bool{}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			p := strings.ToUpper(method) + " " + path
			documented[p] = true
			id, _ := op["operationId"].(string)
			if id == "" || op["responses"] == nil || op["summary"] == "" {
				t.Errorf("%s: incomplete operation", p)
			}
			if other, dup := ids[id]; dup {
				t.Errorf("operationId %s is used by %s and %s", id, other, p)
			}
			ids[id] = p
		}
	}
	described := map[string]bool{}
	for _, rt := range e.Server.Operations() {
		if described[rt.Pattern] {
			t.Errorf("%s is described twice", rt.Pattern)
		}
		described[rt.Pattern] = true
	}
	registered := map[string]bool{}
	api := 0
	for _, p := range e.Server.Routes() {
		registered[p] = true
		if openapi.IsPage(p) {
			continue
		}
		api++
		if !described[p] {
			t.Errorf("route %q is registered without a description: register it with server.Route or RoutePublic and an openapi.Op (docs/ARCHITECTURE.md, How to add a route)", p)
		}
		if !documented[p] {
			t.Errorf("route %q is missing from /openapi.json", p)
		}
	}
	for p := range documented {
		if !registered[p] {
			t.Errorf("/openapi.json documents %q, which no surface registers", p)
		}
	}
	if api != len(documented) {
		t.Errorf("%d API routes registered, %d operations documented", api, len(documented))
	}
	t.Logf("%d API routes, all documented", api)
	patterns := registeredPatterns(t, "../..")
	if len(patterns) < 30 {
		t.Fatalf("found only %d registered routes in the source: the scan is broken", len(patterns))
	}
	for p, dir := range patterns {
		if !registered[p] {
			t.Errorf("route %q (registered in %s) is not registered by the surfaces this test mounts: add the surface to allSurfaces", p, dir)
		}
	}
	// The pages (admin center, catch-alls) are the only routes left out.
	for p := range registered {
		if openapi.IsPage(p) && !strings.HasPrefix(p, "GET /admin/") && !strings.HasPrefix(p, "POST /admin/") &&
			p != "GET /{$}" && !strings.Contains(p, "{rest...}") && strings.Contains(p, " ") {
			t.Errorf("route %q is left out of the document as a page", p)
		}
	}
}

// Every documented request example is read by the handler's own decoding:
// an op's Decode (Graph's property tables, SCIM's attributes, usage
// batches and reports), else the Go type of its Body with unknown fields
// refused. A broken example must fail: each JSON object example with an
// extra property is refused too.
func TestOpenAPIExamplesDecode(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	checked := 0
	for _, rt := range e.Server.Operations() {
		op := rt.Op
		if op.Body == nil {
			continue
		}
		if op.Example == "" {
			if op.BodyType != "application/zip" {
				t.Errorf("%s: a body without an example", rt.Pattern)
			}
			continue
		}
		decode := op.Decode
		if decode == nil {
			typ := reflect.TypeOf(op.Body)
			if _, literal := op.Body.(openapi.Schema); literal {
				t.Errorf("%s: a body given as a schema literal needs Decode (the handler's reading)", rt.Pattern)
				continue
			}
			decode = func(b []byte) error {
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				v := reflect.New(typ).Interface()
				if err := dec.Decode(v); err != nil {
					return err
				}
				if dec.More() {
					return fmt.Errorf("more than one JSON value")
				}
				return nil
			}
		}
		if err := decode([]byte(op.Example)); err != nil {
			t.Errorf("%s: the documented example is refused: %v\n%s", rt.Pattern, err, op.Example)
			continue
		}
		checked++
		if strings.HasPrefix(strings.TrimSpace(op.Example), "{") && !strings.Contains(op.BodyType, "ndjson") {
			bad := strings.Replace(op.Example, "{", `{"allotNoSuchProperty":1,`, 1)
			if decode([]byte(bad)) == nil {
				t.Errorf("%s: an example with an unknown property is accepted: the check cannot fail", rt.Pattern)
			}
		}
	}
	if checked < 25 {
		t.Errorf("only %d examples checked", checked)
	}
	t.Logf("%d request examples decode", checked)
}

// bodiless are the writes that take no body: actions on the object the
// path names.
var bodiless = map[string]bool{
	"POST /v1.0/users/{id}/reprocessLicenseAssignment":                     true,
	"POST /allot/v1/groups/{id}/reprocessLicenseAssignment":                true,
	"POST /beta/admin/cloudLicensing/allotments/{id}/reprocessAssignments": true,
	"POST /allot/v1/position/snapshots":                                    true,
	"POST /allot/v1/alerts/endpoints/{id}/test":                            true,
	"POST /allot/v1/alerts/jobs/{id}/retry":                                true,
	"POST /allot/v1/connections/{id}/test":                                 true,
	"POST /allot/v1/connections/{id}/sync":                                 true,
	"POST /allot/v1/connections/{id}/reports":                              true,
	"POST /allot/v1/connections/{id}/apply":                                true,
	"POST /allot/v1/reclamation/campaigns/{id}/approve":                    true,
	"POST /allot/v1/reclamation/campaigns/{id}/start":                      true,
	"POST /allot/v1/reclamation/campaigns/{id}/cancel":                     true,
	"POST /allot/v1/reclamation/campaigns/{id}/restore":                    true,
	"POST /allot/v1/reclamation/keep":                                      true, // the token is in the query
}

// Every operation that takes a body documents it: every POST, PUT and
// PATCH but the bodiless actions above has a requestBody with a schema,
// and the document's count equals the routes'.
func TestOpenAPIRequestBodies(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	doc, _ := fetchDoc(t, e)
	withBody, writes := 0, 0
	for _, rt := range e.Server.Operations() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		if method != "POST" && method != "PUT" && method != "PATCH" {
			if rt.Op.Body != nil {
				t.Errorf("%s: a %s with a body", rt.Pattern, method)
			}
			continue
		}
		writes++
		op := doc.Paths[path][strings.ToLower(method)]
		rb, _ := op["requestBody"].(map[string]any)
		switch {
		case bodiless[rt.Pattern] && rb != nil:
			t.Errorf("%s is listed as bodiless but documents a body", rt.Pattern)
		case !bodiless[rt.Pattern] && rb == nil:
			t.Errorf("%s takes a body and documents none", rt.Pattern)
		case rb != nil:
			withBody++
			content, _ := rb["content"].(map[string]any)
			if len(content) != 1 {
				t.Errorf("%s: requestBody content %v", rt.Pattern, content)
			}
			for _, m := range content {
				if s, _ := m.(map[string]any)["schema"].(map[string]any); len(s) == 0 {
					t.Errorf("%s: requestBody without a schema", rt.Pattern)
				}
			}
		}
	}
	if withBody+len(bodiless) != writes {
		t.Errorf("%d writes, %d with a documented body, %d bodiless", writes, withBody, len(bodiless))
	}
	t.Logf("%d of %d writes document a body; %d are bodiless actions", withBody, writes, len(bodiless))
}

// Every $ref of the document resolves, and every component is used.
func TestOpenAPIReferencesResolve(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	doc, body := fetchDoc(t, e)
	var walk func(v any)
	used := map[string]bool{}
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				used[name] = true
				if doc.Components.Schemas[name] == nil {
					t.Errorf("unresolved reference %s", ref)
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	var all any
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	walk(all)
	for name := range doc.Components.Schemas {
		if !used[name] {
			t.Errorf("component %s is not used", name)
		}
	}
}

// The concealed-name mapping's body and the usage report's force
// parameter are documented; the audit log's query parameters are.
func TestOpenAPIDocumentsConcealedNamesAndForce(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	_, b := fetchDoc(t, e)
	body := string(b)
	for _, want := range []string{`"pattern": "^[0-9A-Fa-f]{32}$"`, `"name": "force"`, `"notRecorded"`, `"name": "X-Allot-Tenant"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/openapi.json lacks %s", want)
		}
	}
}

// The Graph table's schema names exist, and every route whose body is a
// Graph resource has the handler's decoding.
func TestGraphSchemaNames(t *testing.T) {
	for _, rt := range graph.RouteDocs() {
		for _, v := range []any{rt.Body, rt.Resp} {
			if name, ok := v.(string); ok && name != "" && !slices.Contains(graph.SchemaNames(), name) {
				t.Errorf("%s %s: unknown schema %q", rt.Method, rt.Path, name)
			}
		}
	}
}

// /docs/api is the document as one page: every operation, no script, no
// request to anywhere else.
func TestAPIDocsPage(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	doc, _ := fetchDoc(t, e)
	r := e.Must(200, "GET", "/docs/api", "", nil)
	page := string(r.Body)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q", ct)
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, bad := range []string{"<script", "src=\"http", "href=\"http", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	n := 0
	for path, ops := range doc.Paths {
		for _, op := range ops {
			id := op["operationId"].(string)
			if !strings.Contains(page, `id="op-`+id+`"`) {
				t.Errorf("the page lacks %s (%s)", id, path)
			}
			n++
		}
	}
	for name := range doc.Components.Schemas {
		if !strings.Contains(page, `id="schema-`+html.EscapeString(name)+`"`) {
			t.Errorf("the page lacks schema %s", name)
		}
	}
	// The example of PUT /allot/v1/prices is on the page (escaped).
	if !strings.Contains(page, "monthlyUnitPrice") {
		t.Error("the page lacks the prices example")
	}
	t.Logf("%d operations on the page (%d bytes)", n, len(page))
}

// The document passes an OpenAPI linter (Redocly CLI, recommended rules)
// with no error. CI installs it (.ci/run) and sets ALLOT_REDOCLY and
// ALLOT_REQUIRE_REDOCLY=1, so that there the test fails rather than skips.
func TestOpenAPILint(t *testing.T) {
	bin := os.Getenv("ALLOT_REDOCLY")
	if bin == "" {
		if os.Getenv("ALLOT_REQUIRE_REDOCLY") == "1" {
			t.Fatal("ALLOT_REDOCLY is not set (the path of @redocly/cli's redocly)")
		}
		t.Skip("ALLOT_REDOCLY is not set")
	}
	e := apitest.New(t, allSurfaces...)
	_, body := fetchDoc(t, e)
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, body, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "lint", "--format=stylish", file)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
	t.Logf("redocly lint:\n%s", out)
}

// decodingRefusals are the messages of a body a handler could not read
// (respond.Decode, Graph's property tables, SCIM's invalidSyntax).
var decodingRefusals = []string{"is not supported", "Invalid value for property", "not valid JSON", "The request body must",
	"Unsupported content type", "request body is empty", "does not exist as a declared property", "Invalid value specified for property",
	"invalidSyntax", "must hold exactly one JSON value", "Invalid batch payload"}

// Every documented example, sent to its route on a running server, is read
// by the handler: the answer is never a refusal to read the body (the
// object the path names may not exist: 404 is fine) and never a 5xx.
func TestOpenAPIExamplesReachHandlers(t *testing.T) {
	e := apitest.New(t, allSurfaces...)
	tenantID := e.Customer("Contoso", "US")
	e.Subscribe(tenantID, "SPE_E3", 5)
	admin := e.Token(tenantID, "GlobalAdministrator")
	const none = "00000000-0000-4000-8000-000000000000"
	statuses := map[int]int{}
	for _, rt := range e.Server.Operations() {
		op := rt.Op
		if op.Example == "" {
			continue
		}
		method, path, _ := strings.Cut(rt.Pattern, " ")
		token := admin
		path = strings.ReplaceAll(path, "{tenantId}", tenantID)
		if strings.HasPrefix(path, "/partner/") {
			token = apitest.PartnerToken
			path = strings.Replace(path, "{id}", tenantID, 1)
		}
		path = regexp.MustCompile(`\{[A-Za-z]+\}`).ReplaceAllString(path, none)
		path = strings.ReplaceAll(path, "$", "%24")
		ct := op.BodyType
		if ct == "" {
			ct = "application/json"
		}
		r := e.Call(method, path, token, op.Example, "Content-Type: "+ct)
		statuses[r.Status]++
		if r.Status == 400 || r.Status == 409 {
			t.Logf("%s: %d %s", rt.Pattern, r.Status, r.Body)
		}
		if r.Status >= 500 {
			t.Errorf("%s: %d %s", rt.Pattern, r.Status, r.Body)
			continue
		}
		if r.Status == 400 || r.Status == 415 {
			for _, m := range decodingRefusals {
				if strings.Contains(string(r.Body), m) {
					t.Errorf("%s: the documented example is refused: %d %s", rt.Pattern, r.Status, r.Body)
				}
			}
		}
		// The same example with an extra property: a handler that refuses
		// unknown properties names it; none answers 5xx.
		if strings.HasPrefix(op.Example, "{") {
			bad := e.Call(method, path, token, strings.Replace(op.Example, "{", `{"allotNoSuchProperty":1,`, 1), "Content-Type: "+ct)
			if bad.Status >= 500 {
				t.Errorf("%s with an unknown property: %d %s", rt.Pattern, bad.Status, bad.Body)
			}
		}
	}
	t.Logf("statuses of the examples: %v", statuses)
}
