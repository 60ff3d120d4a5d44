package openapi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	A string `json:"a"`
}

type Embedded struct {
	E int `json:"e"`
}

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children,omitempty"`
}

type listOf[T any] struct {
	Value []T `json:"value"`
}

type sample struct {
	Embedded
	Plain   string `json:"plain" required:"true" doc:"A plain string"`
	Skipped string `json:"-"`
	//lint:ignore U1000 an unexported field: not encoded, not in the schema
	hidden   string
	NoTag    bool              ``
	Count    int64             `json:"count,omitempty"`
	Ratio    float64           `json:"ratio"`
	Unsigned uint8             `json:"unsigned"`
	Quoted   int               `json:"quoted,string"`
	When     time.Time         `json:"when"`
	WhenPtr  *time.Time        `json:"whenPtr,omitempty"`
	Raw      json.RawMessage   `json:"raw"`
	Any      any               `json:"any"`
	Bytes    []byte            `json:"bytes"`
	Tags     []string          `json:"tags" enum:"x,y"`
	Labels   map[string]int    `json:"labels"`
	Inner    inner             `json:"inner"`
	InnerPtr *inner            `json:"innerPtr"`
	Anon     struct{ Z bool }  `json:"anon"`
	Tree     node              `json:"tree"`
	Page     listOf[inner]     `json:"page"`
	Kind     string            `json:"kind" enum:"a,b" format:"token" pattern:"^[ab]$"`
	Nested   map[string][]bool `json:"nested"`
}

func TestSchemaFollowsEncodingJSON(t *testing.T) {
	g := NewSchemas()
	ref := g.Of(sample{})
	if ref["$ref"] != "#/components/schemas/openapi.sample" {
		t.Fatalf("ref = %v", ref)
	}
	s := g.Components["openapi.sample"].(map[string]any)
	props := s["properties"].(map[string]any)
	// Every property encoding/json writes, and no other.
	b, _ := json.Marshal(sample{})
	var encoded map[string]any
	_ = json.Unmarshal(b, &encoded)
	encoded["count"], encoded["whenPtr"] = nil, nil // omitempty: absent when empty
	for k := range encoded {
		if props[k] == nil {
			t.Errorf("encoded property %q has no schema", k)
		}
	}
	for k := range props {
		if _, ok := encoded[k]; !ok {
			t.Errorf("schema property %q is not encoded", k)
		}
	}
	want := map[string]any{
		"plain":    map[string]any{"type": "string", "description": "A plain string"},
		"e":        map[string]any{"type": "integer"},
		"NoTag":    map[string]any{"type": "boolean"},
		"ratio":    map[string]any{"type": "number"},
		"unsigned": map[string]any{"type": "integer", "minimum": 0},
		"quoted":   map[string]any{"type": "string"},
		"when":     map[string]any{"type": "string", "format": "date-time"},
		"whenPtr":  map[string]any{"type": "string", "format": "date-time"},
		"raw":      map[string]any{},
		"any":      map[string]any{},
		"bytes":    map[string]any{"type": "string", "contentEncoding": "base64"},
		"tags":     map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"x", "y"}}},
		"labels":   map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "integer"}},
		"inner":    map[string]any{"$ref": "#/components/schemas/openapi.inner"},
		"innerPtr": map[string]any{"$ref": "#/components/schemas/openapi.inner"},
		"anon":     map[string]any{"type": "object", "properties": map[string]any{"Z": map[string]any{"type": "boolean"}}},
		"tree":     map[string]any{"$ref": "#/components/schemas/openapi.node"},
		"page":     map[string]any{"$ref": "#/components/schemas/openapi.listOf-openapi.inner"},
		"kind":     map[string]any{"type": "string", "enum": []string{"a", "b"}, "format": "token", "pattern": "^[ab]$"},
		"nested":   map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "array", "items": map[string]any{"type": "boolean"}}},
	}
	for k, w := range want {
		if !reflect.DeepEqual(props[k], w) {
			t.Errorf("%s: %v, want %v", k, props[k], w)
		}
	}
	if !reflect.DeepEqual(s["required"], []string{"plain"}) {
		t.Errorf("required = %v", s["required"])
	}
	// The recursive type ends in a reference to itself.
	tree := g.Components["openapi.node"].(map[string]any)["properties"].(map[string]any)
	if !reflect.DeepEqual(tree["children"], map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/openapi.node"}}) {
		t.Errorf("node.children = %v", tree["children"])
	}
	if g.Components["openapi.listOf-openapi.inner"] == nil {
		t.Errorf("components: %v", keys(g.Components))
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDocumentOperation(t *testing.T) {
	doc := Document(Info{Title: "t", Version: "1"}, []Route{
		{Pattern: "GET /things/{id}/parts/{partId}", Op: Op{Tag: "x", Summary: "Get a part", Response: inner{},
			Params: []Param{{Name: "id", In: "path", Description: "The thing"}, {Name: "q", Type: "integer"}}, Errors: []int{404}}},
		{Pattern: "POST /things", Op: Op{ID: "createThing", Summary: "Create", Body: inner{}, Example: `{"a":"x"}`, Status: 201}},
		{Pattern: "GET /open", Op: Op{Summary: "Open", Public: true}},
		{Pattern: "GET /admin/page", Op: Op{Summary: "A page"}},
		{Pattern: "/catchall/", Op: Op{Summary: "Catch-all"}},
	}, struct {
		Message string `json:"message"`
	}{})
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Parameters  []map[string]any `json:"parameters"`
			RequestBody map[string]any   `json:"requestBody"`
			Responses   map[string]any   `json:"responses"`
			Security    *[]any           `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Paths) != 3 {
		t.Fatalf("paths: %v (pages and catch-alls are left out)", d.Paths)
	}
	get := d.Paths["/things/{id}/parts/{partId}"]["get"]
	if get.OperationID != "getThingsIdPartsPartId" || len(get.Parameters) != 4 {
		t.Fatalf("get: %+v", get)
	}
	if get.Parameters[0]["description"] != "The thing" || get.Parameters[1]["name"] != "partId" || get.Parameters[1]["required"] != true ||
		get.Parameters[2]["in"] != "query" {
		t.Errorf("parameters: %v", get.Parameters)
	}
	// The read-your-writes headers (api/server cluster.go): a read of a
	// tenant may ask for a log number, a write answers with it.
	if p := get.Parameters[3]; p["name"] != "X-Allot-Min-Seq" || p["in"] != "header" || p["required"] != false {
		t.Errorf("the read's sequence header: %v", p)
	}
	for _, c := range []string{"200", "400", "401", "404", "503"} {
		if get.Responses[c] == nil {
			t.Errorf("get lacks %s: %v", c, get.Responses)
		}
	}
	post := d.Paths["/things"]["post"]
	if post.OperationID != "createThing" || post.RequestBody == nil || post.Responses["201"] == nil || post.Responses["413"] == nil {
		t.Errorf("post: %+v", post)
	}
	if h, _ := post.Responses["201"].(map[string]any)["headers"].(map[string]any); h["X-Allot-Seq"] == nil {
		t.Errorf("the write's answer does not document X-Allot-Seq: %v", post.Responses["201"])
	}
	open := d.Paths["/open"]["get"]
	if open.Security == nil || len(*open.Security) != 0 || open.Responses["401"] != nil || len(open.Parameters) != 0 {
		t.Errorf("public operation: %+v", open)
	}
}

func TestHTMLEscapes(t *testing.T) {
	doc := Document(Info{Title: "t<b>", Version: "1"}, []Route{
		{Pattern: "POST /x", Op: Op{Summary: `<script>alert(1)</script>`, Body: inner{}, Example: `{"a":"</pre><script>"}`}},
	}, nil)
	page := string(HTML(doc))
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>") {
		t.Errorf("unescaped text on the page:\n%s", page)
	}
	if !strings.Contains(page, `id="op-postX"`) || !strings.Contains(page, `href="#schema-openapi.inner"`) {
		t.Errorf("page lacks the operation or its schema link")
	}
}
