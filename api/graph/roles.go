package graph

import (
	"allot/auth"
)

// The (operation, role) table of the Graph surface (the roles of each action are auth.Can's table). A = allowed, - = 403
// Authorization_RequestDenied "Insufficient privileges to complete the
// operation." GA Global Administrator, LA License Administrator, UA User
// Administrator, GrA Groups Administrator, GR Global Reader, RR Reports
// Reader, AO Allotment Owner, PA partner administrator (X-Allot-Tenant).
// For allotment owners (api/scope): S = only what their allotments reach
// (the groups assigned through them, their members, the users assigned),
// 404 outside, and of those users only the licenses (licenseDetails,
// assignedLicenses, assignedPlans, licenseAssignmentStates, $filter on
// them) their allotments give; ø = 404, never 403, so nothing outside is
// seen to exist (lists of subscribedSkus are empty to them). TestRoleMatrix proves every
// cell against a live server, TestAllotmentOwnersSeeOnlyTheirScope the
// scoping.
//
//	operation                                  GA LA UA GrA GR RR AO PA
//	GET subscribedSkus[/{id}]                  A  A  A  A   A  -  ø  A
//	GET users, users/{id}                      A  A  A  A   A  -  S  A
//	POST users, DELETE users/{id}              A  -  A  -   -  -  ø  A
//	PATCH users/{id}                           A  *  A  -   -  -  ø  A   (* usageLocation only)
//	POST users/{id}/assignLicense              A  A  A  -   -  -  ø  A
//	GET users/{id}/licenseDetails              A  A  A  A   A  -  S  A
//	POST users/{id}/reprocessLicenseAssignment A  A  A  -   -  -  ø  A
//	GET users/{id}/memberOf, transitiveMemberOf A A  A  A   A  -  S  A
//	GET groups, groups/{id}                    A  A  A  A   A  -  S  A
//	POST groups, PATCH/DELETE groups/{id}      A  -  A  A   -  -  ø  A
//	POST groups/{id}/assignLicense             A  A  A  A   -  -  ø  A
//	GET groups/{id}/members                    A  A  A  A   A  -  S  A
//	POST members/$ref, DELETE members/{m}/$ref A  -  A  A   -  -  S' A   (S': 403 while the group carries licenses from outside the owner's allotments)
//	GET groups/{id}/membersWithLicenseErrors   A  A  A  A   A  -  S  A
//	POST $batch                                A  A  A  A   A  A  A  A   (each request authorised on its own)
//	GET groups/{id}/transitiveMembers          A  A  A  A   A  -  S  A
//	GET directory/deletedItems/...             A  A  A  A   A  -  ø  A
//	POST deletedItems/{id}/restore, DELETE     A  -  A  *   -  -  ø  A   (* groups only)
//
// Sources: the "Permissions" section of each operation in the Graph v1.0
// reference (e.g. group assignLicense: Directory Writers, Groups
// Administrator, License Administrator, User Administrator) and the Entra
// built-in roles reference (License Administrator: users/assignLicense,
// users/usageLocation/update, groups/assignLicense, reprocessLicense-
// Assignment; User Administrator: users and groups create/delete/update,
// members, licenses; Groups Administrator: groups/* including
// assignLicense; Reports Reader: audit, sign-in and usage reports only;
// restoring and permanently deleting: "Restore deleted item" lists
// User.ReadWrite.All for users and Group.ReadWrite.All for groups, and
// Entra's "Restore or remove a recently deleted user" the User
// Administrator).

// allowed reports whether the call's principal may perform an action in
// the call's tenant (auth.Can, the one authorization table).
func (c *call) allowed(a auth.Action) bool { return auth.Can(c.p, a, c.t.ID) }
