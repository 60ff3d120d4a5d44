package graph

import (
	"allot/auth"
)

// The (operation, role) table of the Graph surface. A = allowed, - = 403
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

// perm is what an operation needs. Each maps to the Microsoft Entra roles
// that Microsoft's documentation lists for the operation (Graph API
// reference, "Permissions" section of each operation, and the Entra
// built-in roles reference), restricted to the roles allot has.
type perm int

const (
	// permRead: read users, groups, memberships, license details,
	// subscribedSkus, membersWithLicenseErrors. Entra lets every admin role
	// read the directory (they all inherit Directory Readers' basics);
	// Global Reader reads everything. Reports Reader reads only sign-in,
	// audit and usage reports (microsoft.directory/auditLogs, signInReports,
	// office365.usageReports): nothing here.
	permRead perm = iota
	// permWriteUsers: create, update and delete users (microsoft.directory/
	// users/create|delete|basic/update): User Administrator. License
	// Administrator may update usageLocation only (users/usageLocation/
	// update), which the PATCH handler allows separately.
	permWriteUsers
	// permAssignUserLicense: user assignLicense (microsoft.directory/users/
	// assignLicense): License Administrator, User Administrator.
	permAssignUserLicense
	// permReprocessUser: user reprocessLicenseAssignment (microsoft.directory/
	// users/reprocessLicenseAssignment): License Administrator, User
	// Administrator.
	permReprocessUser
	// permWriteGroups: create, update and delete groups and change their
	// members (microsoft.directory/groups/create|delete|basic/update|
	// members/update): Groups Administrator, User Administrator.
	permWriteGroups
	// permAssignGroupLicense: group assignLicense (microsoft.directory/
	// groups/assignLicense; the Graph reference lists Directory Writers,
	// Groups Administrator, License Administrator, User Administrator).
	permAssignGroupLicense
	// permBatch: POST /$batch. Any tenant principal may send a batch; each
	// request inside it is authorised on its own.
	permBatch
	// permWriteDomains: add, update and delete domains (microsoft.directory/
	// domains/allProperties/allTasks: Domain Name Administrator, which
	// allot does not have, and Global Administrator).
	permWriteDomains
)

// roleTable is the (operation, role) matrix. Global Administrator may do
// everything. Allotment owners are not in it: wrap lets them through the
// routes marked Scoped (reads) and the handlers narrow what they see; every
// other route answers them 404. The partner administrator (with
// X-Allot-Tenant) acts as a Global Administrator of the customer's tenant,
// as a CSP's admin agents do.
var roleTable = map[perm][]string{
	permRead: {auth.RoleGlobalAdministrator, auth.RoleGlobalReader, auth.RoleLicenseAdministrator,
		auth.RoleUserAdministrator, auth.RoleGroupsAdministrator},
	permWriteUsers:         {auth.RoleGlobalAdministrator, auth.RoleUserAdministrator},
	permAssignUserLicense:  {auth.RoleGlobalAdministrator, auth.RoleLicenseAdministrator, auth.RoleUserAdministrator},
	permReprocessUser:      {auth.RoleGlobalAdministrator, auth.RoleLicenseAdministrator, auth.RoleUserAdministrator},
	permWriteGroups:        {auth.RoleGlobalAdministrator, auth.RoleGroupsAdministrator, auth.RoleUserAdministrator},
	permAssignGroupLicense: {auth.RoleGlobalAdministrator, auth.RoleLicenseAdministrator, auth.RoleUserAdministrator, auth.RoleGroupsAdministrator},
	permBatch:              auth.TenantRoles,
	permWriteDomains:       {auth.RoleGlobalAdministrator},
}

// allowed reports whether the principal may perform an operation needing q.
func allowed(p *auth.Principal, q perm) bool {
	if p == nil {
		return false
	}
	if p.IsPartner() {
		return true
	}
	return p.Has(roleTable[q]...)
}
