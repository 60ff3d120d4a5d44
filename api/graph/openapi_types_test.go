package graph_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"allot/api/graph"
)

// Every property Graph's user and group render has a schema in
// /openapi.json whose type is what the property holds: a value of a
// user and a group with every property set (as far as allot keeps it)
// matches its schema's type (or is null), and no property is left
// undescribed.
func TestGraphResourceSchemasTypeEveryProperty(t *testing.T) {
	f := newFixture(t)
	doc, _ := fetchDoc(t, f.Env)
	uid := f.user("typed@contoso.example", "Typed", "department", "Sales", "employeeHireDate", "2024-05-01T00:00:00Z")
	f.Must(200, "POST", "/v1.0/users/"+uid+"/assignLicense", f.admin, map[string]any{"addLicenses": []any{map[string]any{"skuId": e3}}, "removeLicenses": []any{}})
	f.Must(204, "PATCH", "/v1.0/users/"+uid, f.admin, map[string]any{"otherMails": []string{"t@example.org"}, "onPremisesExtensionAttributes": map[string]any{"extensionAttribute1": "x"}})
	gid := f.group("Typed group")
	userProps, groupProps := graph.ResourceProps()
	for _, c := range []struct {
		schema, path string
		props        []string
	}{
		{"user", "/v1.0/users/" + uid, userProps},
		{"group", "/v1.0/groups/" + gid, groupProps},
	} {
		schema := doc.Components.Schemas[c.schema]
		props, _ := schema["properties"].(map[string]any)
		got := f.Must(200, "GET", c.path+"?$select="+url.QueryEscape(strings.Join(c.props, ",")), f.admin, nil).JSON()
		for _, name := range c.props {
			ps, _ := props[name].(map[string]any)
			typ, _ := ps["type"].(string)
			if typ == "" {
				t.Errorf("%s.%s: no type in /openapi.json (%v)", c.schema, name, ps)
				continue
			}
			v, ok := got[name]
			if !ok {
				t.Errorf("%s.%s: not rendered with $select", c.schema, name)
				continue
			}
			if kind := jsonKind(v); v != nil && kind != typ && !(typ == "number" && kind == "integer") {
				t.Errorf("%s.%s: documented as %s, rendered as %s (%v)", c.schema, name, typ, kind, v)
			}
			if s, ok := v.(string); ok && ps["format"] != "date-time" {
				if _, err := time.Parse(time.RFC3339, s); err == nil {
					t.Errorf("%s.%s: an instant (%s) documented as a plain string", c.schema, name, s)
				}
			}
		}
	}
}

// jsonKind is the JSON Schema type of a decoded JSON value.
func jsonKind(v any) string {
	switch x := v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}
