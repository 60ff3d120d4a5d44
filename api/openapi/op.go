// Package openapi describes allot's HTTP API: each surface registers every
// route together with an Op (server.Server.Route), and the OpenAPI 3.1
// document (/openapi.json) and its human page (/docs/api) are generated
// from those records and from the Go types of the bodies (schema.go). A
// route registered without an Op is missing from the document, which the
// tests of api/graph refuse (docs/ARCHITECTURE.md, "How to add a route").
package openapi

// Op describes one operation: what the route does, what it reads and what
// it answers. Path parameters come from the route's pattern ({id}); Params
// lists the others (and may describe a path parameter).
type Op struct {
	// ID is the operationId, unique in the document (Graph routes use
	// Graph's names); empty: derived from the method and path.
	ID string
	// Tag groups operations on the page (the surface: partner, admin, …).
	Tag     string
	Summary string
	// Description is longer text (CommonMark).
	Description string
	Params      []Param
	// Body is a value of the type the handler decodes its request body
	// into (a zero value: T{}), or a Schema; nil for an operation without
	// a body. BodyType is its media type (default application/json).
	Body     any
	BodyType string
	// BodyOptional: the operation also runs without a body.
	BodyOptional bool
	// Example is a request body exactly as a client sends it (raw JSON for
	// JSON bodies); the tests decode it into Body's type with unknown
	// fields refused.
	Example string
	// Decode, for a body no Go struct describes (Graph's resources, SCIM,
	// JSON lines, CSV), is the handler's own reading of a body without a
	// tenant; the tests run Example through it. Nil: Example is decoded
	// into Body's type with unknown fields refused.
	Decode func(body []byte) error `json:"-"`
	// Status is the success status (default 200); Response is a value of
	// the type written with it (nil: no body), ResponseType its media type
	// (default application/json).
	Status       int
	Response     any
	ResponseType string
	// Errors are the error statuses the operation answers in the error
	// body (respond.GraphError). 401 is added for operations that need a
	// token, 400 for those with a body or parameters, 503 for all that
	// reach a tenant (a store that may recover, a tenant still loading).
	Errors []int
	// ErrorBody is a value of the error answer's type when it is not
	// Graph's error body (SCIM's), ErrorType its media type.
	ErrorBody any
	ErrorType string
	// Public operations need no bearer token (set by HandlePublic-style
	// registration).
	Public bool
}

// Param is a query, header or path parameter.
type Param struct {
	Name string
	// In is "query" (default), "header" or "path".
	In          string
	Description string
	Required    bool
	// Type is the JSON type: "string" (default), "integer", "boolean".
	Type    string
	Enum    []string
	Default any
}

// Route is a registered pattern ("GET /v1.0/users") and its description.
type Route struct {
	Pattern string
	Op      Op
}

// Schema is a JSON Schema given literally, for bodies no Go type describes
// (Graph's resources, which are rendered from property tables). Name, when
// set, puts it in components/schemas under that name.
type Schema struct {
	Name   string
	Schema map[string]any
	// Related are the named schemas Schema refers to ($ref), added to the
	// components with it.
	Related []Schema
}
