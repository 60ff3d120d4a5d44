package allot_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The layers of the module (docs/ARCHITECTURE.md): domain packages (the
// engine, rules, stores, tenant runtime, bundle, position, …) import no
// HTTP surface; the HTTP surfaces (each allot/api/X and the admin center,
// allot/web) import only the shared HTTP infrastructure, never another
// surface; only the binary (allot/cmd/...) puts surfaces together.
// Test-only imports are not checked.
var httpInfrastructure = map[string]bool{
	"allot/api/respond": true,
	"allot/api/server":  true,
	"allot/api/scope":   true,
	"allot/api/odata":   true,
	"allot/api/openapi": true,
	"allot/api/apitest": true,
}

func layer(pkg string) string {
	switch {
	case strings.HasPrefix(pkg, "allot/cmd/"):
		return "binary"
	case httpInfrastructure[pkg]:
		return "http"
	case strings.HasPrefix(pkg, "allot/api/"), pkg == "allot/web":
		return "surface"
	}
	return "domain"
}

// TestImportsRunDownward checks the import graph of every package of the
// module against the layers above.
func TestImportsRunDownward(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "allot/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		n++
		pkg, from := f[0], layer(f[0])
		for _, imp := range f[1:] {
			if !strings.HasPrefix(imp, "allot/") {
				continue
			}
			to := layer(imp)
			if msg := refuse(from, to); msg != "" {
				t.Errorf("%s (%s) imports %s (%s): %s", pkg, from, imp, to, msg)
			}
		}
	}
	if n < 20 {
		t.Fatalf("go list named %d packages: %s", n, out)
	}
}

// refuse says why a package of layer from may not import one of layer to
// ("" when it may).
func refuse(from, to string) string {
	switch {
	case to == "binary":
		return "nothing imports the binary"
	case from == "domain" && (to == "surface" || to == "http"):
		return "a domain package imports no HTTP package: move the type or rule it needs into a domain package"
	case from == "http" && to == "surface":
		return "HTTP infrastructure imports no surface"
	case from == "surface" && to == "surface":
		return "a surface imports no other surface: move what they share into a domain package"
	}
	return ""
}
