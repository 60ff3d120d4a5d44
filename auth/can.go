package auth

import "slices"

// Action is something a principal asks to do in a tenant. The table below
// says which tenant roles may do each; it is the one authorization table of
// every surface (Graph, SCIM, the admin API, cloudLicensing, usage, the
// position, the admin center's pages and forms). Which objects an
// allotment owner reaches is the other decision, api/scope's.
//
// Each action maps to the Microsoft Entra roles that Microsoft documents
// for the operation (the "Permissions" section of each operation in the
// Graph v1.0 reference and the Entra built-in roles reference: License
// Administrator: users/assignLicense, users/usageLocation/update,
// groups/assignLicense, reprocessLicenseAssignment; User Administrator:
// users and groups create/delete/update, members, licenses; Groups
// Administrator: groups/* including assignLicense; Reports Reader: audit,
// sign-in and usage reports only), restricted to the roles allot has.
type Action uint8

const (
	// ReadDirectory: read users, groups, memberships, license details,
	// subscribedSkus, membersWithLicenseErrors, deleted items, and preview
	// a membership rule. Entra lets every admin role read the directory
	// (they all inherit Directory Readers' basics); Global Reader reads
	// everything. Reports Reader reads only reports: not this.
	ReadDirectory Action = iota + 1
	// ReadReports: the licensing reports, explanations and settings an
	// administrator reads (a license's explanation, the tenant settings,
	// the admin center's reports): every reader of the directory and
	// Reports Reader.
	ReadReports
	// ReadLicenseUsage: usage reports, the license position and
	// cloudLicensing's allotments (Global and License Administrators, the
	// readers of reports).
	ReadLicenseUsage
	// ReadUsageRights: cloudLicensing usageRights of users: the readers of
	// ReadLicenseUsage and User Administrator.
	ReadUsageRights
	// WriteUsers: create, update and delete users (microsoft.directory/
	// users/create|delete|basic/update): User Administrator.
	WriteUsers
	// UpdateUsageLocation: change a user's usageLocation (users/
	// usageLocation/update): the user writers and License Administrator
	// (who may change nothing else: the PATCH handler checks WriteUsers for
	// the other properties).
	UpdateUsageLocation
	// AssignUserLicense: user assignLicense and reprocessLicenseAssignment
	// (microsoft.directory/users/assignLicense, users/
	// reprocessLicenseAssignment): License and User Administrators.
	AssignUserLicense
	// WriteGroups: create, update and delete groups, their membership rules
	// and members (microsoft.directory/groups/create|delete|basic/update|
	// members/update): Groups and User Administrators.
	WriteGroups
	// AssignGroupLicense: group assignLicense and reprocessing (microsoft.
	// directory/groups/assignLicense; the Graph reference lists Directory
	// Writers, Groups, License and User Administrators).
	AssignGroupLicense
	// RestoreDeletedItems: restore or permanently delete a deleted item
	// ("Restore deleted item": User.ReadWrite.All for users,
	// Group.ReadWrite.All for groups): the writers of users or of groups;
	// the handler then checks WriteUsers or WriteGroups for the item.
	RestoreDeletedItems
	// ManageLicensing: the tenant's licensing settings, usage ingestion,
	// position snapshots and prices, allotments (Global and License
	// Administrators).
	ManageLicensing
	// ManageTenant: tokens, custom products, bundle imports, domains
	// (microsoft.directory/domains/allProperties/allTasks: Domain Name
	// Administrator, which allot does not have, and Global Administrator).
	ManageTenant
	// SendBatch: POST /$batch. Any tenant principal may send a batch; each
	// request inside it is authorised on its own.
	SendBatch
	// BrowseScoped: the admin center's pages an allotment owner also sees,
	// narrowed to its scope (api/scope): the readers of the directory and
	// AllotmentOwner.
	BrowseScoped
	// OpenAdminCenter: the admin center's home page: the readers of reports
	// and AllotmentOwner.
	OpenAdminCenter
	// ReadAlerts: the tenant's alert rules, endpoints (without secrets),
	// alerts and delivery logs: the readers of reports (Entra's
	// Reports Reader reads alert-like report data; the directory readers
	// read everything).
	ReadAlerts
	// ManageAlerts: create, change and delete alert rules and endpoints,
	// send a test, queue a dead notification again (Global and License
	// Administrators, who manage the tenant's licensing).
	ManageAlerts
	// ReadReclamation: the tenant's reclamation campaigns and their
	// members (users, products, findings): the readers of the license
	// position (ReadLicenseUsage's roles).
	ReadReclamation
	// ManageReclamation: create, start, approve, cancel and restore
	// reclamation campaigns, which remove and give back users' licenses
	// (users/assignLicense: Global and License Administrators).
	ManageReclamation
)

var (
	directoryReaders = []string{RoleGlobalAdministrator, RoleLicenseAdministrator, RoleUserAdministrator,
		RoleGroupsAdministrator, RoleGlobalReader}
	usageReaders = []string{RoleGlobalAdministrator, RoleLicenseAdministrator, RoleGlobalReader, RoleReportsReader}
)

// roleTable is the (action, role) table.
var roleTable = map[Action][]string{
	ReadDirectory:       directoryReaders,
	ReadReports:         append(slices.Clone(directoryReaders), RoleReportsReader),
	ReadLicenseUsage:    usageReaders,
	ReadUsageRights:     append(slices.Clone(usageReaders), RoleUserAdministrator),
	WriteUsers:          {RoleGlobalAdministrator, RoleUserAdministrator},
	UpdateUsageLocation: {RoleGlobalAdministrator, RoleUserAdministrator, RoleLicenseAdministrator},
	AssignUserLicense:   {RoleGlobalAdministrator, RoleLicenseAdministrator, RoleUserAdministrator},
	WriteGroups:         {RoleGlobalAdministrator, RoleGroupsAdministrator, RoleUserAdministrator},
	AssignGroupLicense:  {RoleGlobalAdministrator, RoleLicenseAdministrator, RoleUserAdministrator, RoleGroupsAdministrator},
	RestoreDeletedItems: {RoleGlobalAdministrator, RoleUserAdministrator, RoleGroupsAdministrator},
	ManageLicensing:     {RoleGlobalAdministrator, RoleLicenseAdministrator},
	ManageTenant:        {RoleGlobalAdministrator},
	SendBatch:           TenantRoles,
	BrowseScoped:        append(slices.Clone(directoryReaders), RoleAllotmentOwner),
	OpenAdminCenter:     append(slices.Clone(directoryReaders), RoleReportsReader, RoleAllotmentOwner),
	ReadAlerts:          append(slices.Clone(directoryReaders), RoleReportsReader),
	ManageAlerts:        {RoleGlobalAdministrator, RoleLicenseAdministrator},
	ReadReclamation:     usageReaders,
	ManageReclamation:   {RoleGlobalAdministrator, RoleLicenseAdministrator},
}

// Can reports whether a principal may perform an action in a tenant. A
// partner administrator may do everything in every tenant (it acts as a
// Global Administrator of the customer's tenant, as a CSP's admin agents
// do); a tenant principal may act only in its own tenant, with a role the
// action lists. A nil principal may do nothing.
func Can(p *Principal, a Action, tenantID string) bool {
	switch {
	case p == nil:
		return false
	case p.IsPartner():
		return true
	case p.TenantID != tenantID:
		return false
	}
	return p.Has(roleTable[a]...)
}

// Roles lists the tenant roles that may perform an action (for messages).
func Roles(a Action) []string { return slices.Clone(roleTable[a]) }
