package graph

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"allot/audit"
)

// docRoute is an operation of another surface (partner, admin, server) for
// the OpenAPI document. Graph operations come from the route table.
type docRoute struct {
	Method, Path, Op, Tag, Summary string
	Public                         bool
	Body, Resp                     string
	Status                         int
}

// otherRoutes are the routes the other surfaces register (api/partner,
// api/admin, api/server, api/cloudlicensing, api/usage, api/position).
// TestOpenAPICoversEveryRoute checks them against the source. The server
// keeps no list of its routes; with one (server.Routes), this table would
// only add descriptions.
var otherRoutes = []docRoute{
	{"POST", "/partner/v1/customers", "createCustomer", "partner", "Create a customer tenant", false, "customer", "customer", 201},
	{"GET", "/partner/v1/customers", "listCustomers", "partner", "List customer tenants", false, "", "customerCollection", 200},
	{"GET", "/partner/v1/customers/{id}", "getCustomer", "partner", "Get a customer tenant", false, "", "customer", 200},
	{"DELETE", "/partner/v1/customers/{id}", "deleteCustomer", "partner", "Delete a customer tenant (409 while it holds subscriptions, unless ?cascade=true)", false, "", "", 204},
	{"POST", "/partner/v1/customers/{id}/subscriptions", "createSubscription", "partner", "Buy units of a product", false, "subscription", "subscription", 201},
	{"GET", "/partner/v1/customers/{id}/subscriptions", "listSubscriptions", "partner", "List a customer's subscriptions", false, "", "subscriptionCollection", 200},
	{"GET", "/partner/v1/customers/{id}/subscriptions/{subId}", "getSubscription", "partner", "Get a subscription", false, "", "subscription", 200},
	{"PATCH", "/partner/v1/customers/{id}/subscriptions/{subId}", "updateSubscription", "partner", "Change a subscription's quantity, status (active, expired, suspended, disabled, deleted), commitmentEndDate or autoRenewEnabled", false, "subscription", "subscription", 200},
	{"POST", "/allot/v1/tenants/{tenantId}/tokens", "createToken", "admin", "Create an API token (the secret is shown once)", false, "token", "token", 201},
	{"GET", "/allot/v1/tenants/{tenantId}/tokens", "listTokens", "admin", "List API tokens", false, "", "tokenCollection", 200},
	{"DELETE", "/allot/v1/tenants/{tenantId}/tokens/{id}", "revokeToken", "admin", "Revoke an API token", false, "", "", 204},
	{"POST", "/allot/v1/rules/validate", "validateRule", "admin", "Validate a dynamic membership rule and preview who matches", false, "", "", 200},
	{"POST", "/allot/v1/tenants/{tenantId}/import", "importTenant", "admin", "Bulk import of users, groups, memberships and assignments", false, "", "", 200},
	{"POST", "/allot/v1/signins", "postSignIns", "usage", "Record sign-in events (activation)", false, "", "", 200},
	{"POST", "/allot/v1/usage/events", "postUsageEvents", "usage", "Ingest feature-usage events (JSON lines)", false, "", "", 200},
	{"POST", "/allot/v1/usage/reports", "postUsageReport", "usage", "Ingest a Microsoft 365 usage report CSV (body text/csv, or a multipart/form-data file). A report (type and Report Refresh Date) is recorded once: importing it again answers duplicate unless force=true. A report none of whose rows matches a user is not recorded (notRecorded, message)", false, "", "usageResult", 200},
	{"GET", "/allot/v1/usage/reports", "listUsageReports", "usage", "List ingested usage reports", false, "", "", 200},
	{"PUT", "/allot/v1/usage/concealed-names", "putConcealedNames", "usage", "Replace the mapping of concealed (hashed) report names to users (allot import concealed-names FILE does the same offline)", false, "concealedNames", "concealedNamesResult", 200},
	{"GET", "/allot/v1/usage/users/{id}", "getUserUsage", "usage", "A user's aggregated usage", false, "", "", 200},
	{"GET", "/allot/v1/usage/features", "listFeatures", "usage", "The feature map: features and the plans they need", false, "", "", 200},
	{"GET", "/allot/v1/users/{id}/licenses/{skuId}/explain", "explainLicense", "admin", "Explain a user's license for a product", false, "", "", 200},
	{"POST", "/allot/v1/groups/{id}/reprocessLicenseAssignment", "reprocessGroupLicenses", "admin", "Reprocess the licenses of every member of a group (the admin center's Reprocess; Graph has it per user only)", false, "", "", 200},
	{"GET", "/allot/v1/audit", "queryAudit", "admin", "Query the audit log", false, "", "", 200},
	{"GET", "/allot/v1/catalog/products", "listProducts", "admin", "List the tenant's catalog (Microsoft's products and its own)", false, "", "", 200},
	{"GET", "/allot/v1/catalog/products/{id}", "getProduct", "admin", "Get a product", false, "", "", 200},
	{"POST", "/allot/v1/catalog/products", "createProduct", "admin", "Add a custom product", false, "", "", 201},
	{"GET", "/allot/v1/settings", "getSettings", "admin", "The tenant's licensing settings", false, "", "settings", 200},
	{"PATCH", "/allot/v1/settings", "updateSettings", "admin", "Change the licensing settings (licenses are re-evaluated at once)", false, "settings", "settings", 200},
	{"GET", "/allot/v1/alerts/rules", "listAlertRules", "alerts", "List the tenant's alert rules", false, "", "", 200},
	{"POST", "/allot/v1/alerts/rules", "createAlertRule", "alerts", "Create an alert rule (409 if its id exists): condition licenseErrors, waitingTooLong, freeSeatsLow, allotmentFull, subscriptionEnding, subscriptionRenewing, idleSeatsCost, underLicensedUsers or operationFailed, its parameters, endpoints, quietMinutes, repeatMinutes, maxRepeats", false, "", "", 201},
	{"GET", "/allot/v1/alerts/rules/{id}", "getAlertRule", "alerts", "Get an alert rule", false, "", "", 200},
	{"PUT", "/allot/v1/alerts/rules/{id}", "putAlertRule", "alerts", "Create or replace an alert rule", false, "", "", 200},
	{"DELETE", "/allot/v1/alerts/rules/{id}", "deleteAlertRule", "alerts", "Delete an alert rule", false, "", "", 204},
	{"GET", "/allot/v1/alerts/endpoints", "listAlertEndpoints", "alerts", "List the alert endpoints (secrets are never shown after creation)", false, "", "", 200},
	{"POST", "/allot/v1/alerts/endpoints", "createAlertEndpoint", "alerts", "Create an alert endpoint: webhook (signed: X-Allot-Timestamp, X-Allot-Signature v1=hex HMAC-SHA256 of timestamp.body; a secret is generated and shown once), slack, teams or email", false, "", "", 201},
	{"GET", "/allot/v1/alerts/endpoints/{id}", "getAlertEndpoint", "alerts", "Get an alert endpoint", false, "", "", 200},
	{"PUT", "/allot/v1/alerts/endpoints/{id}", "putAlertEndpoint", "alerts", "Create or replace an alert endpoint (a replaced webhook keeps its secret unless one is sent)", false, "", "", 200},
	{"DELETE", "/allot/v1/alerts/endpoints/{id}", "deleteAlertEndpoint", "alerts", "Delete an alert endpoint no rule sends to", false, "", "", 204},
	{"POST", "/allot/v1/alerts/endpoints/{id}/test", "testAlertEndpoint", "alerts", "Queue a test notification to the endpoint", false, "", "", 202},
	{"GET", "/allot/v1/alerts/endpoints/{id}/deliveries", "listAlertDeliveries", "alerts", "The endpoint's delivery log, newest first ($top)", false, "", "", 200},
	{"GET", "/allot/v1/alerts", "listAlerts", "alerts", "The tenant's alerts, open and resolved", false, "", "", 200},
	{"GET", "/allot/v1/alerts/jobs", "listAlertJobs", "alerts", "Queued notifications (state=pending, done or dead: the dead-letter list; $top)", false, "", "", 200},
	{"POST", "/allot/v1/alerts/jobs/{id}/retry", "retryAlertJob", "alerts", "Queue a dead notification again", false, "", "", 202},
	{"GET", "/allot/v1/chargeback", "getChargeback", "position", "Monthly license cost per department, companyName, jobTitle, country, city, usageLocation, allotment or user attribute (by=…), from the price list: each held seat at its product's unit price, seats nobody holds as (unassigned)", false, "", "", 200},
	{"GET", "/allot/v1/chargeback.csv", "getChargebackCSV", "position", "The chargeback as CSV (one line per part and product, then the total)", false, "", "", 200},
	{"GET", "/beta/admin/cloudLicensing/allotments", "listAllotments", "allotments", "List allotments", false, "", "", 200},
	{"POST", "/beta/admin/cloudLicensing/allotments", "createAllotment", "allotments", "Create an allotment", false, "", "", 201},
	{"GET", "/beta/admin/cloudLicensing/allotments/{id}", "getAllotment", "allotments", "Get an allotment", false, "", "", 200},
	{"PATCH", "/beta/admin/cloudLicensing/allotments/{id}", "updateAllotment", "allotments", "Update an allotment", false, "", "", 200},
	{"DELETE", "/beta/admin/cloudLicensing/allotments/{id}", "deleteAllotment", "allotments", "Delete an allotment", false, "", "", 204},
	{"GET", "/beta/admin/cloudLicensing/allotments/{id}/waitingMembers", "listWaitingMembers", "allotments", "Users waiting for a unit of an allotment", false, "", "", 200},
	{"GET", "/beta/admin/cloudLicensing/allotments/{id}/assignments", "listAllotmentAssignments", "allotments", "Assignments through an allotment", false, "", "", 200},
	{"POST", "/beta/admin/cloudLicensing/allotments/{id}/reprocessAssignments", "reprocessAllotment", "allotments", "Reprocess an allotment's assignments", false, "", "", 200},
	{"GET", "/beta/admin/cloudLicensing/assignments", "listAssignments", "allotments", "List assignments", false, "", "", 200},
	{"POST", "/beta/admin/cloudLicensing/assignments", "createAssignment", "allotments", "Assign an allotment to a user or group", false, "", "", 201},
	{"GET", "/beta/admin/cloudLicensing/assignments/{id}", "getAssignment", "allotments", "Get an assignment", false, "", "", 200},
	{"PATCH", "/beta/admin/cloudLicensing/assignments/{id}", "updateAssignment", "allotments", "Update an assignment", false, "", "", 200},
	{"DELETE", "/beta/admin/cloudLicensing/assignments/{id}", "deleteAssignment", "allotments", "Delete an assignment", false, "", "", 204},
	{"GET", "/beta/users/{id}/cloudLicensing/usageRights", "listUsageRights", "allotments", "A user's combined usage rights per product", false, "", "", 200},
	{"GET", "/allot/v1/prices", "getPrices", "position", "The tenant's price list", false, "", "", 200},
	{"PUT", "/allot/v1/prices", "putPrices", "position", "Replace the tenant's price list", false, "", "", 200},
	{"GET", "/allot/v1/position", "getPosition", "position", "The effective license position (JSON)", false, "", "", 200},
	{"GET", "/allot/v1/position.csv", "getPositionCSV", "position", "The effective license position (CSV)", false, "", "", 200},
	{"GET", "/allot/v1/position.html", "getPositionHTML", "position", "The effective license position (printable HTML)", false, "", "", 200},
	{"POST", "/allot/v1/position/snapshots", "createPositionSnapshot", "position", "Keep a snapshot of the position", false, "", "", 201},
	{"GET", "/allot/v1/position/snapshots", "listPositionSnapshots", "position", "List position snapshots", false, "", "", 200},
	{"GET", "/allot/v1/position/snapshots/{id}", "getPositionSnapshot", "position", "Get a position snapshot", false, "", "", 200},
	{"GET", "/allot/v1/position/diff", "diffPosition", "position", "Compare two positions (drift)", false, "", "", 200},
	{"POST", "/allot/v1/whatif", "whatIf", "position", "Try commands on a snapshot of the tenant (nothing changes) and answer the difference: gains, losses, users who start waiting, errors that appear, seats and monthly cost before and after", false, "whatIfRequest", "whatIfResult", 200},
	{"GET", "/healthz", "health", "operations", "Liveness", true, "", "status", 200},
	{"GET", "/readyz", "ready", "operations", "Readiness (503 while starting, stopping or failing to write; 200 names the tenants still loading or that failed to load)", true, "", "status", 200},
	{"GET", "/metrics", "metrics", "operations", "Prometheus metrics (text format)", true, "", "", 200},
	{"GET", "/openapi.json", "openapi", "operations", "This document", true, "", "", 200},
}

// docQuery are the query parameters of routes outside Graph's table.
var docQuery = map[string][]any{
	"POST /allot/v1/usage/reports": {
		map[string]any{"name": "report", "in": "query", "description": "The report type (Graph reports function, e.g. getOffice365ActiveUserDetail); recognised from the header when absent", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "force", "in": "query", "description": "true: read again a report recorded before (same type and Report Refresh Date), e.g. after a concealed-name mapping was added; every aggregate is idempotent", "schema": map[string]any{"type": "boolean", "default": false}},
	},
}

// docRoutes is every route of the document: the Graph table and the others.
func docRoutes() []docRoute {
	out := make([]docRoute, 0, len(routes)+len(otherRoutes))
	for _, r := range routes {
		out = append(out, docRoute{r.Method, r.Path, r.Op, r.Tag, r.Summary, false, r.Body, r.Resp, r.Status})
	}
	return append(out, otherRoutes...)
}

var (
	docOnce  sync.Once
	docBytes []byte
)

func (h *handler) openAPI(w http.ResponseWriter, r *http.Request) {
	docOnce.Do(func() { docBytes, _ = json.MarshalIndent(openAPIDocument(h.s.Routes()...), "", " ") })
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(docBytes)
}

var pathParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// openAPIDocument builds the OpenAPI 3.0 description of allot's HTTP API:
// the documented routes, plus every other registered pattern (so that no
// route the server serves is missing, even one without a description yet).
func openAPIDocument(registered ...string) map[string]any {
	paths := map[string]any{}
	graphQuery := map[string]route{}
	for _, r := range routes {
		graphQuery[r.Method+" "+r.Path] = r
	}
	all := docRoutes()
	known := map[string]bool{}
	for _, d := range all {
		known[d.Method+" "+d.Path] = true
	}
	for _, pat := range registered {
		method, path, ok := strings.Cut(pat, " ")
		if !ok || known[method+" "+path] || !strings.HasPrefix(path, "/") {
			continue
		}
		known[method+" "+path] = true
		tag := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
		op := strings.ToLower(method) + strings.NewReplacer("/", "_", "{", "", "}", "", "$", "", ".", "_").Replace(path)
		all = append(all, docRoute{method, path, op, tag, method + " " + path, false, "", "", 200})
	}
	for _, d := range all {
		item, _ := paths[d.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[d.Path] = item
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(d.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		params = append(params, docQuery[d.Method+" "+d.Path]...)
		if gr, ok := graphQuery[d.Method+" "+d.Path]; ok {
			q := gr.Query
			add := func(on bool, name, desc string) {
				if on {
					params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": map[string]any{"type": "string"}})
				}
			}
			add(q.Select, "$select", "Properties to return (comma-separated)")
			add(q.Filter, "$filter", "OData filter (eq, ne, not, in, startsWith, endsWith, any(), /$count)")
			add(q.Top, "$top", "Page size, 1-999 (default 100)")
			add(q.Count, "$count", "true: include @odata.count (needs ConsistencyLevel: eventual)")
			add(q.OrderBy, "$orderby", "displayName or userPrincipalName, asc or desc")
			add(q.Search, "$search", `"property:value" terms (needs ConsistencyLevel: eventual)`)
			add(q.SkipToken, "$skiptoken", "Opaque; follow @odata.nextLink")
			if q.Count || q.Search {
				params = append(params, map[string]any{"name": "ConsistencyLevel", "in": "header", "schema": map[string]any{"type": "string", "enum": []string{"eventual"}}})
			}
		}
		if d.Method == "GET" && d.Path == "/allot/v1/audit" {
			for _, qp := range audit.QueryParams {
				params = append(params, map[string]any{"name": qp.Name, "in": "query", "description": qp.Description, "schema": map[string]any{"type": "string"}})
			}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": "Success"}
		if d.Resp != "" {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(d.Resp)}}
		}
		if d.Path == "/metrics" {
			ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[strconv.Itoa(d.Status)] = ok
		errResp := map[string]any{"description": "Graph error", "content": map[string]any{"application/json": map[string]any{"schema": ref("error")}}}
		if !d.Public {
			for _, code := range []string{"400", "401", "403", "404", "429"} {
				responses[code] = errResp
			}
		}
		op := map[string]any{"operationId": d.Op, "summary": d.Summary, "tags": []string{d.Tag}, "responses": responses}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if d.Body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(d.Body)}}}
		}
		if d.Public {
			op["security"] = []any{}
		}
		item[strings.ToLower(d.Method)] = op
	}
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
	for _, p := range userResource.props {
		if _, ok := userProps[p.name]; !ok {
			userProps[p.name] = str
		}
	}
	groupProps := map[string]any{"assignedLicenses": map[string]any{"type": "array", "items": assigned},
		"licenseProcessingState": obj(map[string]any{"state": str}), "createdDateTime": dateTime, "deletedDateTime": dateTime, "groupTypes": strs,
		"mailEnabled": boolean, "securityEnabled": boolean, "members@odata.bind": strs,
		"assignmentMode": map[string]any{"type": "string", "enum": []string{"perProduct", "allOrNone"}}}
	for _, p := range groupResource.props {
		if _, ok := groupProps[p.name]; !ok {
			groupProps[p.name] = str
		}
	}
	schemas := map[string]any{
		"error": obj(map[string]any{"error": obj(map[string]any{"code": str, "message": str,
			"innerError": obj(map[string]any{"date": str, "request-id": str, "client-request-id": str})})}),
		"user":                      obj(userProps),
		"userCollection":            coll("user"),
		"group":                     obj(groupProps),
		"groupCollection":           coll("group"),
		"directoryObject":           map[string]any{"oneOf": []any{ref("user"), ref("group")}},
		"directoryObjectCollection": coll("directoryObject"),
		"subscribedSku": obj(map[string]any{"accountId": str, "accountName": str, "appliesTo": str, "capabilityStatus": str,
			"consumedUnits": integer, "id": str, "skuId": str, "skuPartNumber": str,
			"prepaidUnits": obj(map[string]any{"enabled": integer, "lockedOut": integer, "suspended": integer, "warning": integer}),
			"servicePlans": map[string]any{"type": "array", "items": plan}}),
		"subscribedSkuCollection":  coll("subscribedSku"),
		"licenseDetails":           obj(map[string]any{"id": str, "skuId": str, "skuPartNumber": str, "servicePlans": map[string]any{"type": "array", "items": plan}}),
		"licenseDetailsCollection": coll("licenseDetails"),
		"assignLicense":            obj(map[string]any{"addLicenses": map[string]any{"type": "array", "items": assigned}, "removeLicenses": strs}),
		"reference":                obj(map[string]any{"@odata.id": str}),
		"restoreRequest":           obj(map[string]any{"newUserPrincipalName": str, "autoReconcileProxyConflict": boolean}),
		"batchRequest": obj(map[string]any{"requests": map[string]any{"type": "array", "maxItems": maxBatch, "items": obj(map[string]any{
			"id": str, "method": str, "url": str, "headers": map[string]any{"type": "object", "additionalProperties": str},
			"body": map[string]any{}, "dependsOn": strs})}}),
		"batchResponse": obj(map[string]any{"responses": map[string]any{"type": "array", "items": obj(map[string]any{
			"id": str, "status": integer, "headers": map[string]any{"type": "object", "additionalProperties": str}, "body": map[string]any{}})}}),
		"customer": obj(map[string]any{"id": str, "companyProfile": obj(map[string]any{"tenantId": str, "companyName": str, "domain": str}),
			"defaultUsageLocation": str, "createdDateTime": dateTime}),
		"customerCollection": obj(map[string]any{"totalCount": integer, "items": map[string]any{"type": "array", "items": ref("customer")}}),
		"subscription": obj(map[string]any{"id": str, "offerId": str, "skuId": str, "skuPartNumber": str, "friendlyName": str,
			"quantity": integer, "status": str, "creationDate": dateTime, "lastModifiedDate": dateTime,
			"commitmentEndDate": dateTime, "autoRenewEnabled": boolean, "suspensionReasons": strs,
			"graceEndDate": dateTime, "deletionDate": dateTime, "capabilityStatus": str}),
		"settings": obj(map[string]any{"defaultUsageLocation": str, "excludeGuestsFromGroupLicensing": boolean, "nestedGroupLicensing": boolean,
			"leaveAttribute": map[string]any{"type": "string", "description": "extensionAttribute1 … extensionAttribute15, or \"\": the attribute that marks a user on leave (the position keeps their idle seats)"}}),
		"subscriptionCollection": obj(map[string]any{"totalCount": integer, "items": map[string]any{"type": "array", "items": ref("subscription")}}),
		"token": obj(map[string]any{"id": str, "token": str, "displayName": str, "roles": strs, "allotmentIds": strs,
			"createdDateTime": dateTime, "revokedDateTime": dateTime}),
		"tokenCollection": obj(map[string]any{"value": map[string]any{"type": "array", "items": ref("token")}}),
		"status":          obj(map[string]any{"status": str}),
		"domain": obj(map[string]any{"id": str, "authenticationType": str, "isAdminManaged": boolean, "isDefault": boolean,
			"isInitial": boolean, "isRoot": boolean, "isVerified": boolean, "supportedServices": strs}),
		"domainCollection": coll("domain"),
		"concealedNames": obj(map[string]any{"value": map[string]any{"type": "array", "maxItems": 2000000,
			"description": "The whole mapping (it replaces the previous one); an empty array removes it.",
			"items": map[string]any{"type": "object", "required": []string{"hash", "userPrincipalName"}, "properties": map[string]any{
				"hash":              map[string]any{"type": "string", "pattern": "^[0-9A-Fa-f]{32}$", "description": "The concealed name as the report shows it (32 hexadecimal digits)"},
				"userPrincipalName": map[string]any{"type": "string", "description": "The user it hides"}}}}}),
		"concealedNamesResult": obj(map[string]any{"mapped": integer}),
		"whatIfRequest": obj(map[string]any{"commands": map[string]any{"type": "array", "minItems": 1, "maxItems": 1000, "items": obj(map[string]any{
			"op":             map[string]any{"type": "string", "enum": []string{"setGroupLicenses", "setUserLicenses", "changeUnits", "putAllotment", "setMembershipRule", "applyFixes"}},
			"groupId":        str,
			"userId":         str,
			"addLicenses":    map[string]any{"type": "array", "items": assigned},
			"removeLicenses": strs,
			"sku":            map[string]any{"type": "string", "description": "changeUnits: skuId or skuPartNumber"},
			"by":             map[string]any{"type": "integer", "description": "changeUnits: units to add (negative: remove) on the newest active subscription"},
			"allotment":      obj(map[string]any{"id": str, "displayName": str, "skuId": str, "allottedUnits": integer}),
			"membershipRule": str,
			"kinds":          map[string]any{"type": "array", "items": str, "description": "applyFixes: the finding kinds (all when empty)"}})}}),
		"whatIfResult": obj(map[string]any{"commands": map[string]any{"type": "array", "items": obj(map[string]any{"command": map[string]any{"type": "object"}, "error": obj(map[string]any{"code": str, "message": str}), "applied": integer, "refused": integer})},
			"refusedFixes": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}, "skippedCount": integer,
			"expanded": map[string]any{"type": "array", "items": map[string]any{"type": "object"}}, "skipped": map[string]any{"type": "array", "items": obj(map[string]any{"findingId": str, "kind": str, "userId": str, "skuPartNumber": str, "reason": str})},
			"gains": map[string]any{"type": "array", "items": ref("whatIfChange")}, "losses": map[string]any{"type": "array", "items": ref("whatIfChange")},
			"startsWaiting": map[string]any{"type": "array", "items": ref("whatIfChange")}, "errors": map[string]any{"type": "array", "items": ref("whatIfChange")},
			"gainsCount": integer, "lossesCount": integer, "startsWaitingCount": integer, "stopsWaitingCount": integer, "errorsCount": integer, "errorsResolvedCount": integer,
			"currency": str, "before": ref("whatIfSide"), "after": ref("whatIfSide")}),
		"whatIfChange": obj(map[string]any{"userId": str, "userPrincipalName": str, "skuId": str, "skuPartNumber": str, "allotmentId": str, "assignedByGroup": str, "error": str}),
		"whatIfSide": obj(map[string]any{"skus": map[string]any{"type": "array", "items": obj(map[string]any{"skuId": str, "skuPartNumber": str, "owned": integer, "assigned": integer, "waiting": integer, "monthlyCost": map[string]any{"type": "number"}})},
			"totals": obj(map[string]any{"owned": integer, "assigned": integer, "waiting": integer, "monthlyCost": map[string]any{"type": "number"}})}),
		"usageResult": obj(map[string]any{"accepted": integer, "duplicates": integer, "rejectedCount": integer, "unmatchedCount": integer,
			"rejected":  map[string]any{"type": "array", "items": obj(map[string]any{"line": integer, "reason": str})},
			"unmatched": map[string]any{"type": "array", "items": obj(map[string]any{"line": integer, "user": str, "concealed": boolean, "count": integer, "assignedProducts": strs})},
			"report":    str, "reportRefreshDate": str, "duplicate": boolean, "notRecorded": boolean, "message": str, "concealedCount": integer}),
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "allot", "version": "1.0",
			"description": "License provisioning with a Microsoft Graph v1.0 compatible API (users, groups, licenses), a partner API and allot's own administration API. Authenticate with a bearer token."},
		"servers":    []any{map[string]any{"url": "/"}},
		"security":   []any{map[string]any{"bearer": []any{}}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}
