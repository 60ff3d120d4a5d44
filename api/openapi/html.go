package openapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"sort"
	"strings"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"upper": strings.ToUpper,
}).Parse(pageHTML))

// pageOp is one operation on the page.
type pageOp struct {
	Method, Path, ID, Summary, Description string
	Public                                 bool
	Params                                 []pageParam
	BodyType                               string
	Body                                   template.HTML
	Example                                string
	Responses                              []pageResponse
}

type pageParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type pageResponse struct {
	Status, Description, Type string
	Schema                    template.HTML
}

type pageTag struct {
	Name, Description string
	Ops               []pageOp
}

type pageSchema struct {
	Name string
	Body template.HTML
}

// HTML renders a document (as Document builds it) as one self-contained
// page: operations by tag, their parameters, bodies, examples and answers,
// and every schema; links within the page only, no script, no request to
// anywhere.
func HTML(doc map[string]any) []byte {
	// Work on the JSON form, so that the page shows exactly the document.
	b, _ := json.Marshal(doc)
	var d struct {
		Info struct {
			Title, Version, Description string
		} `json:"info"`
		Tags []struct {
			Name, Description string
		} `json:"tags"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	_ = json.Unmarshal(b, &d)
	byTag := map[string]*pageTag{}
	var tags []*pageTag
	for _, t := range d.Tags {
		pt := &pageTag{Name: t.Name, Description: t.Description}
		byTag[t.Name] = pt
		tags = append(tags, pt)
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range []string{"get", "post", "put", "patch", "delete"} {
			op, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			po := pageOp{Method: m, Path: p, ID: str(op["operationId"]), Summary: str(op["summary"]), Description: str(op["description"])}
			if sec, ok := op["security"].([]any); ok && len(sec) == 0 {
				po.Public = true
			}
			for _, x := range list(op["parameters"]) {
				pm, _ := x.(map[string]any)
				sc, _ := pm["schema"].(map[string]any)
				typ := str(sc["type"])
				if e := list(sc["enum"]); len(e) > 0 {
					typ += " (" + joinAny(e) + ")"
				}
				req, _ := pm["required"].(bool)
				po.Params = append(po.Params, pageParam{Name: str(pm["name"]), In: str(pm["in"]), Type: typ, Description: str(pm["description"]), Required: req})
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				for ct, media := range obj(rb["content"]) {
					mm := obj(media)
					po.BodyType = ct
					po.Body = schemaHTML(obj(mm["schema"]))
					if ex, ok := mm["example"]; ok {
						if s, isStr := ex.(string); isStr {
							po.Example = s
						} else {
							eb, _ := json.MarshalIndent(ex, "", "  ")
							po.Example = string(eb)
						}
					}
				}
			}
			codes := make([]string, 0)
			for c := range obj(op["responses"]) {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for _, c := range codes {
				r := obj(obj(op["responses"])[c])
				pr := pageResponse{Status: c, Description: str(r["description"])}
				for ct, media := range obj(r["content"]) {
					pr.Type = ct
					pr.Schema = schemaHTML(obj(obj(media)["schema"]))
				}
				po.Responses = append(po.Responses, pr)
			}
			tag := "other"
			if t := list(op["tags"]); len(t) > 0 {
				tag = str(t[0])
			}
			pt := byTag[tag]
			if pt == nil {
				pt = &pageTag{Name: tag}
				byTag[tag] = pt
				tags = append(tags, pt)
			}
			pt.Ops = append(pt.Ops, po)
		}
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	var schemas []pageSchema
	for _, n := range names {
		schemas = append(schemas, pageSchema{Name: n, Body: schemaHTML(d.Components.Schemas[n])})
	}
	var out bytes.Buffer
	if err := page.Execute(&out, map[string]any{"Info": d.Info, "Tags": tags, "Schemas": schemas}); err != nil {
		return []byte("<!doctype html><title>allot API</title><p>The page could not be rendered: " + template.HTMLEscapeString(err.Error()))
	}
	return out.Bytes()
}

// schemaHTML shows a schema: a reference as a link to its section, an
// object as a list of its properties, an array as "array of" its items.
func schemaHTML(s map[string]any) template.HTML {
	var b strings.Builder
	writeSchema(&b, s, 0)
	return template.HTML(b.String())
}

func writeSchema(b *strings.Builder, s map[string]any, depth int) {
	esc := template.HTMLEscapeString
	if ref := str(s["$ref"]); ref != "" {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		b.WriteString(`<a href="#schema-` + esc(name) + `"><code>` + esc(name) + `</code></a>`)
		writeNotes(b, s)
		return
	}
	switch typ := typeName(s); {
	case typ == "array":
		b.WriteString("array of ")
		writeSchema(b, obj(s["items"]), depth)
	case typ == "object" && s["properties"] != nil && depth < 4:
		b.WriteString("object")
		writeNotes(b, s)
		props := obj(s["properties"])
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		sort.Strings(names)
		req := map[string]bool{}
		for _, r := range list(s["required"]) {
			req[str(r)] = true
		}
		b.WriteString(`<ul class="props">`)
		for _, n := range names {
			b.WriteString(`<li><code class="prop">` + esc(n) + `</code>`)
			if req[n] {
				b.WriteString(` <span class="req">required</span>`)
			}
			b.WriteString(": ")
			writeSchema(b, obj(props[n]), depth+1)
			b.WriteString("</li>")
		}
		b.WriteString("</ul>")
		return
	case typ == "object" && s["additionalProperties"] != nil:
		b.WriteString("object of name → ")
		writeSchema(b, obj(s["additionalProperties"]), depth)
	case typ == "":
		alts := list(s["oneOf"])
		if len(alts) == 0 {
			alts = list(s["anyOf"])
		}
		if len(alts) > 0 {
			for i, a := range alts {
				if i > 0 {
					b.WriteString(" or ")
				}
				writeSchema(b, obj(a), depth)
			}
			return
		}
		b.WriteString("any JSON value")
	default:
		b.WriteString(esc(typ))
		if f := str(s["format"]); f != "" {
			b.WriteString(" (" + esc(f) + ")")
		}
	}
	writeNotes(b, s)
}

func writeNotes(b *strings.Builder, s map[string]any) {
	esc := template.HTMLEscapeString
	if e := list(s["enum"]); len(e) > 0 {
		b.WriteString(` <span class="enum">one of ` + esc(joinAny(e)) + `</span>`)
	}
	if p := str(s["pattern"]); p != "" {
		b.WriteString(` <span class="enum">matching <code>` + esc(p) + `</code></span>`)
	}
	if d := str(s["description"]); d != "" {
		b.WriteString(` <span class="desc">— ` + esc(d) + `</span>`)
	}
}

func typeName(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		return joinAny(t)
	}
	return ""
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { l, _ := v.([]any); return l }

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func joinAny(l []any) string {
	parts := make([]string, len(l))
	for i, x := range l {
		b, _ := json.Marshal(x)
		parts[i] = strings.Trim(string(b), `"`)
	}
	return strings.Join(parts, ", ")
}
