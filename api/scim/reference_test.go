package scim_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The SCIM reference collection: the Postman collection of Microsoft's
// SCIM reference service provider (github.com/AzureAD/SCIMReferenceCode,
// PostmanCollection.json at d445ef9, MIT licence), kept unchanged in
// testdata. TestReferenceCollection runs it with newman against a test
// server when ALLOT_NEWMAN names the newman command (.ci/run installs it
// with npm and sets it); every assertion must pass except those listed in
// refusedAssertions, which docs/SCIM.md explains.
const referenceCollection = "testdata/scim-reference.postman_collection.json"

// refusedAssertions are the collection's assertions allot fails on
// purpose, keyed "request name / assertion name", with the reason
// (docs/SCIM.md, "What allot refuses").
var refusedAssertions = map[string]string{
	"Group patch add member / Status code is 204":  "a member that does not exist is refused (400 invalidValue)",
	"Group patch add member2 / Status code is 204": "a member that does not exist is refused (400 invalidValue)",
	"Get group by id / Body contians user":         "members[].display is read-only (RFC 7643 §4.2): it is the member's displayName, not the text a PATCH sent",
}

func TestReferenceCollection(t *testing.T) {
	newman := os.Getenv("ALLOT_NEWMAN")
	if newman == "" {
		if os.Getenv("ALLOT_REQUIRE_NEWMAN") != "" {
			t.Fatal("ALLOT_REQUIRE_NEWMAN is set but ALLOT_NEWMAN (the newman command) is not")
		}
		t.Skip("ALLOT_NEWMAN (the newman command, e.g. \"npx newman\") is not set")
	}
	w := setup(t)
	dir := t.TempDir()

	// The collection sends no Authorization header (the reference's
	// development server does not check it) and starts with a request for
	// the reference's own /Token endpoint: the harness drops that folder
	// and gives every request the tenant's bearer token.
	raw, err := os.ReadFile(referenceCollection)
	if err != nil {
		t.Fatal(err)
	}
	var coll map[string]any
	if err := json.Unmarshal(raw, &coll); err != nil {
		t.Fatal(err)
	}
	var items []any
	for _, it := range coll["item"].([]any) {
		if it.(map[string]any)["name"] != "Get Token" {
			items = append(items, it)
		}
	}
	coll["item"] = items
	coll["auth"] = map[string]any{"type": "bearer", "bearer": []any{map[string]any{"key": "token", "value": "{{token}}", "type": "string"}}}
	u, err := url.Parse(w.URL)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{"name": "allot", "values": []any{
		map[string]any{"key": "Protocol", "value": u.Scheme, "enabled": true},
		map[string]any{"key": "Server", "value": u.Hostname(), "enabled": true},
		map[string]any{"key": "Port", "value": ":" + u.Port(), "enabled": true},
		map[string]any{"key": "Api", "value": "scim/v2", "enabled": true},
		map[string]any{"key": "token", "value": w.token, "enabled": true},
	}}
	collPath, envPath, report := filepath.Join(dir, "collection.json"), filepath.Join(dir, "env.json"), filepath.Join(dir, "report.json")
	writeJSON(t, collPath, coll)
	writeJSON(t, envPath, env)

	args := strings.Fields(newman)
	args = append(args, "run", collPath, "-e", envPath, "--reporters", "cli,json", "--reporter-json-export", report, "--disable-unicode", "--color", "off")
	cmd := exec.Command(args[0], args[1:]...)
	out, runErr := cmd.CombinedOutput()
	rep, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("newman wrote no report (%v): %s", runErr, out)
	}
	var r struct {
		Run struct {
			Executions []struct {
				Item       struct{ Name string }
				Assertions []struct {
					Assertion string
					Error     *struct{ Message string }
				}
			}
		}
	}
	if err := json.Unmarshal(rep, &r); err != nil {
		t.Fatal(err)
	}
	total := 0
	failed := map[string]string{}
	for _, ex := range r.Run.Executions {
		for _, a := range ex.Assertions {
			total++
			if a.Error != nil {
				failed[ex.Item.Name+" / "+a.Assertion] = a.Error.Message
			}
		}
	}
	if total < 90 {
		t.Fatalf("newman ran %d assertions, want the collection's ~100: %s", total, out)
	}
	var unexpected []string
	for k, msg := range failed {
		if _, ok := refusedAssertions[k]; !ok {
			unexpected = append(unexpected, k+": "+msg)
		}
	}
	for k := range refusedAssertions {
		if _, ok := failed[k]; !ok {
			unexpected = append(unexpected, k+": passes, but is listed as refused (update refusedAssertions and docs/SCIM.md)")
		}
	}
	sort.Strings(unexpected)
	if len(unexpected) > 0 {
		t.Fatalf("%d of %d assertions differ from what is expected:\n%s\n\nnewman:\n%s", len(unexpected), total, strings.Join(unexpected, "\n"), out)
	}
	t.Logf("%d assertions, %d refused on purpose", total, len(failed))
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
