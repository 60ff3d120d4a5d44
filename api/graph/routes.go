package graph

import (
	"net/http"

	"allot/api/odata"
	"allot/auth"
)

// route is one operation of the Graph surface. The table below is the only
// place routes are declared: Register mounts it, wrap authorises with it,
// and the OpenAPI document is generated from it (route.op, openapi.go).
type route struct {
	Method, Path string
	Op           string // OpenAPI operationId
	Tag          string
	Summary      string
	// Perm is what the operation needs (auth.Can); the handler may narrow
	// it (License Administrators may PATCH a user's usageLocation only).
	Perm auth.Action
	// Scoped routes are open to allotment owners, who see only what their
	// allotments reach (api/scope); other routes answer them 404.
	Scoped bool
	Query  odata.Options // accepted query options; others are refused
	// Body is the request body: a name of graphSchemas (Graph's resources,
	// validated by their property tables) or a value of the Go type the
	// handler decodes into; nil or "" for none. Example is a body as a
	// client sends it (TestGraphExamplesDecode runs it through the
	// handler's decoding).
	Body    any
	Example string
	// BodyOptional: the route also runs without a body.
	BodyOptional bool
	Status       int // success status
	Resp         any // response body: as Body
	// Errors are the error statuses besides 400/401/503 (default 403, 404,
	// 429).
	Errors []int
	handle func(h *handler, w http.ResponseWriter, r *http.Request, c *call)
}

var (
	qSelect = odata.Options{Select: true}
	qList   = odata.Options{Select: true, Filter: true, Top: true, Count: true, OrderBy: true, Search: true, SkipToken: true}
	qRel    = odata.Options{Select: true, Top: true, Count: true, SkipToken: true}
	qNone   = odata.Options{}
	// qGroup: a group is read with $select and $expand=members.
	qGroup = odata.Options{Select: true, Expand: true}
	// qGroupList: groups are listed with $expand=members too.
	qGroupList = odata.Options{Select: true, Filter: true, Top: true, Count: true, OrderBy: true, Search: true, SkipToken: true, Expand: true}
	// qDeleted: deleted items are listed by id ($orderby and $search are
	// refused).
	qDeleted = odata.Options{Select: true, Filter: true, Top: true, Count: true, SkipToken: true}
)

var routes = []route{
	{Method: "GET", Path: "/v1.0/subscribedSkus", Op: "listSubscribedSkus", Tag: "licenses", Summary: "List the products the tenant has units of",
		Perm: auth.ReadDirectory, Scoped: true, Query: qSelect, Status: 200, Resp: "subscribedSkuCollection", handle: (*handler).listSubscribedSkus},
	{Method: "GET", Path: "/v1.0/subscribedSkus/{id}", Op: "getSubscribedSku", Tag: "licenses", Summary: "Get a subscribed product ({tenantId}_{skuId} or skuId)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qSelect, Status: 200, Resp: "subscribedSku", handle: (*handler).getSubscribedSku},

	{Method: "GET", Path: "/v1.0/users", Op: "listUsers", Tag: "users", Summary: "List users",
		Perm: auth.ReadDirectory, Scoped: true, Query: qList, Status: 200, Resp: "userCollection", handle: (*handler).listUsers},
	{Method: "GET", Path: "/v1.0/users/$count", Op: "countUsers", Tag: "users", Summary: "Count users (text/plain; needs ConsistencyLevel: eventual)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qCount, Status: 200, handle: (*handler).countUsers},
	{Method: "GET", Path: "/v1.0/users/delta", Op: "deltaUsers", Tag: "users", Summary: "Users created, changed or deleted since a state token (delta query; also at /users/delta() and /users/microsoft.graph.delta())",
		Perm: auth.ReadDirectory, Query: qDelta, Status: 200, Resp: "userDeltaCollection", handle: (*handler).usersDelta},
	{Method: "POST", Path: "/v1.0/users", Op: "createUser", Tag: "users", Summary: "Create a user",
		Perm: auth.WriteUsers, Query: qNone, Body: "user", Example: `{"accountEnabled":true,"displayName":"Adele Vance","mailNickname":"AdeleV","userPrincipalName":"AdeleV@contoso.onmicrosoft.com","usageLocation":"US","passwordProfile":{"forceChangePasswordNextSignIn":true,"password":"xWwvJ]6NMw+bWH-d"}}`, Status: 201, Resp: "user", handle: (*handler).createUser},
	{Method: "GET", Path: "/v1.0/users/{id}", Op: "getUser", Tag: "users", Summary: "Get a user by id or userPrincipalName",
		Perm: auth.ReadDirectory, Scoped: true, Query: qSelect, Status: 200, Resp: "user", handle: (*handler).getUser},
	{Method: "PATCH", Path: "/v1.0/users/{id}", Op: "updateUser", Tag: "users", Summary: "Update a user",
		Perm: auth.UpdateUsageLocation, Query: qNone, Body: "user", Example: `{"usageLocation":"DE","department":"Sales"}`, Status: 204, handle: (*handler).updateUser},
	{Method: "DELETE", Path: "/v1.0/users/{id}", Op: "deleteUser", Tag: "users", Summary: "Delete a user (releases its seats; restorable for 30 days)",
		Perm: auth.WriteUsers, Query: qNone, Status: 204, handle: (*handler).deleteUser},
	{Method: "POST", Path: "/v1.0/users/{id}/assignLicense", Op: "assignUserLicense", Tag: "licenses", Summary: "Add and remove direct licenses of a user",
		Perm: auth.AssignUserLicense, Query: qNone, Body: assignLicenseBody{}, Example: `{"addLicenses":[{"skuId":"c7df2760-2c81-4ef7-b578-5b5392b571df","disabledPlans":[]}],"removeLicenses":[]}`, Status: 200, Resp: "user", handle: (*handler).assignUserLicense},
	{Method: "GET", Path: "/v1.0/users/{id}/licenseDetails", Op: "listLicenseDetails", Tag: "licenses", Summary: "List the licenses a user holds (direct and inherited)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qNone, Status: 200, Resp: "licenseDetailsCollection", handle: (*handler).listLicenseDetails},
	{Method: "POST", Path: "/v1.0/users/{id}/reprocessLicenseAssignment", Op: "reprocessUserLicenseAssignment", Tag: "licenses", Summary: "Recompute a user's licenses",
		Perm: auth.AssignUserLicense, Query: qNone, Status: 200, Resp: "user", handle: (*handler).reprocessUser},
	{Method: "GET", Path: "/v1.0/users/{id}/memberOf", Op: "listUserMemberOf", Tag: "users", Summary: "Groups the user is a direct member of",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "directoryObjectCollection", handle: (*handler).listMemberOf},
	{Method: "GET", Path: "/v1.0/users/{id}/transitiveMemberOf", Op: "listUserTransitiveMemberOf", Tag: "users", Summary: "Groups the user is a member of, directly or through groups",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "directoryObjectCollection", handle: (*handler).listTransitiveMemberOf},

	{Method: "GET", Path: "/v1.0/directory/subscriptions", Op: "listCompanySubscriptions", Tag: "licenses", Summary: "The tenant's subscriptions (companySubscription: status, term, licenses)",
		Perm: auth.ReadDirectory, Query: qSelect, Status: 200, Resp: "companySubscriptionCollection", handle: (*handler).listCompanySubscriptions},
	{Method: "GET", Path: "/v1.0/directory/subscriptions/{id}", Op: "getCompanySubscription", Tag: "licenses", Summary: "Get a subscription by id",
		Perm: auth.ReadDirectory, Query: qSelect, Status: 200, Resp: "companySubscription", handle: (*handler).getCompanySubscription},
	{Method: "GET", Path: "/v1.0/directory/deletedItems/microsoft.graph.user", Op: "listDeletedUsers", Tag: "deletedItems", Summary: "Users deleted in the last 30 days",
		Perm: auth.ReadDirectory, Query: qDeleted, Status: 200, Resp: "userCollection", handle: (*handler).listDeletedUsers},
	{Method: "GET", Path: "/v1.0/directory/deletedItems/microsoft.graph.group", Op: "listDeletedGroups", Tag: "deletedItems", Summary: "Microsoft 365 groups deleted in the last 30 days",
		Perm: auth.ReadDirectory, Query: qDeleted, Status: 200, Resp: "groupCollection", handle: (*handler).listDeletedGroups},
	{Method: "GET", Path: "/v1.0/directory/deletedItems/{id}", Op: "getDeletedItem", Tag: "deletedItems", Summary: "Get a deleted user or group",
		Perm: auth.ReadDirectory, Query: qSelect, Status: 200, Resp: "directoryObject", handle: (*handler).getDeletedItem},
	{Method: "POST", Path: "/v1.0/directory/deletedItems/{id}/restore", Op: "restoreDeletedItem", Tag: "deletedItems", Summary: "Restore a deleted user (memberships, licenses) or group",
		Perm: auth.RestoreDeletedItems, Query: qNone, BodyOptional: true, Body: restoreBody{}, Example: `{"newUserPrincipalName":"AdeleV2@contoso.onmicrosoft.com","autoReconcileProxyConflict":true}`, Status: 200, Resp: "directoryObject", handle: (*handler).restoreDeletedItem},
	{Method: "DELETE", Path: "/v1.0/directory/deletedItems/{id}", Op: "purgeDeletedItem", Tag: "deletedItems", Summary: "Permanently delete a deleted user or group",
		Perm: auth.RestoreDeletedItems, Query: qNone, Status: 204, handle: (*handler).purgeDeletedItem},

	{Method: "GET", Path: "/v1.0/groups", Op: "listGroups", Tag: "groups", Summary: "List groups",
		Perm: auth.ReadDirectory, Scoped: true, Query: qGroupList, Status: 200, Resp: "groupCollection", handle: (*handler).listGroups},
	{Method: "GET", Path: "/v1.0/groups/$count", Op: "countGroups", Tag: "groups", Summary: "Count groups (text/plain; needs ConsistencyLevel: eventual)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qCount, Status: 200, handle: (*handler).countGroups},
	{Method: "GET", Path: "/v1.0/groups/delta", Op: "deltaGroups", Tag: "groups", Summary: "Groups created, changed or deleted, with members@delta, since a state token (delta query; also at /groups/delta() and /groups/microsoft.graph.delta())",
		Perm: auth.ReadDirectory, Query: qDelta, Status: 200, Resp: "groupDeltaCollection", handle: (*handler).groupsDelta},
	{Method: "POST", Path: "/v1.0/groups", Op: "createGroup", Tag: "groups", Summary: "Create a group",
		Perm: auth.WriteGroups, Query: qNone, Body: "group", Example: `{"displayName":"Sales licenses","mailEnabled":false,"mailNickname":"sales-licenses","securityEnabled":true,"groupTypes":[]}`, Status: 201, Resp: "group", handle: (*handler).createGroup},
	{Method: "GET", Path: "/v1.0/groups/{id}", Op: "getGroup", Tag: "groups", Summary: "Get a group ($expand=members lists up to 20 members)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qGroup, Status: 200, Resp: "group", handle: (*handler).getGroup},
	{Method: "PATCH", Path: "/v1.0/groups/{id}", Op: "updateGroup", Tag: "groups", Summary: "Update a group (members@odata.bind adds up to 20 members)",
		Perm: auth.WriteGroups, Query: qNone, Body: "group", Example: `{"description":"Everyone in Sales","members@odata.bind":["https://graph.microsoft.com/v1.0/directoryObjects/5f2c1a7e-0d1b-4a3e-9a40-2a6e0c0f4b11"]}`, Status: 204, handle: (*handler).updateGroup},
	{Method: "DELETE", Path: "/v1.0/groups/{id}", Op: "deleteGroup", Tag: "groups", Summary: "Delete a group without licenses",
		Perm: auth.WriteGroups, Query: qNone, Status: 204, handle: (*handler).deleteGroup},
	{Method: "POST", Path: "/v1.0/groups/{id}/assignLicense", Op: "assignGroupLicense", Tag: "licenses", Summary: "Add and remove licenses of a group",
		Perm: auth.AssignGroupLicense, Query: qNone, Body: assignLicenseBody{}, Example: `{"addLicenses":[{"skuId":"c7df2760-2c81-4ef7-b578-5b5392b571df","disabledPlans":[]}],"removeLicenses":[]}`, Status: 202, Resp: "group", handle: (*handler).assignGroupLicense},
	{Method: "GET", Path: "/v1.0/groups/{id}/members", Op: "listGroupMembers", Tag: "groups", Summary: "Direct members of a group (users and groups)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "directoryObjectCollection", handle: (*handler).listMembers},
	{Method: "GET", Path: "/v1.0/groups/{id}/members/$count", Op: "countGroupMembers", Tag: "groups", Summary: "Count a group's direct members (text/plain; needs ConsistencyLevel: eventual)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qNone, Status: 200, handle: (*handler).countMembers},
	{Method: "GET", Path: "/v1.0/groups/{id}/members/microsoft.graph.user", Op: "listGroupUserMembers", Tag: "groups", Summary: "Direct members of a group that are users (type cast)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "userCollection", handle: (*handler).listUserMembers},
	{Method: "GET", Path: "/v1.0/groups/{id}/members/microsoft.graph.user/$count", Op: "countGroupUserMembers", Tag: "groups", Summary: "Count a group's direct members that are users (text/plain; needs ConsistencyLevel: eventual)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qNone, Status: 200, handle: (*handler).countUserMembers},
	{Method: "GET", Path: "/v1.0/groups/{id}/members/microsoft.graph.group", Op: "listGroupGroupMembers", Tag: "groups", Summary: "Direct members of a group that are groups (type cast)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "groupCollection", handle: (*handler).listGroupMembers},
	{Method: "GET", Path: "/v1.0/groups/{id}/members/microsoft.graph.group/$count", Op: "countGroupGroupMembers", Tag: "groups", Summary: "Count a group's direct members that are groups (text/plain; needs ConsistencyLevel: eventual)",
		Perm: auth.ReadDirectory, Scoped: true, Query: qNone, Status: 200, handle: (*handler).countGroupMembers},
	{Method: "GET", Path: "/v1.0/groups/{id}/transitiveMembers", Op: "listGroupTransitiveMembers", Tag: "groups", Summary: "Members of a group, directly or through member groups",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "directoryObjectCollection", handle: (*handler).listTransitiveMembers},
	{Method: "POST", Path: "/v1.0/groups/{id}/members/$ref", Op: "addGroupMember", Tag: "groups", Summary: "Add a member",
		Perm: auth.WriteGroups, Scoped: true, Query: qNone, Body: "reference", Example: `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/5f2c1a7e-0d1b-4a3e-9a40-2a6e0c0f4b11"}`, Status: 204, handle: (*handler).addMember},
	{Method: "DELETE", Path: "/v1.0/groups/{id}/members/{memberId}/$ref", Op: "removeGroupMember", Tag: "groups", Summary: "Remove a member",
		Perm: auth.WriteGroups, Scoped: true, Query: qNone, Status: 204, handle: (*handler).removeMember},
	{Method: "GET", Path: "/v1.0/groups/{id}/membersWithLicenseErrors", Op: "listMembersWithLicenseErrors", Tag: "licenses", Summary: "Members with a license from the group in error",
		Perm: auth.ReadDirectory, Scoped: true, Query: qRel, Status: 200, Resp: "directoryObjectCollection", handle: (*handler).listMembersWithLicenseErrors},

	{Method: "GET", Path: "/v1.0/domains", Op: "listDomains", Tag: "domains", Summary: "List the tenant's domains (the names userPrincipalNames may end in)",
		Perm: auth.ReadDirectory, Query: qNone, Status: 200, Resp: "domainCollection", handle: (*handler).listDomains},
	{Method: "POST", Path: "/v1.0/domains", Op: "createDomain", Tag: "domains", Summary: "Add a domain (verified at once; a domain belongs to one tenant)",
		Perm: auth.ManageTenant, Query: qNone, Body: "domain", Example: `{"id":"contoso.com"}`, Status: 201, Resp: "domain", handle: (*handler).createDomain},
	{Method: "GET", Path: "/v1.0/domains/{id}", Op: "getDomain", Tag: "domains", Summary: "Get a domain",
		Perm: auth.ReadDirectory, Query: qNone, Status: 200, Resp: "domain", handle: (*handler).getDomain},
	{Method: "PATCH", Path: "/v1.0/domains/{id}", Op: "updateDomain", Tag: "domains", Summary: "Make a domain the default (isDefault: true)",
		Perm: auth.ManageTenant, Query: qNone, Body: "domain", Example: `{"isDefault":true}`, Status: 204, handle: (*handler).updateDomain},
	{Method: "DELETE", Path: "/v1.0/domains/{id}", Op: "deleteDomain", Tag: "domains", Summary: "Delete a domain no user name uses (not the initial or default one)",
		Perm: auth.ManageTenant, Query: qNone, Status: 204, handle: (*handler).deleteDomain},

	{Method: "GET", Path: "/v1.0/reports/{call}", Op: "getReport", Tag: "reports", Summary: "A usage report as CSV: getOffice365ActiveUserDetail, getMailboxUsageDetail, getEmailActivityUserDetail, getOneDriveActivityUserDetail, getSharePointActivityUserDetail, getTeamsUserActivityUserDetail, getYammerActivityUserDetail, getM365AppUserDetail, each (period='D7|D30|D90|D180') or (date=YYYY-MM-DD); served directly (200), where Graph redirects (302) to a download",
		Perm: auth.ReadLicenseUsage, Query: qNone, Status: 200, handle: (*handler).getReport},
	{Method: "GET", Path: "/v1.0/admin/reportSettings", Op: "getReportSettings", Tag: "reports", Summary: "Whether reports conceal user names (displayConcealedNames)",
		Perm: auth.ReadLicenseUsage, Query: qNone, Status: 200, Resp: "adminReportSettings", handle: (*handler).getReportSettings},
	{Method: "PATCH", Path: "/v1.0/admin/reportSettings", Op: "updateReportSettings", Tag: "reports", Summary: "Conceal user names in reports or show them",
		Perm: auth.ManageTenant, Query: qNone, Body: "adminReportSettings", Example: `{"displayConcealedNames":false}`, Status: 204, handle: (*handler).updateReportSettings},

	{Method: "POST", Path: "/v1.0/$batch", Op: "batch", Tag: "batch", Summary: "JSON batching: up to 20 requests, with dependsOn",
		Perm: auth.SendBatch, Scoped: true, Query: qNone, Body: batchPayload{}, Example: `{"requests":[{"id":"1","method":"GET","url":"/users?$select=id,displayName"},{"id":"2","method":"POST","url":"/users/AdeleV@contoso.onmicrosoft.com/assignLicense","headers":{"Content-Type":"application/json"},"body":{"addLicenses":[],"removeLicenses":[]},"dependsOn":["1"]}]}`, Status: 200, Resp: batchAnswer{}, handle: (*handler).batch},
}
