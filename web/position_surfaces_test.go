package web_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"allot/api/apitest"
	"allot/catalog"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
	"allot/web/demo"
)

// rowFigures reads the figures of the rows of a page: data-sku rows and
// their data-* cells.
func rowFigures(t *testing.T, page string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	rowRE := regexp.MustCompile(`(?s)<tr data-sku="([^"]+)">(.*?)</tr>`)
	cellRE := regexp.MustCompile(`<td (?:data-label="[^"]*" )?class="n" data-([a-z-]+)>([0-9,]+)`)
	for _, m := range rowRE.FindAllStringSubmatch(page, -1) {
		f := map[string]int{}
		for _, c := range cellRE.FindAllStringSubmatch(m[2], -1) {
			n, err := strconv.Atoi(strings.ReplaceAll(c[2], ",", ""))
			if err != nil {
				t.Fatal(err)
			}
			f[c[1]] = n
		}
		out[m[1]] = f
	}
	return out
}

// Issue 18: the same numbers on the dashboard, the products page and the
// position's JSON, CSV and HTML; and no text a user sees carries internal
// notes, identifiers for words, or plans of another cloud.
func TestTheDemoPositionIsTheSameEverywhereAndSpeaksPlainly(t *testing.T) {
	env := newEnv(t)
	info, err := demo.Ensure(context.Background(), env.RT, env.Store, demo.Options{People: 300})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	p, explanations := demoPosition(t, env)
	out := writePosition(t, p)
	dash, products, report := rowFigures(t, c.get("/admin").Body), rowFigures(t, c.get("/admin/products").Body), rowFigures(t, out.html.String())
	if len(dash) == 0 || len(products) == 0 {
		t.Fatal("no rows on the dashboard or the products page")
	}
	checkSameFigures(t, &out.decoded, dash, products, report)
	t.Logf("%d products, dashboard %d, products page %d, report %d, %d findings, %d explanations", len(out.decoded.SKUs), len(dash), len(products), len(report), len(out.decoded.Findings), len(explanations))
	checkSameFindings(t, out)
	texts := textsForPeople(t, &out.decoded, explanations)
	texts = append(texts, c.get("/admin").Body, c.get("/admin/products").Body, c.get("/admin/findings").Body)
	checkPlainWords(t, texts)
}

// demoPosition is the position of the demo tenant's last snapshot day, and
// the explanation of every license the demo's users hold (as JSON).
func demoPosition(t *testing.T, env *apitest.Env) (*position.Position, []string) {
	t.Helper()
	tn, _ := env.RT.Get(demo.TenantID)
	var p *position.Position
	var explanations []string
	tn.Read(func(s *tenant.State) {
		snaps := snapshotstore.List(s)
		if len(snaps) == 0 {
			t.Fatal("the demo has no position snapshot")
		}
		at, _ := time.Parse(time.DateOnly, snaps[len(snaps)-1].AsOf)
		asOf := usage.DayOf(at)
		var err error
		if p, err = snapshotstore.Position(s, position.Options{AsOf: asOf, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		s.Engine.ForEachUser(func(u *licensing.User) bool {
			for _, l := range s.Engine.Licenses(u.ID) {
				x, err := s.Engine.Explain(u.ID, l.SKUID)
				if err == nil {
					b, _ := json.Marshal(x)
					explanations = append(explanations, string(b))
				}
			}
			return true
		})
	})
	return p, explanations
}

// writtenPosition is a position as JSON (and decoded again), CSV and HTML.
type writtenPosition struct {
	json, csv, html bytes.Buffer
	decoded         position.Position
}

func writePosition(t *testing.T, p *position.Position) *writtenPosition {
	t.Helper()
	out := &writtenPosition{}
	if err := p.WriteJSON(&out.json); err != nil {
		t.Fatal(err)
	}
	if err := position.WriteCSV(&out.csv, p); err != nil {
		t.Fatal(err)
	}
	if err := position.WriteHTML(&out.html, p, position.HTMLOptions{MaxFindings: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out.json.Bytes(), &out.decoded); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSameFigures: every product's owned, assigned, free and
// allotted-unused seats are the position's on the dashboard, the products
// page and the HTML report; required and used on the dashboard and the
// report, waiting on the report.
func checkSameFigures(t *testing.T, decoded *position.Position, dash, products, report map[string]map[string]int) {
	t.Helper()
	for _, r := range decoded.SKUs {
		want := map[string]int{"owned": r.Owned, "assigned": r.Assigned, "free": r.Free, "allotted-unused": r.AllottedUnused}
		for name, got := range map[string]map[string]int{"dashboard": dash[r.SKUID], "products page": products[r.SKUID], "HTML report": report[r.SKUID]} {
			if got == nil {
				if r.Owned+r.Assigned > 0 {
					t.Errorf("%s: no row for %s", name, r.SKUPartNumber)
				}
				continue
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s, %s: %s %d, position %d", name, r.SKUPartNumber, k, got[k], v)
				}
			}
		}
		if d := dash[r.SKUID]; d != nil && (d["required"] != r.Required || d["used"] != r.Used) {
			t.Errorf("dashboard, %s: required/used %d/%d, position %d/%d", r.SKUPartNumber, d["required"], d["used"], r.Required, r.Used)
		}
		if h := report[r.SKUID]; h != nil && (h["required"] != r.Required || h["used"] != r.Used || h["waiting"] != r.Waiting) {
			t.Errorf("HTML, %s: %v, position %+v", r.SKUPartNumber, h, r)
		}
	}
}

// checkSameFindings: the findings are the same in JSON, CSV and HTML.
func checkSameFindings(t *testing.T, out *writtenPosition) {
	t.Helper()
	decoded := &out.decoded
	rows, err := csv.NewReader(&out.csv).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != len(decoded.Findings) || len(decoded.Findings) != decoded.Totals.Findings || decoded.Totals.Findings == 0 {
		t.Fatalf("findings: CSV %d, JSON %d, totals %d", len(rows)-1, len(decoded.Findings), decoded.Totals.Findings)
	}
	for i, f := range decoded.Findings {
		if rows[i+1][0] != f.ID || rows[i+1][7] != strings.TrimPrefix(f.Fix.Description, "'") && rows[i+1][7] != "'"+f.Fix.Description {
			t.Fatalf("finding %d: CSV %v, JSON %+v", i, rows[i+1], f)
		}
		if !strings.Contains(out.html.String(), `data-finding="`+f.ID+`"`) {
			t.Fatalf("finding %s not in the HTML report", f.ID)
		}
	}
}

// textsForPeople are the words the position, the explanations and the
// catalog's rules and usage features show; a finding has a title of its
// own, and a commercial tenant's evidence names no government plan.
func textsForPeople(t *testing.T, decoded *position.Position, explanations []string) []string {
	t.Helper()
	var texts []string
	texts = append(texts, decoded.Notes...)
	for _, f := range decoded.Findings {
		texts = append(texts, f.Title, f.Fix.Description, position.EvidenceText(f.Evidence))
		if f.Title == "" || f.Title == f.Kind {
			t.Fatalf("finding kind %s has no title", f.Kind)
		}
		for _, ev := range f.Evidence {
			for _, plan := range ev.ServicePlans {
				if catalog.Default().PlanAudience(plan) == catalog.AudienceGovernment {
					t.Fatalf("a commercial tenant's evidence names %s: %+v", plan, f)
				}
			}
		}
	}
	texts = append(texts, explanations...)
	for _, r := range catalog.Default().Rules().Dependencies {
		texts = append(texts, r.Source)
	}
	for _, r := range catalog.Default().Rules().AllotmentIneligible {
		texts = append(texts, r.Source)
	}
	for _, f := range usage.Features() {
		texts = append(texts, f.Note)
	}
	return texts
}

// checkPlainWords: no text carries internal notes, or "1 users".
func checkPlainWords(t *testing.T, texts []string) {
	t.Helper()
	internal := regexp.MustCompile(`(?i)\bseed 0\d\d|hidden note|\bSPEC S\d|\bSPEC\.md|DESIGN\.md|REFERENCE\.md`)
	plurals := regexp.MustCompile(`\b1 (users|units|seats|days|licenses|products)\b`)
	for _, s := range texts {
		if m := internal.FindString(s); m != "" {
			t.Errorf("internal note %q in %q", m, cut(s))
		}
		if m := plurals.FindString(s); m != "" {
			t.Errorf("%q in %q", m, cut(s))
		}
	}
}

func cut(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
