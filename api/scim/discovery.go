package scim

import (
	"net/http"
	"strings"
)

// Discovery endpoints (RFC 7644 §4, RFC 7643 §5-7). They describe allot,
// not a tenant, and need no token. Filtering them is 403, as §4 asks.

func (h *handler) serviceProviderConfig(c *call) {
	writeJSON(c.w, http.StatusOK, map[string]any{
		"schemas":          []string{schemaSPC},
		"documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "An allot API token of the tenant (Authorization: Bearer <token>) with the Global, User or Groups Administrator role.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": c.base + "/ServiceProviderConfig"},
	})
}

func schemaResource(c *call, s *Schema) map[string]any {
	return map[string]any{"schemas": []string{schemaSchema}, "id": s.ID, "name": s.Name, "description": s.Description,
		"attributes": s.Attributes, "meta": map[string]any{"resourceType": "Schema", "location": c.base + "/Schemas/" + s.ID}}
}

func resourceTypeResource(c *call, rt *ResourceType) map[string]any {
	exts := make([]map[string]any, 0, len(rt.Extensions))
	for _, e := range rt.Extensions {
		exts = append(exts, map[string]any{"schema": e.ID, "required": false})
	}
	return map[string]any{"schemas": []string{schemaResourceType}, "id": rt.Name, "name": rt.Name, "endpoint": rt.Endpoint,
		"description": rt.Description, "schema": rt.Schema.ID, "schemaExtensions": exts,
		"meta": map[string]any{"resourceType": "ResourceType", "location": c.base + "/ResourceTypes/" + rt.Name}}
}

// discoveryList answers a ListResponse of every item (no paging: there
// are a handful).
func discoveryList(c *call, items []map[string]any) {
	if c.r.URL.Query().Get("filter") != "" {
		writeError(c.w, c.r, errf(http.StatusForbidden, "", "Filtering is not supported on %s.", c.r.URL.Path))
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"schemas": []string{schemaListResponse}, "totalResults": len(items),
		"itemsPerPage": len(items), "startIndex": 1, "Resources": items})
}

func (h *handler) listSchemas(c *call) {
	items := make([]map[string]any, 0, len(schemas))
	for _, s := range schemas {
		items = append(items, schemaResource(c, s))
	}
	discoveryList(c, items)
}

func (h *handler) getSchema(c *call) {
	id := c.r.PathValue("id")
	for _, s := range schemas {
		if strings.EqualFold(s.ID, id) {
			writeJSON(c.w, http.StatusOK, schemaResource(c, s))
			return
		}
	}
	c.fail(notFound("Schema", id))
}

func (h *handler) listResourceTypes(c *call) {
	items := make([]map[string]any, 0, len(resourceTypes))
	for _, rt := range resourceTypes {
		items = append(items, resourceTypeResource(c, rt))
	}
	discoveryList(c, items)
}

func (h *handler) getResourceType(c *call) {
	id := c.r.PathValue("id")
	for _, rt := range resourceTypes {
		if strings.EqualFold(rt.Name, id) {
			writeJSON(c.w, http.StatusOK, resourceTypeResource(c, rt))
			return
		}
	}
	c.fail(notFound("ResourceType", id))
}
