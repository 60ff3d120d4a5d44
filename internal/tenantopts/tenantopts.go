// Package tenantopts is the one list of what allot's tenant runtimes are
// opened with beside their tuning: the tenant extensions (typed state
// other packages persist: usage aggregates, SCIM metadata, position
// snapshots), the read models built on every readers' copy (the directory
// index, SCIM's indexes) and the periodic maintenance tasks. `allot serve`,
// every CLI command that opens a runtime and the test set-ups
// (internal/tenanttest, api/apitest) pass it, so which stored objects load
// as typed state is this list, not which packages a binary happens to
// link. Adding an extension, index or task is one line here.
package tenantopts

import (
	"allot/deleteditems"
	"allot/directory"
	"allot/position/snapshotstore"
	"allot/scimmeta"
	"allot/subscription"
	"allot/tenant"
	"allot/usage"
)

// With returns o with allot's extensions, indexes and maintenance tasks
// (replacing any o lists).
func With(o tenant.Options) tenant.Options {
	o.Extensions = []tenant.Extension{usage.Extension, scimmeta.Extension, snapshotstore.Extension}
	o.Indexes = []tenant.IndexDecl{directory.IndexKey, scimmeta.UserIndex, scimmeta.GroupVersionIndex}
	o.Maintenance = []tenant.MaintenanceTask{subscription.Maintenance, deleteditems.Maintenance}
	return o
}
