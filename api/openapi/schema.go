package openapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"time"

	"allot/licensing"
)

// Schemas turns Go types into JSON Schemas (OpenAPI 3.1) the way
// encoding/json encodes and decodes them: exported fields under their json
// names ("-" skipped, embedded structs inlined), omitempty fields not
// required in answers, time.Time as a date-time string, []byte as base64,
// maps with string keys as objects, json.RawMessage and interfaces as any
// value. Named struct types become components (#/components/schemas/pkg.T),
// so recursive types end. Struct tags add what the type cannot say:
// doc:"…" a description, enum:"a,b,c" the allowed values, format:"…" a
// string format, pattern:"…" a regular expression, required:"true" a
// property a request must have.
type Schemas struct {
	// Components are the named schemas made so far, by component name.
	Components map[string]any
	names      map[reflect.Type]string
	taken      map[string]reflect.Type
}

// NewSchemas returns an empty generator.
func NewSchemas() *Schemas {
	return &Schemas{Components: map[string]any{}, names: map[reflect.Type]string{}, taken: map[string]reflect.Type{}}
}

// Of returns the schema of v: a Schema as given (added to the components
// when named), else the schema of v's type.
func (g *Schemas) Of(v any) map[string]any {
	switch s := v.(type) {
	case nil:
		return nil
	case Schema:
		if s.Name == "" {
			for _, r := range s.Related {
				g.Of(r)
			}
			return s.Schema
		}
		g.Components[s.Name] = s.Schema
		for _, r := range s.Related {
			g.Of(r)
		}
		return Ref(s.Name)
	case *Schema:
		return g.Of(*s)
	}
	return g.typ(reflect.TypeOf(v))
}

// Inline returns the schema of a struct value's fields without making it a
// component, for schemas written as a Schema literal (the document has no
// component of a Schema's parts); the struct's fields must not be named
// structs themselves (time.Time is fine).
func Inline(v any) map[string]any {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return NewSchemas().object(t)
}

// Ref is a reference to a component schema.
func Ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

var (
	timeType       = reflect.TypeFor[time.Time]()
	instantType    = reflect.TypeFor[licensing.Instant]() // encoded as its time
	rawType        = reflect.TypeFor[json.RawMessage]()
	marshalerType  = reflect.TypeFor[json.Marshaler]()
	textMarshaler  = reflect.TypeFor[encoding.TextMarshaler]()
	componentChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// schemaProvider is implemented by types whose JSON encoding is their own
// (a MarshalJSON): the method returns the schema of that encoding.
type schemaProvider interface{ JSONSchema() map[string]any }

var providerType = reflect.TypeFor[schemaProvider]()

func (g *Schemas) typ(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	case t == instantType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Implements(providerType) || reflect.PointerTo(t).Implements(providerType):
		return reflect.New(t).Interface().(schemaProvider).JSONSchema()
	case t.Kind() != reflect.Struct && (t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType)):
		return map[string]any{}
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.typ(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typ(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return g.object(t)
		}
		name, ok := g.names[t]
		if !ok {
			name = g.componentName(t)
			g.names[t] = name
			g.Components[name] = map[string]any{} // placeholder: recursion ends here
			g.Components[name] = g.object(t)
		}
		return Ref(name)
	}
	return map[string]any{} // interfaces: any JSON value
}

// componentName names a struct type pkg.Type; an instance of a generic type
// names its arguments the same way (partner.Collection-subscription.Subscription).
func (g *Schemas) componentName(t reflect.Type) string {
	pkg := t.PkgPath()
	pkg = pkg[strings.LastIndex(pkg, "/")+1:]
	name := t.Name()
	if i := strings.IndexByte(name, '['); i >= 0 {
		args := strings.Split(strings.TrimSuffix(name[i+1:], "]"), ",")
		for j, a := range args {
			a = strings.TrimPrefix(a, "*")
			if k := strings.LastIndex(a, "/"); k >= 0 {
				a = a[k+1:]
			}
			args[j] = a
		}
		name = name[:i] + "-" + strings.Join(args, "-")
	}
	base := componentChars.ReplaceAllString(pkg+"."+name, "_")
	out := base
	for n := 2; ; n++ {
		if other, ok := g.taken[out]; !ok || other == t {
			break
		}
		out = base + "_" + string(rune('0'+n%10))
	}
	g.taken[out] = t
	return out
}

// object is the schema of a struct's fields as encoding/json sees them.
func (g *Schemas) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *Schemas) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			g.fields(ft, props, required)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		var s map[string]any
		if strings.Contains(","+opts+",", ",string,") {
			s = map[string]any{"type": "string"}
		} else {
			s = g.typ(f.Type)
		}
		s = annotate(s, f.Tag)
		props[name] = s
		if f.Tag.Get("required") == "true" {
			*required = append(*required, name)
		}
	}
}

// annotate adds the doc, enum and format tags to a field's schema (a
// reference is wrapped, as a $ref's siblings describe the use).
func annotate(s map[string]any, tag reflect.StructTag) map[string]any {
	doc, enum, format, pattern := tag.Get("doc"), tag.Get("enum"), tag.Get("format"), tag.Get("pattern")
	if doc == "" && enum == "" && format == "" && pattern == "" {
		return s
	}
	out := make(map[string]any, len(s)+3)
	for k, v := range s {
		out[k] = v
	}
	if doc != "" {
		out["description"] = doc
	}
	if enum != "" {
		vals := strings.Split(enum, ",")
		if out["type"] == "array" {
			items := map[string]any{}
			for k, v := range out["items"].(map[string]any) {
				items[k] = v
			}
			items["enum"] = vals
			out["items"] = items
		} else {
			out["enum"] = vals
		}
	}
	if format != "" {
		out["format"] = format
	}
	if pattern != "" {
		out["pattern"] = pattern
	}
	return out
}
