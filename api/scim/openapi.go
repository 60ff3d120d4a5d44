package scim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"allot/api/openapi"
	"allot/licensing"
)

// The OpenAPI description of the SCIM service provider. Resources are
// schemaless maps driven by the attribute definitions (schema.go), so their
// JSON Schemas are generated from those definitions, and the documented
// examples are read by the handlers' own functions (scimDecode).

// scimOp describes a route of the table; ok is false for a route without a
// description (TestOpenAPI… in api/graph fails on it).
func scimOp(rt route) (openapi.Op, bool) {
	op, ok := scimOps[rt.method+" "+rt.path]
	if !ok {
		return op, false
	}
	op.Tag = "scim"
	op.Public = rt.access == public
	op.ErrorBody, op.ErrorType = errorBody{}, contentType
	if op.ResponseType == "" && op.Response != nil {
		op.ResponseType = contentType
	}
	if op.BodyType == "" && op.Body != nil {
		op.BodyType = contentType
	}
	if !op.Public {
		op.Errors = append([]int{http.StatusForbidden, http.StatusNotFound}, op.Errors...)
	}
	return op, true
}

var (
	userJSONSchema  = openapi.Schema{Name: "scim.User", Schema: resourceJSONSchema(userType)}
	groupJSONSchema = openapi.Schema{Name: "scim.Group", Schema: resourceJSONSchema(groupType)}
	anyObject       = openapi.Schema{Schema: map[string]any{"type": "object"}}
	docListParams   = []openapi.Param{
		{Name: "filter", Description: `SCIM filter (RFC 7644 §3.4.2.2), e.g. userName eq "AdeleV@contoso.com"; unquoted values are accepted where unambiguous`},
		{Name: "attributes", Description: "Attributes to return (comma-separated; elements may be selected: emails[type eq \"work\"])"},
		{Name: "excludedAttributes", Description: "Attributes to leave out"},
		{Name: "startIndex", Type: "integer", Description: "1-based index of the first result (default 1)"},
		{Name: "count", Type: "integer", Description: "Page size"},
	}
	docGetParams = docListParams[1:3]
)

// searchRequest is the SearchRequest message (RFC 7644 §3.4.3).
type searchRequest struct {
	Schemas            []string `json:"schemas"`
	Filter             string   `json:"filter,omitempty"`
	Attributes         []string `json:"attributes,omitempty"`
	ExcludedAttributes []string `json:"excludedAttributes,omitempty"`
	StartIndex         int      `json:"startIndex,omitempty"`
	Count              int      `json:"count,omitempty"`
}

// patchRequest is the PatchOp message (RFC 7644 §3.5.2); op and member
// names are read case-insensitively.
type patchRequest struct {
	Schemas    []string `json:"schemas"`
	Operations []struct {
		Op    string `json:"op" enum:"add,replace,remove,Add,Replace,Remove"`
		Path  string `json:"path,omitempty" doc:"An attribute path (name.givenName, members[value eq \"…\"], urn:…:User:department); absent: value is an object of attributes"`
		Value any    `json:"value,omitempty"`
	} `json:"Operations" required:"true"`
}

var scimOps = map[string]openapi.Op{
	"GET /ServiceProviderConfig": {ID: "scimServiceProviderConfig", Summary: "What the service provider supports (RFC 7643 §5)", Response: anyObject},
	"GET /serviceConfiguration":  {ID: "scimServiceConfiguration", Summary: "/ServiceProviderConfig under the name Microsoft's SCIM reference service uses", Response: anyObject},
	"GET /Schemas":               {ID: "scimListSchemas", Summary: "The schemas (User, enterprise and allot extensions, Group)", Response: anyObject},
	"GET /Schemas/{id}":          {ID: "scimGetSchema", Summary: "A schema by URN", Response: anyObject, Errors: []int{http.StatusNotFound}},
	"GET /ResourceTypes":         {ID: "scimListResourceTypes", Summary: "The resource types (User, Group)", Response: anyObject},
	"GET /ResourceTypes/{id}":    {ID: "scimGetResourceType", Summary: "A resource type", Response: anyObject, Errors: []int{http.StatusNotFound}},

	"GET /Users": {ID: "scimListUsers", Summary: "List or filter users", Params: docListParams, Response: listResponseSchema(userJSONSchema)},
	"POST /Users/.search": {ID: "scimSearchUsers", Summary: "Search users (SearchRequest body)", Body: searchRequest{},
		Example: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"Adele\"","attributes":["userName","emails"],"startIndex":1,"count":10}`,
		Decode:  searchDecoder(userType), Status: http.StatusOK, Response: listResponseSchema(userJSONSchema)},
	"POST /Users": {ID: "scimCreateUser", Summary: "Create a user", Body: userJSONSchema, Decode: userDecoder,
		Example: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"externalId":"0a21f0f2-8d2a-4f8e-bf98-7b2d5d1d1e61","userName":"AdeleV@contoso.com","active":true,"displayName":"Adele Vance","name":{"givenName":"Adele","familyName":"Vance"},"emails":[{"primary":true,"type":"work","value":"AdeleV@contoso.com"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`,
		Status:  http.StatusCreated, Response: userJSONSchema, Errors: []int{http.StatusConflict}},
	"GET /Users/{id}": {ID: "scimGetUser", Summary: "Get a user", Params: docGetParams, Response: userJSONSchema},
	"PUT /Users/{id}": {ID: "scimReplaceUser", Summary: "Replace a user", Body: userJSONSchema, Decode: userDecoder,
		Example:  `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"AdeleV@contoso.com","active":false,"displayName":"Adele Vance"}`,
		Response: userJSONSchema, Errors: []int{http.StatusConflict, http.StatusPreconditionFailed}},
	"PATCH /Users/{id}": {ID: "scimPatchUser", Summary: "Change a user (PatchOp); 200 with the user or 204, as Prefer, attributes or the client's media type ask",
		Body: patchRequest{}, Decode: patchDecoder(userType),
		Example:  `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"},{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Marketing"}]}`,
		Response: userJSONSchema, Errors: []int{http.StatusConflict, http.StatusPreconditionFailed}},
	"DELETE /Users/{id}": {ID: "scimDeleteUser", Summary: "Delete a user (restorable for 30 days through Graph)", Status: http.StatusNoContent},

	"GET /Groups": {ID: "scimListGroups", Summary: "List or filter groups", Params: docListParams, Response: listResponseSchema(groupJSONSchema)},
	"POST /Groups/.search": {ID: "scimSearchGroups", Summary: "Search groups (SearchRequest body)", Body: searchRequest{},
		Example: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"displayName eq \"Sales\"","excludedAttributes":["members"]}`,
		Decode:  searchDecoder(groupType), Response: listResponseSchema(groupJSONSchema)},
	"POST /Groups": {ID: "scimCreateGroup", Summary: "Create a group", Body: groupJSONSchema, Decode: groupDecoder,
		Example: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales","members":[]}`,
		Status:  http.StatusCreated, Response: groupJSONSchema, Errors: []int{http.StatusConflict}},
	"GET /Groups/{id}": {ID: "scimGetGroup", Summary: "Get a group", Params: docGetParams, Response: groupJSONSchema},
	"PUT /Groups/{id}": {ID: "scimReplaceGroup", Summary: "Replace a group", Body: groupJSONSchema, Decode: groupDecoder,
		Example:  `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Sales EMEA"}`,
		Response: groupJSONSchema, Errors: []int{http.StatusConflict, http.StatusPreconditionFailed}},
	"PATCH /Groups/{id}": {ID: "scimPatchGroup", Summary: "Change a group's name or members (PatchOp); 204", Body: patchRequest{}, Decode: patchDecoder(groupType),
		Example: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"5f2c1a7e-0d1b-4a3e-9a40-2a6e0c0f4b11"}]}]}`,
		Status:  http.StatusNoContent, Errors: []int{http.StatusConflict, http.StatusPreconditionFailed}},
	"DELETE /Groups/{id}": {ID: "scimDeleteGroup", Summary: "Delete a group", Status: http.StatusNoContent},
}

func listResponseSchema(item openapi.Schema) openapi.Schema {
	return openapi.Schema{Related: []openapi.Schema{item}, Schema: map[string]any{"type": "object", "properties": map[string]any{
		"schemas":      map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{schemaListResponse}}},
		"totalResults": map[string]any{"type": "integer"}, "itemsPerPage": map[string]any{"type": "integer"},
		"startIndex": map[string]any{"type": "integer"},
		"Resources":  map[string]any{"type": "array", "items": openapi.Ref(item.Name)},
	}}}
}

// resourceJSONSchema is the JSON Schema of a resource type's documents:
// the core schema's attributes, each extension's under its URN.
func resourceJSONSchema(rt *ResourceType) map[string]any {
	props := attrsJSONSchema(rt.Schema.Attributes)
	props["schemas"] = map[string]any{"type": "array", "items": map[string]any{"type": "string"}}
	props["id"] = map[string]any{"type": "string", "readOnly": true}
	props["externalId"] = map[string]any{"type": "string", "description": "The client's id of the resource (RFC 7643 §3.1)"}
	props["meta"] = map[string]any{"type": "object", "readOnly": true}
	for _, ext := range rt.Extensions {
		props[ext.ID] = map[string]any{"type": "object", "description": ext.Description, "properties": attrsJSONSchema(ext.Attributes)}
	}
	return map[string]any{"type": "object", "description": rt.Description + " (" + rt.Schema.ID + ")", "properties": props}
}

func attrsJSONSchema(attrs []*Attribute) map[string]any {
	out := map[string]any{}
	for _, a := range attrs {
		if a.Name == "id" || a.Name == "meta" {
			continue
		}
		out[a.Name] = attrJSONSchema(a)
	}
	return out
}

func attrJSONSchema(a *Attribute) map[string]any {
	var s map[string]any
	switch a.Type {
	case tBoolean:
		s = map[string]any{"type": "boolean"}
	case tInteger:
		s = map[string]any{"type": "integer"}
	case tDecimal:
		s = map[string]any{"type": "number"}
	case tDateTime:
		s = map[string]any{"type": "string", "format": "date-time"}
	case tReference:
		s = map[string]any{"type": "string", "format": "uri-reference"}
	case tComplex:
		s = map[string]any{"type": "object", "properties": attrsJSONSchema(a.SubAttributes)}
	default:
		s = map[string]any{"type": "string"}
	}
	if len(a.CanonicalValues) > 0 {
		s["examples"] = a.CanonicalValues // canonical, not the only values (RFC 7643 §2.3.1)
	}
	if a.Mutability == readOnly {
		s["readOnly"] = true
	}
	if a.Mutability == writeOnly {
		s["writeOnly"] = true
	}
	if a.MultiValued {
		s = map[string]any{"type": "array", "items": s}
	}
	if a.Description != "" {
		s["description"] = a.Description
	}
	return s
}

// strictObject decodes a JSON object and refuses a key that is not an
// attribute (or path, or extension URN) of the resource type: the
// handlers ignore unknown attributes (RFC 7644 §3.3), the documented
// examples must not have any.
func strictObject(rt *ResourceType, body []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	for k, v := range m {
		if strings.EqualFold(k, "schemas") {
			continue
		}
		if ext := rt.schemaOf(k); ext != nil && ext != rt.Schema {
			inner, _ := v.(map[string]any)
			for ik := range inner {
				if find(ext.Attributes, ik) == nil {
					return nil, fmt.Errorf("%s has no attribute %q", ext.ID, ik)
				}
			}
			continue
		}
		pp, err := parsePath(k)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", k, err)
		}
		if _, err := resolveTarget(rt, &pp); err != nil {
			return nil, fmt.Errorf("%q is not an attribute of %s", k, rt.Name)
		}
	}
	return m, nil
}

// userDecoder reads a User body as POST and PUT do.
func userDecoder(body []byte) error {
	m, err := strictObject(userType, body)
	if err != nil {
		return err
	}
	d := doc{}
	if err := applyObject(userType, d, opReplace, m); err != nil {
		return err
	}
	_, err = userFromDoc(d, licensing.User{ID: "x", AccountEnabled: true})
	return err
}

// groupDecoder reads a Group body as POST and PUT do.
func groupDecoder(body []byte) error {
	m, err := strictObject(groupType, body)
	if err != nil {
		return err
	}
	d := doc{}
	if err := applyObject(groupType, d, opReplace, m); err != nil {
		return err
	}
	_, err = groupFromDoc(d, licensing.Group{ID: "x", SecurityEnabled: true})
	return err
}

// patchDecoder reads a PatchOp body and applies it to an empty document.
func patchDecoder(rt *ResourceType) func([]byte) error {
	return func(body []byte) error {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		// decodePatch ignores other members; an example has none.
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var strict patchRequest
		if err := dec.Decode(&strict); err != nil {
			return err
		}
		ops, err := decodePatch(m)
		if err != nil {
			return err
		}
		return applyPatch(rt, doc{}, ops)
	}
}

// searchDecoder reads a SearchRequest as POST .search does.
func searchDecoder(rt *ResourceType) func([]byte) error {
	return func(body []byte) error {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		var strict searchRequest
		if err := dec.Decode(&strict); err != nil {
			return err
		}
		_, err := searchFrom(rt, m)
		return err
	}
}
