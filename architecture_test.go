package allot_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// docs/ARCHITECTURE.md's package table names every package of the module
// (as `path`, relative to the module; the root as `allot`), so that a new
// package fails here until the table says what it is, and names nothing
// else in its first column (a package removed or renamed fails too).
func TestArchitectureNamesEveryPackage(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out, err := exec.Command(goTool, "list", "allot/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	doc, err := os.ReadFile("docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), "## Packages")
	end := strings.Index(string(doc)[start+1:], "\n## ")
	if start < 0 || end < 0 {
		t.Fatal("docs/ARCHITECTURE.md has no ## Packages section")
	}
	table := string(doc)[start : start+1+end]
	pkgs := strings.Fields(string(out))
	for _, pkg := range pkgs {
		name := strings.TrimPrefix(pkg, "allot/")
		if !strings.Contains(table, "`"+name+"`") {
			t.Errorf("the package table of docs/ARCHITECTURE.md does not name %s", name)
		}
	}
	known := map[string]bool{}
	for _, pkg := range pkgs {
		known[strings.TrimPrefix(pkg, "allot/")] = true
	}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cells) < 3 {
			continue
		}
		parts := strings.Split(cells[1], "`")
		for i := 1; i < len(parts); i += 2 { // the text between backticks
			if !known[parts[i]] {
				t.Errorf("the package table names %s, which is not a package of the module", parts[i])
			}
		}
	}
	if len(pkgs) < 40 {
		t.Fatalf("go list named %d packages", len(pkgs))
	}
}
