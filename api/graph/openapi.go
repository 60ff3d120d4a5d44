package graph

import (
	"encoding/json"
	"net/http"
	"sort"

	"allot/api/odata"
	"allot/api/openapi"
	"allot/licensing"
	"allot/userprop"
)

// The OpenAPI description of the Graph surface. Graph's resources (user,
// group, subscribedSku, …) are rendered from property tables rather than Go
// structs, so their schemas are built here from those tables under Graph's
// names; a route's Body and Resp name one of them (a string), or are a
// value of the Go type the handler decodes or writes (assignLicenseBody).
// Register describes every route of the table with op().

// graphSchemas are Graph's resources by the name the route table uses.
var graphSchemas = buildGraphSchemas()

// op is the route's description for /openapi.json.
func (rt *route) op() openapi.Op {
	op := openapi.Op{ID: rt.Op, Tag: rt.Tag, Summary: rt.Summary, Status: rt.Status, Example: rt.Example,
		Body: schemaOf(rt.Body), BodyOptional: rt.BodyOptional, Response: schemaOf(rt.Resp), Errors: rt.Errors}
	if op.Errors == nil {
		op.Errors = []int{http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests}
	}
	if rt.Resp == nil && isCount(rt.Path) {
		op.Response, op.ResponseType = openapi.Schema{Schema: map[string]any{"type": "integer", "minimum": 0}}, "text/plain"
	}
	op.Params = queryParams(rt.Query)
	if _, ok := rt.Body.(string); ok {
		op.Decode = graphDecoders[rt.Op]
	}
	return op
}

// graphDecoders read the bodies of Graph's resources as the handlers do
// (the property tables: an unknown or read-only property is refused), by
// operationId; every route whose Body names a schema has one
// (TestGraphExamplesDecode).
var graphDecoders = map[string]func([]byte) error{
	"createUser": userDecoder, "updateUser": userDecoder,
	"createGroup": groupDecoder, "updateGroup": groupDecoder,
	"addGroupMember": func(b []byte) error {
		// The handler reads @odata.id alone; an example has nothing else.
		var in map[string]any
		if err := json.Unmarshal(b, &in); err != nil {
			return err
		}
		for k := range in {
			if k != "@odata.id" {
				return noSuchProperty(k)
			}
		}
		_, err := referenceBody(in)
		return err
	},
	"createDomain": func(b []byte) error {
		body, names, err := objectBytes(b)
		if err == nil {
			_, err = domainCreateID(body, names)
		}
		return err
	},
	"updateReportSettings": func(b []byte) error {
		body, names, err := objectBytes(b)
		if err == nil {
			_, err = reportSettingsBody(body, names)
		}
		return err
	},
	"updateDomain": func(b []byte) error {
		body, names, err := objectBytes(b)
		if err == nil {
			err = checkDomainUpdate(body, names)
		}
		return err
	},
}

func userDecoder(b []byte) error {
	body, names, err := objectBytes(b)
	if err != nil {
		return err
	}
	return applyUser(&licensing.User{}, body, names)
}

func groupDecoder(b []byte) error {
	body, names, err := objectBytes(b)
	if err != nil {
		return err
	}
	_, err = applyGroup(&licensing.Group{}, body, names)
	return err
}

func objectBytes(b []byte) (map[string]json.RawMessage, map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, err
	}
	return normalizeObject(raw)
}

func isCount(path string) bool { return len(path) > 7 && path[len(path)-7:] == "/$count" }

// schemaOf resolves a route's Body or Resp: a name of graphSchemas, a Go
// value, or nil.
func schemaOf(v any) any {
	name, ok := v.(string)
	if !ok {
		return v
	}
	if name == "" {
		return nil
	}
	if s, ok := graphSchemas[name]; ok {
		return s
	}
	// An unknown name is a mistake in the table; TestGraphSchemaNames
	// fails on it. The document still describes the operation.
	return openapi.Schema{Schema: map[string]any{"description": "undescribed: " + name}}
}

// queryParams are the OData query options a route accepts.
func queryParams(q odata.Options) []openapi.Param {
	var out []openapi.Param
	add := func(on bool, name, desc string, typ string) {
		if on {
			out = append(out, openapi.Param{Name: name, Description: desc, Type: typ})
		}
	}
	add(q.Select, "$select", "Properties to return (comma-separated)", "")
	add(q.Filter, "$filter", "OData filter (eq, ne, not, in, startsWith, endsWith, any(), /$count)", "")
	add(q.Top, "$top", "Page size, 1-999 (default 100)", "integer")
	add(q.Count, "$count", "true: include @odata.count (needs ConsistencyLevel: eventual)", "boolean")
	add(q.OrderBy, "$orderby", "displayName or userPrincipalName, asc or desc", "")
	add(q.Search, "$search", `"property:value" terms (needs ConsistencyLevel: eventual)`, "")
	add(q.Expand, "$expand", "members (up to 20 members), optionally members($select=…)", "")
	add(q.SkipToken, "$skiptoken", "Opaque; follow @odata.nextLink", "")
	add(q.DeltaToken, "$deltatoken", "Opaque; follow @odata.deltaLink, or \"latest\" for a deltaLink to the current state", "")
	if q.Count || q.Search || q == qCount {
		out = append(out, openapi.Param{Name: "ConsistencyLevel", In: "header", Enum: []string{"eventual"},
			Description: "eventual: needed by $count and $search"})
	}
	return out
}

func ref(name string) map[string]any { return openapi.Ref(name) }

// buildGraphSchemas builds Graph's resource schemas; names are Graph's
// (components "user" is microsoft.graph.user).
func buildGraphSchemas() map[string]openapi.Schema {
	str := map[string]any{"type": "string"}
	strs := map[string]any{"type": "array", "items": str}
	boolean := map[string]any{"type": "boolean"}
	integer := map[string]any{"type": "integer"}
	dateTime := map[string]any{"type": "string", "format": "date-time"}
	obj := func(props map[string]any) map[string]any {
		return map[string]any{"type": "object", "properties": props}
	}
	coll := func(item string) map[string]any {
		return obj(map[string]any{"@odata.context": str, "@odata.count": integer, "@odata.nextLink": str,
			"value": map[string]any{"type": "array", "items": ref(item)}})
	}
	assigned := obj(map[string]any{"skuId": str, "disabledPlans": strs})
	plan := obj(map[string]any{"servicePlanId": str, "servicePlanName": str, "provisioningStatus": str, "appliesTo": str})
	userProps := map[string]any{"assignedLicenses": map[string]any{"type": "array", "items": assigned},
		"licenseAssignmentStates": map[string]any{"type": "array", "items": obj(map[string]any{"assignedByGroup": str, "disabledPlans": strs,
			"error": str, "lastUpdatedDateTime": dateTime, "skuId": str, "state": str})},
		"assignedPlans":  map[string]any{"type": "array", "items": obj(map[string]any{"assignedDateTime": dateTime, "capabilityStatus": str, "service": str, "servicePlanId": str})},
		"accountEnabled": boolean, "createdDateTime": dateTime, "deletedDateTime": dateTime, "businessPhones": strs, "proxyAddresses": strs, "otherMails": strs,
		"onPremisesExtensionAttributes": map[string]any{"type": "object", "additionalProperties": str},
		"passwordProfile":               obj(map[string]any{"password": str, "forceChangePasswordNextSignIn": boolean}),
		"kind":                          map[string]any{"type": "string", "enum": []string{"person", "sharedMailbox", "serviceAccount", "room"}}}
	userProps["signInActivity"] = obj(map[string]any{"lastSignInDateTime": dateTime, "lastSignInRequestId": str,
		"lastNonInteractiveSignInDateTime": dateTime, "lastNonInteractiveSignInRequestId": str,
		"lastSuccessfulSignInDateTime": dateTime, "lastSuccessfulSignInRequestId": str})
	// The plain properties, by their type in the registry (userprop).
	for i := range userprop.Users {
		p := &userprop.Users[i]
		if _, ok := userProps[p.Name]; ok {
			continue
		}
		switch p.Type {
		case userprop.Bool:
			userProps[p.Name] = boolean
		case userprop.Date, userprop.Time:
			userProps[p.Name] = dateTime
		case userprop.Strings:
			userProps[p.Name] = strs
		default:
			userProps[p.Name] = str
		}
	}
	// Every property the resource renders has its schema above
	// (TestGraphResourceSchemasTypeEveryProperty); a new computed one
	// without is undescribed rather than guessed.
	for _, p := range userResource.props {
		if _, ok := userProps[p.name]; !ok {
			userProps[p.name] = map[string]any{"description": "undescribed"}
		}
	}
	groupProps := map[string]any{"assignedLicenses": map[string]any{"type": "array", "items": assigned},
		"licenseProcessingState": obj(map[string]any{"state": str}), "createdDateTime": dateTime, "deletedDateTime": dateTime, "groupTypes": strs,
		"mailEnabled": boolean, "securityEnabled": boolean, "members@odata.bind": strs,
		"assignmentMode": map[string]any{"type": "string", "enum": []string{"perProduct", "allOrNone"}}}
	for _, name := range []string{"id", "description", "displayName", "mail", "mailNickname", "membershipRule", "membershipRuleProcessingState"} {
		groupProps[name] = str
	}
	for _, p := range groupResource.props {
		if _, ok := groupProps[p.name]; !ok {
			groupProps[p.name] = map[string]any{"description": "undescribed"}
		}
	}
	removed := obj(map[string]any{"reason": map[string]any{"type": "string", "enum": []string{"changed", "deleted"}}})
	deltaColl := func(item string) map[string]any {
		entry := map[string]any{"allOf": []any{ref(item), obj(map[string]any{"@removed": removed,
			"members@delta": map[string]any{"type": "array", "items": obj(map[string]any{"@odata.type": str, "id": str, "@removed": removed})}})}}
		return obj(map[string]any{"@odata.context": str, "@odata.nextLink": str, "@odata.deltaLink": str,
			"value": map[string]any{"type": "array", "items": entry}})
	}
	schemas := map[string]any{
		"user":                      obj(userProps),
		"userCollection":            coll("user"),
		"group":                     obj(groupProps),
		"groupCollection":           coll("group"),
		"directoryObject":           map[string]any{"anyOf": []any{ref("user"), ref("group")}},
		"directoryObjectCollection": coll("directoryObject"),
		"subscribedSku": obj(map[string]any{"accountId": str, "accountName": str, "appliesTo": str, "capabilityStatus": str,
			"consumedUnits": integer, "id": str, "skuId": str, "skuPartNumber": str,
			"prepaidUnits": obj(map[string]any{"enabled": integer, "lockedOut": integer, "suspended": integer, "warning": integer}),
			"servicePlans": map[string]any{"type": "array", "items": plan}}),
		"subscribedSkuCollection":  coll("subscribedSku"),
		"licenseDetails":           obj(map[string]any{"id": str, "skuId": str, "skuPartNumber": str, "servicePlans": map[string]any{"type": "array", "items": plan}}),
		"licenseDetailsCollection": coll("licenseDetails"),
		"reference":                obj(map[string]any{"@odata.id": str}),
		"domain": obj(map[string]any{"id": str, "authenticationType": str, "isAdminManaged": boolean, "isDefault": boolean,
			"isInitial": boolean, "isRoot": boolean, "isVerified": boolean, "supportedServices": strs}),
		"domainCollection":     coll("domain"),
		"userDeltaCollection":  deltaColl("user"),
		"groupDeltaCollection": deltaColl("group"),
		"companySubscription": obj(map[string]any{"commerceSubscriptionId": str, "createdDateTime": dateTime, "id": str, "isTrial": boolean,
			"nextLifecycleDateTime": dateTime, "ownerId": str, "ownerTenantId": str, "ownerType": str,
			"serviceStatus": map[string]any{"type": "array", "items": plan}, "skuId": str, "skuPartNumber": str,
			"status": map[string]any{"type": "string", "enum": []string{"Enabled", "Warning", "Suspended", "LockedOut", "Deleted"}}, "totalLicenses": integer}),
		"companySubscriptionCollection": coll("companySubscription"),
		"adminReportSettings":           obj(map[string]any{"id": str, "displayConcealedNames": boolean}),
	}
	out := map[string]openapi.Schema{}
	for name, s := range schemas {
		out[name] = openapi.Schema{Name: name, Schema: s.(map[string]any)}
	}
	// Each schema carries the schemas it refers to, so that the document
	// has every component a used one needs.
	for name, s := range out {
		s.Related = related(out, s.Schema, map[string]bool{name: true})
		out[name] = s
	}
	return out
}

// graphSchemaNames are the names graphSchemas knows (for tests).
func graphSchemaNames() []string {
	out := make([]string, 0, len(graphSchemas))
	for n := range graphSchemas {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// related are the schemas of all that v refers to, transitively.
func related(all map[string]openapi.Schema, v any, seen map[string]bool) []openapi.Schema {
	var out []openapi.Schema
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			name := ref[len("#/components/schemas/"):]
			if !seen[name] {
				seen[name] = true
				out = append(out, all[name])
				out = append(out, related(all, all[name].Schema, seen)...)
			}
		}
		for _, y := range x {
			out = append(out, related(all, y, seen)...)
		}
	case []any:
		for _, y := range x {
			out = append(out, related(all, y, seen)...)
		}
	}
	return out
}
