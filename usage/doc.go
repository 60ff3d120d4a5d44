// Package usage is allot's activation and usage data: parsers for
// the formats users already have, a curated feature map, and per-user
// aggregates maintained on ingest, so that no raw event is needed to answer
// a report.
//
// # Inputs
//
//   - Sign-ins ({"id","user","at","application","interactive"}, or Graph
//     signIn objects) record first, last and last interactive sign-in, the
//     days with a sign-in, and activate licenses.
//   - Feature events ({"id","user","feature","at"}) name a feature of the
//     map (data/features.json) or a service plan (servicePlanName or
//     servicePlanId). The feature litigationHold also marks the mailbox as
//     on hold.
//   - Microsoft 365 usage report CSVs (ParseReport; Report* constants):
//     each activity date counts as a use of the workload's feature on that
//     day; the mailbox report gives storage, archive, recipient type and, when
//     a column has it, litigation hold.
//
// All three arrive as JSON lines, a JSON array or {"value":[…]} (CSV for
// reports). Parsing is pure and happens before the command; Batch.Apply and
// Report.Apply run inside one Tenant.Do each — all or nothing — resolve
// users through the engine (id, userPrincipalName, or a concealed report
// name through the tenant's mapping) and update the aggregates. Rows that
// cannot be read are rejected with their line; users the tenant does not
// have are reported as unmatched, with the concealed hash when that is
// what the report gave.
//
// # Semantics
//
//   - A license is activated by the user's first activity at or after the
//     seat was granted (licensing.License.HeldSince): a sign-in, a feature
//     event, or a report activity date. A report date counts from the day of
//     the grant on (it has no time of day); the activation is then the later
//     of the grant and 00:00 of that day. A seat granted again (new
//     HeldSince) needs a new activation.
//   - Per user and feature: the evidence (Evidence: feature events and/or
//     usage reports, by report type — a set, united like the rest), first
//     and last use and the days of use (DaySet:
//     128 days ending on the latest; "active days in the n days ending on D"
//     for any D, exact while the window lies within those 128 days). A service
//     plan's use is the union of the uses of the features it grants; a
//     workload's last activity is the latest use of its features.
//   - Mailbox facts keep the newest report's values; a report older than the
//     facts changes nothing.
//   - Idempotency: every aggregate is a min, a max or a set, so ingesting the
//     same input twice changes nothing. Events with an id are also recognised
//     as duplicates among the last MaxEventIDs ids. A report is identified by
//     its type and Report Refresh Date: a re-import answers Duplicate.
//   - Times more than a day after the command's time are rejected; times
//     before 2000 are out of range. Stored instants have one-second
//     resolution.
//
// # Storage
//
// The aggregates are a tenant extension (usage.Extension, listed in
// tenant.Options.Extensions), kept in both copies of the tenant, rebuilt at load, persisted as a few objects
// (persist.go): per command one delta object with the users it changed, and
// at checkpoints the changed shards (about 256 users each). A store commits
// around 10⁵ objects per second, so one object per user would cap a report
// import at that rate; compact binary blobs keep a user at about 70 bytes on
// disk and a million-row report at one commit of about 4,000 objects.
// In memory, features and plans are 16-bit indexes into tables built once
// from the embedded feature map and Microsoft's catalog (they never grow),
// and the products an activation names are indexes into each copy's own
// SKU table, which grows only by that tenant's products, up to MaxSKUs (an
// ingest beyond it is refused with an error).
//
// # Reading
//
// Of(state) returns a tenant copy's Aggregates; User, ForEachUser and
// Reports read them (copies), Licenses gives a user's seats with
// assignedDateTime and activatedDateTime, and UserReportOf is the view of
// GET /allot/v1/usage/users/{id}. For walks over many users (the license
// position) walk.go reads without copying or allocating: View/UserView,
// ForEachPlanUse, ForEachFeatureUse. Call them inside Tenant.Read.
//
// # Cost
//
// A command runs once, on the writer's copy; the readers' copy loads the
// objects it persisted (a delta of the users it changed, or the shards of
// a checkpoint, the event-id chunks, the meta object) from the committed
// change, as a restart does. Large inputs are resolved against the engine
// on all processors. Shard and delta bodies
// are rendered once, straight into their base64 JSON, and stored with
// Tx.PersistRaw. Report CSVs are read without a string per record
// (csvread.go).
package usage
