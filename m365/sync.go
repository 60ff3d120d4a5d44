package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/audit"
	"allot/bundle"
	"allot/deleteditems"
	"allot/identity"
	"allot/licensing"
	"allot/subscription"
	"allot/tenant"
	"allot/userprop"
)

// SyncState is what the last sync of a connection did, as shown.
type SyncState struct {
	Kind        string     `json:"kind,omitempty"` // "full" or "delta"
	StartedAt   *time.Time `json:"startedDateTime,omitempty"`
	FinishedAt  *time.Time `json:"finishedDateTime,omitempty"`
	LastSuccess *time.Time `json:"lastSuccessDateTime,omitempty"`
	// Interrupted: a sync started and neither finished nor failed (the
	// process stopped); the next sync starts again from the last cursor.
	Interrupted         bool          `json:"interrupted,omitempty"`
	LastError           string        `json:"lastError,omitempty"`
	Users               int           `json:"users"`  // users read by the last sync
	Groups              int           `json:"groups"` // groups read by the last sync
	Removed             int           `json:"removed"`
	Requests            int64         `json:"requests"`
	Throttled           int64         `json:"throttled"`
	ThrottleWaitSeconds float64       `json:"throttleWaitSeconds"`
	SignInActivity      bool          `json:"signInActivity"` // the service served users' signInActivity
	Running             *ProgressView `json:"running,omitempty"`
	// Reports is the last reports sync (usage reports, SyncReports).
	Reports *ReportsState `json:"reports,omitempty"`
	// FullSync is how far a full sync that has not finished got (the
	// next sync goes on from there); nil when none is under way.
	FullSync *FullProgress `json:"fullSync,omitempty"`
}

// FullProgress is what a full sync that has not finished has applied:
// its stage ("groups", "users", "members" or "finish") and the users and
// groups applied so far.
type FullProgress struct {
	Stage  string `json:"stage"`
	Users  int    `json:"usersApplied"`
	Groups int    `json:"groupsApplied"`
}

// syncRecord is the stored state of a connection's syncs: what is shown,
// and the cursors (deltaLinks), which are stored only with the changes
// they lead to, in the same command.
type syncRecord struct {
	SyncState
	UsersDelta  string `json:"usersDelta,omitempty"`
	GroupsDelta string `json:"groupsDelta,omitempty"`
	// Subscriptions are the ids of the subscriptions the last sync read
	// from /directory/subscriptions: one no longer listed is deleted.
	Subscriptions []string `json:"subscriptions,omitempty"`
	// Gen is the generation of the last full sync that finished: the
	// marks a sync puts carry the generation (syncedMark.Gen).
	Gen int64 `json:"gen,omitempty"`
	// Full is the cursor of a full sync that has not finished (nil when
	// none): the next sync goes on from it.
	Full *fullCursor `json:"full,omitempty"`
}

// syncedMark marks a user or group that a connection syncs from Entra
// (its Entra-owned properties are read-only in allot). Direct lists the
// products Entra assigns the user directly (not those allot applied):
// the direct licenses the sync may remove.
type syncedMark struct {
	Conn   string   `json:"conn"`
	Direct []string `json:"direct,omitempty"`
	// Gen is the generation of the full sync that last read the object
	// (or, for an object a delta sync read, of the last finished full
	// sync): when a full sync finishes, the connection's marks of an
	// older generation are of objects Entra no longer has.
	Gen int64 `json:"gen,omitempty"`
}

// State returns a connection's sync state.
func State(s *tenant.State, connID string) SyncState {
	var r syncRecord
	if ok, _ := s.Decode(KindSyncState, connID, &r); !ok {
		return SyncState{}
	}
	st := r.SyncState
	if r.Full != nil {
		st.FullSync = &FullProgress{Stage: r.Full.Stage, Users: r.Full.Users, Groups: r.Full.Groups}
	}
	return st
}

// IsSyncedUser reports whether a user is synced from Microsoft Entra by a
// connection (its Entra-owned properties are read-only).
func IsSyncedUser(s *tenant.State, id string) bool {
	_, ok := s.Object(KindSynced, "user/"+id)
	return ok
}

// IsSyncedGroup reports whether a group is synced from Microsoft Entra.
func IsSyncedGroup(s *tenant.State, id string) bool {
	_, ok := s.Object(KindSynced, "group/"+id)
	return ok
}

// SyncedUser reports whether a connection syncs the user, and which.
func SyncedUser(s *tenant.State, userID string) (connID string, ok bool) {
	var m syncedMark
	if found, _ := s.Decode(KindSynced, "user/"+userID, &m); !found {
		return "", false
	}
	return m.Conn, true
}

// EntraDirect reports whether Entra assigns the product (a skuId) to a
// synced user directly: a license allot did not apply, which the sync
// brings back if allot removes it and plan/apply never removes in
// Microsoft 365.
func EntraDirect(s *tenant.State, userID, skuID string) bool {
	var m syncedMark
	if found, _ := s.Decode(KindSynced, "user/"+userID, &m); !found {
		return false
	}
	return slices.Contains(m.Direct, strings.ToLower(skuID))
}

// EntraOwnedUserFields are the user properties Entra owns on a synced user
// (Graph names): read-only in allot. They are the user-property registry's
// Entra properties (userprop.Property.Entra), in its order, and
// onPremisesExtensionAttributes, the complex property that holds Entra's
// extension attributes (kept as attributes, outside the registry).
var EntraOwnedUserFields = func() []string {
	var names []string
	for i := range userprop.Users {
		if userprop.Users[i].Entra {
			names = append(names, userprop.Users[i].Name)
		}
	}
	return append(names, "onPremisesExtensionAttributes")
}()

// EntraOwnedGroupFields are the group properties a sync brings from Entra.
var EntraOwnedGroupFields = []string{"displayName", "description", "mailNickname", "mailEnabled", "securityEnabled", "groupTypes",
	"membershipRule", "membershipRuleProcessingState"}

// ReadOnlyError is the refusal of a change to an Entra-owned property of a
// synced object.
func ReadOnlyError(kind, id, field string) error {
	return allot.Errorf(allot.EINVALID, "Property '%s' of %s %s is synced from Microsoft Entra and is read-only in allot; change it in Microsoft 365 "+
		"(the next sync brings it).", field, kind, id)
}

// Result is what one sync did.
type Result struct {
	Kind     string                `json:"kind"`
	Users    int                   `json:"users"`
	Groups   int                   `json:"groups"`
	Removed  int                   `json:"removed"`
	Imported licensing.ImportStats `json:"imported"`
	// Resumed: a full sync that went on from the stored cursor of one
	// stopped before (Imported counts only what this run applied).
	Resumed bool `json:"resumed,omitempty"`
	// Reports are the reports of a reports sync (Kind "reports").
	Reports []ReportResult `json:"reports,omitempty"`
	// SignIns counts the sign-ins the users' signInActivity added to the
	// tenant's usage (signins.go); one known before is not counted.
	SignIns int `json:"signIns,omitempty"`
}

// Env is what syncs and applies need besides the tenant.
type Env struct {
	Sealer  *Sealer
	Options ClientOptions
	// Now dates syncs and applies (nil: RT's clock).
	Now func() time.Time
	// Sleep replaces the client's waits (tests); nil: real time.
	Sleep func(ctx context.Context, d time.Duration) error
	// RT is the runtime the tenants are in: a domain synced from Entra is
	// refused when another tenant of it has the domain
	// (identity.AddTenantDomain).
	RT *tenant.Runtime
}

// now is Now, else the runtime's clock (RT), else the wall clock.
func (e *Env) now() time.Time {
	switch {
	case e.Now != nil:
		return e.Now().UTC()
	case e.RT != nil:
		return e.RT.Now().UTC()
	}
	return time.Now().UTC()
}

// client opens the connection's secret and returns its Graph client.
func (e *Env) client(c *Connection) (*Client, error) {
	var secret string
	if c.Credential != CredentialWorkloadIdentity { // the only credential without a sealed value
		var err error
		if secret, err = e.Sealer.Open(c.ID, c.Secret); err != nil {
			return nil, err
		}
	}
	cl, err := NewClient(c, secret, e.Options)
	if err != nil {
		return nil, err
	}
	cl.Sleep = e.Sleep
	return cl, nil
}

// Test gets a token and reads the organization's subscribedSkus: what a
// sync needs first. It changes nothing.
func Test(ctx context.Context, t *tenant.Tenant, env *Env, connID string) (int, error) {
	c, err := read(t, connID)
	if err != nil {
		return 0, err
	}
	cl, err := env.client(c)
	if err != nil {
		return 0, err
	}
	var p struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := cl.Do(ctx, "GET", "/subscribedSkus", nil, &p); err != nil {
		return 0, err
	}
	return len(p.Value), nil
}

func read(t *tenant.Tenant, connID string) (*Connection, error) {
	var c *Connection
	var err error
	t.Read(func(s *tenant.State) { c, err = Get(s, connID) })
	return c, err
}

// remote is what one sync read, or one page of a full sync: the objects
// read (whole), and the removed ones.
type remote struct {
	skus          []byte
	users         []json.RawMessage
	groups        []json.RawMessage
	members       map[string][]string
	removedUsers  []string
	removedGroups []string
	usersDelta    string
	groupsDelta   string
	domains       []string // verified domains
	// subs are /directory/subscriptions, when the service serves them
	// (subsOK): the products' units and terms instead of prepaidUnits.
	subs   []subscription.Subscription
	subsOK bool
}

// Sync brings the Microsoft tenant's directory and licenses into the
// allot tenant: a full sync the first time (and when a deltaLink
// expired), then the changes since the stored deltaLinks.
//
// A delta sync is applied as one command (bundle.ApplyWithin: the
// removals, the import of what was read, the marks and the new cursor),
// so a delta sync killed at any point leaves the tenant at the previous
// sync and the next one starts from the previous cursor. A full sync is
// applied page by page as it is read (fullSync), each page in one command
// with the stored cursor of the full sync: killed, the next sync goes on
// from the first page not applied. Progress is reported to p (may be nil).
func Sync(ctx context.Context, t *tenant.Tenant, env *Env, connID string, p *Progress, actor string) (res Result, err error) {
	if p == nil {
		p = &Progress{}
	}
	c, err := read(t, connID)
	if err != nil {
		return res, err
	}
	cl, err := env.client(c)
	if err != nil {
		return res, err
	}
	p.setClient(cl)
	sc := &syncRun{t: t, env: env, connID: connID, actor: actor, cl: cl, p: p, applied: map[string]bool{}, stored: map[string]subscription.Subscription{},
		f: &fetcher{c: cl, progress: p, signIns: true}}
	t.Read(func(s *tenant.State) {
		_, _ = s.Decode(KindSyncState, connID, &sc.rec)
		subs, _ := subscription.List(s)
		for _, sub := range subs {
			sc.stored[sub.ID] = sub
		}
		for _, a := range appliedOf(s, connID) {
			sc.applied[a.UserID+"/"+strings.ToLower(a.SKUID)] = true
		}
	})
	start := env.now()
	if err := putRecord(ctx, t, actor, start, connID, func(r *syncRecord) {
		r.StartedAt, r.FinishedAt, r.Interrupted = &start, nil, false
	}); err != nil {
		return res, err
	}
	kind := "full"
	defer func() {
		result := "ok"
		if err != nil {
			result = "error"
			msg := err.Error()
			end := env.now()
			if perr := putRecord(context.WithoutCancel(ctx), t, actor, end, connID, func(r *syncRecord) {
				r.Kind, r.FinishedAt, r.LastError = kind, &end, msg
				r.Requests, r.Throttled, r.ThrottleWaitSeconds = cl.Stats.Requests.Load(), cl.Stats.Throttled.Load(), secondsOf(cl.Stats.WaitNanos.Load())
			}); perr != nil {
				err = errors.Join(err, perr)
			}
		}
		syncsTotal.WithLabelValues(kind, result).Inc()
	}()
	if sc.rec.Full == nil && sc.rec.UsersDelta != "" && sc.rec.GroupsDelta != "" {
		kind = "delta"
		p.setPhase("reading changes")
		r, err := sc.f.readDelta(ctx, &sc.rec)
		switch {
		case errors.Is(err, errExpired):
			kind = "full"
		case err != nil:
			return res, err
		default:
			return sc.applyDelta(ctx, r)
		}
	}
	return sc.full(ctx)
}

// syncRun is one sync of a connection: what it read of the tenant
// before it started, and its client.
type syncRun struct {
	t       *tenant.Tenant
	env     *Env
	connID  string
	actor   string
	cl      *Client
	p       *Progress
	f       *fetcher
	rec     syncRecord                           // the stored record when the sync started
	applied map[string]bool                      // "userId/skuId" of licenses allot applied
	stored  map[string]subscription.Subscription // the tenant's subscriptions by id
}

// stats writes the client's request counts into a record.
func (sc *syncRun) stats(rc *syncRecord) {
	rc.Requests, rc.Throttled, rc.ThrottleWaitSeconds = sc.cl.Stats.Requests.Load(), sc.cl.Stats.Throttled.Load(), secondsOf(sc.cl.Stats.WaitNanos.Load())
}

// useSubscriptions gives the bundle the subscriptions read (with the
// terms allot keeps and the deleted ones no longer listed) when the
// service serves them; it returns the ids to store as listed.
func (sc *syncRun) useSubscriptions(b *bundle.Bundle, r *remote) []string {
	if !r.subsOK {
		return sc.rec.Subscriptions
	}
	var subIDs []string
	subs := withTerms(r.subs, sc.stored)
	listed := map[string]bool{}
	for _, s := range subs {
		listed[s.ID] = true
		subIDs = append(subIDs, s.ID)
	}
	for _, id := range sc.rec.Subscriptions {
		if cur, ok := sc.stored[id]; ok && !listed[id] && cur.Status != subscription.StatusDeleted {
			cur.Status = subscription.StatusDeleted
			subs = append(subs, cur)
		}
	}
	b.UseSubscriptions(subs, "directory/subscriptions")
	return subIDs
}

// putMarks puts the marks that differ from the stored ones.
func putMarks(tx *tenant.Tx, marks map[string]syncedMark) error {
	for id, m := range marks {
		var cur syncedMark
		if ok, _ := tx.Decode(KindSynced, id, &cur); ok && cur.Conn == m.Conn && cur.Gen == m.Gen && slices.Equal(cur.Direct, m.Direct) {
			continue
		}
		if err := tx.Put(KindSynced, id, m); err != nil {
			return err
		}
	}
	return nil
}

// applyDelta applies what a delta sync read as one command.
func (sc *syncRun) applyDelta(ctx context.Context, r *remote) (res Result, err error) {
	const kind = "delta"
	sc.p.setPhase("applying")
	if err := syncDomains(ctx, sc.t, sc.env, r.domains, sc.actor); err != nil {
		return res, err
	}
	b, marks, err := r.bundle(sc.connID, sc.applied, sc.rec.Gen)
	if err != nil {
		return res, err
	}
	subIDs := sc.useSubscriptions(b, r)
	res = Result{Kind: kind, Users: len(r.users), Groups: len(r.groups)}
	now := sc.env.now()
	var removed int
	before := func(tx *tenant.Tx) error {
		n, err := r.remove(tx, sc.connID)
		removed = n
		return err
	}
	after := func(tx *tenant.Tx) error {
		if err := putMarks(tx, marks); err != nil {
			return err
		}
		n, err := applySignIns(tx, r.users)
		if err != nil {
			return err
		}
		res.SignIns = n
		var rc syncRecord
		_, _ = tx.Decode(KindSyncState, sc.connID, &rc)
		rc.Kind, rc.FinishedAt, rc.LastSuccess, rc.LastError, rc.Interrupted = kind, &now, &now, "", false
		rc.Users, rc.Groups, rc.SignInActivity = len(r.users), len(r.groups), sc.f.signIns
		sc.stats(&rc)
		rc.UsersDelta, rc.GroupsDelta = r.usersDelta, r.groupsDelta
		rc.Subscriptions = subIDs
		rc.Removed = removed
		if err := tx.Put(KindSyncState, sc.connID, rc); err != nil {
			return err
		}
		tx.Audit(auditEntry("Sync from Microsoft 365", sc.connID, fmt.Sprintf("%s sync: %d users, %d groups read", kind, len(r.users), len(r.groups))))
		return nil
	}
	stats, err := bundle.ApplyWithin(ctx, sc.t, b, sc.actor, now, before, after)
	if err != nil {
		return res, fmt.Errorf("applying the sync: %w", err)
	}
	res.Imported, res.Removed = stats, removed
	sc.p.setPhase("done")
	return res, nil
}

func secondsOf(n int64) float64 { return float64(n) / 1e9 }

// putRecord changes a connection's stored sync record in a command of its
// own.
func putRecord(ctx context.Context, t *tenant.Tenant, actor string, now time.Time, connID string, fn func(*syncRecord)) error {
	return t.Do(ctx, licensing.Op{Actor: actor, Now: now, Why: "Microsoft 365 sync"}, func(tx *tenant.Tx) error {
		if _, err := Get(tx.State, connID); err != nil {
			return err
		}
		var r syncRecord
		_, _ = tx.Decode(KindSyncState, connID, &r)
		fn(&r)
		return tx.Put(KindSyncState, connID, r)
	})
}

// readRest reads, for the groups r has read, their members, and the
// tenant's products, subscriptions and domains.
func (f *fetcher) readRest(ctx context.Context, r *remote) error {
	var err error
	if r.members, err = f.members(ctx, idsOf(r.groups)); err != nil {
		return err
	}
	if r.skus, err = f.skus(ctx); err != nil {
		return err
	}
	if r.subs, r.subsOK, err = f.subscriptions(ctx); err != nil {
		return err
	}
	r.domains, err = f.domains(ctx)
	return err
}

// readDelta reads what changed since the stored deltaLinks: the changed
// objects are read again whole (by id, in JSON batches), so a delta
// page's partial objects are never taken for whole ones.
func (f *fetcher) readDelta(ctx context.Context, rec *syncRecord) (*remote, error) {
	r := &remote{}
	f.signIns = rec.SignInActivity
	cu, ru, nu, err := f.changes(ctx, rec.UsersDelta)
	if err != nil {
		return nil, err
	}
	cg, rg, ng, err := f.changes(ctx, rec.GroupsDelta)
	if err != nil {
		return nil, err
	}
	r.usersDelta, r.groupsDelta = nu, ng
	if nu == "" || ng == "" {
		return nil, errExpired
	}
	var gone []string
	r.users, gone, err = f.byID(ctx, "users", f.userFields(), cu)
	if err != nil && f.signIns && refusesProperty(err) {
		// The service no longer gives signInActivity (the licence or the
		// permission was withdrawn since the full sync that read it): the
		// users without it, as a full sync does.
		f.signIns = false
		r.users, gone, err = f.byID(ctx, "users", f.userFields(), cu)
	}
	if err != nil {
		return nil, err
	}
	f.progress.addUsers(len(r.users))
	r.removedUsers = append(ru, gone...)
	if r.groups, gone, err = f.byID(ctx, "groups", groupSelect, cg); err != nil {
		return nil, err
	}
	f.progress.addGroups(len(r.groups))
	r.removedGroups = append(rg, gone...)
	return r, f.readRest(ctx, r)
}

// syncDomains adds the Microsoft tenant's verified domains that the allot
// tenant lacks (its users' userPrincipalNames must be in them), each as
// the domains API adds one. Domains are never removed by a sync.
func syncDomains(ctx context.Context, t *tenant.Tenant, env *Env, names []string, actor string) error {
	var missing []string
	t.Read(func(s *tenant.State) {
		for _, n := range names {
			if _, ok := identity.GetDomain(s, n); !ok {
				missing = append(missing, n)
			}
		}
	})
	for _, n := range missing {
		op := licensing.Op{Actor: actor, Now: env.now(), Why: "Microsoft 365 sync"}
		var err error
		if env.RT != nil {
			_, err = identity.AddTenantDomain(ctx, env.RT, t, op, n)
		} else {
			err = t.Do(ctx, op, func(tx *tenant.Tx) error { _, err := identity.AddDomain(tx, n, false); return err })
		}
		if err != nil {
			return fmt.Errorf("adding domain %s of the Microsoft tenant: %w", n, err)
		}
	}
	return nil
}

func idsOf(objs []json.RawMessage) []string {
	ids := make([]string, 0, len(objs))
	for _, o := range objs {
		var d deltaItem
		if json.Unmarshal(o, &d) == nil && d.ID != "" {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// remoteLicense is a license as Graph lists it on a user or group.
type remoteLicense struct {
	SKUID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

type remoteState struct {
	SKUID           string  `json:"skuId"`
	AssignedByGroup *string `json:"assignedByGroup"`
}

// bundle turns what was read into the Graph JSON pages bundle.FromGraph
// takes (the one mapping of Graph objects, grant dates included, that
// allot import graph uses), with the members, and leaves out of each user
// the direct licenses allot applied (they are allot's decision, not
// Entra's). It returns the marks to put.
func (r *remote) bundle(connID string, applied map[string]bool, gen int64) (*bundle.Bundle, map[string]syncedMark, error) {
	marks := make(map[string]syncedMark, len(r.users)+len(r.groups))
	users := make([]json.RawMessage, 0, len(r.users))
	for _, raw := range r.users {
		b, id, direct, err := ownLicenses(raw, applied)
		if err != nil {
			return nil, nil, err
		}
		users = append(users, b)
		marks["user/"+id] = syncedMark{Conn: connID, Direct: direct, Gen: gen}
	}
	groups := make([]json.RawMessage, 0, len(r.groups))
	for _, raw := range r.groups {
		var g map[string]json.RawMessage
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, nil, allot.Errorf(allot.EINVALID, "Microsoft Graph returned a group that is not an object: %v", err)
		}
		var id string
		_ = json.Unmarshal(g["id"], &id)
		if r.members != nil {
			ms := make([]map[string]string, 0, len(r.members[id]))
			for _, m := range r.members[id] {
				ms = append(ms, map[string]string{"id": m})
			}
			g["members"], _ = json.Marshal(ms)
		}
		b, _ := json.Marshal(g)
		groups = append(groups, b)
		marks["group/"+id] = syncedMark{Conn: connID, Gen: gen}
	}
	up, _ := json.Marshal(map[string]any{"value": users})
	gp, _ := json.Marshal(map[string]any{"value": groups})
	skus := map[string][]byte{}
	if r.skus != nil {
		skus["subscribedSkus"] = r.skus
	}
	b, err := bundle.FromGraph(map[string][]byte{"users": up}, map[string][]byte{"groups": gp}, skus)
	return b, marks, err
}

// ownLicenses returns a Graph user (raw) without the direct licenses
// allot applied (applied: "userId/skuId"), with its id and the products
// Entra assigns it directly (lower case, sorted).
func ownLicenses(raw json.RawMessage, applied map[string]bool) (json.RawMessage, string, []string, error) {
	var u map[string]json.RawMessage
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, "", nil, allot.Errorf(allot.EINVALID, "Microsoft Graph returned a user that is not an object: %v", err)
	}
	var id string
	_ = json.Unmarshal(u["id"], &id)
	if id == "" {
		return nil, "", nil, allot.Errorf(allot.EINVALID, "Microsoft Graph returned a user without an id.")
	}
	var ls []remoteLicense
	var states []json.RawMessage
	_ = json.Unmarshal(u["assignedLicenses"], &ls)
	_ = json.Unmarshal(u["licenseAssignmentStates"], &states)
	direct := map[string]bool{}
	keptStates := states[:0:0]
	for _, s := range states {
		var st remoteState
		_ = json.Unmarshal(s, &st)
		isDirect := st.AssignedByGroup == nil || *st.AssignedByGroup == ""
		if isDirect && applied[id+"/"+strings.ToLower(st.SKUID)] {
			continue
		}
		if isDirect {
			direct[strings.ToLower(st.SKUID)] = true
		}
		keptStates = append(keptStates, s)
	}
	keptLs := ls[:0:0]
	for _, l := range ls {
		k := strings.ToLower(l.SKUID)
		if applied[id+"/"+k] && !stateHas(keptStates, k) {
			continue
		}
		if len(states) == 0 {
			direct[k] = true
		}
		keptLs = append(keptLs, l)
	}
	if len(states) > 0 {
		u["licenseAssignmentStates"], _ = json.Marshal(keptStates)
	}
	u["assignedLicenses"], _ = json.Marshal(keptLs)
	b, _ := json.Marshal(u)
	return b, id, sortedSet(direct), nil
}

func stateHas(states []json.RawMessage, sku string) bool {
	for _, s := range states {
		var st remoteState
		if json.Unmarshal(s, &st) == nil && strings.EqualFold(st.SKUID, sku) {
			return true
		}
	}
	return false
}

// remove applies what the sync read as gone, before the import: synced
// users and groups that Entra no longer has (deleted as Graph deletes
// them, into the deleted items), members that left the groups read, group
// licenses Entra removed, and the direct licenses Entra removed from the
// users read. Objects and licenses that are allot's own are never
// touched.
func (r *remote) remove(tx *tenant.Tx, connID string) (int, error) {
	mine := mineOf(tx, connID)
	n, err := r.removeGone(tx, mine)
	if err != nil {
		return n, err
	}
	// Members and licenses of the groups read.
	for _, raw := range r.groups {
		k, err := removeGroupMembers(tx, raw, r.members, mine)
		n += k
		if err != nil {
			return n, err
		}
		k, err = removeGroupLicenses(tx, raw, mine)
		n += k
		if err != nil {
			return n, err
		}
	}
	// Direct licenses Entra removed from the users read.
	for _, raw := range r.users {
		k, err := removeUserLicenses(tx, raw, connID)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// removeGone deletes the synced groups and users (mine says which marks
// are this connection's) that a delta read as removed. It returns how
// many it deleted.
func (r *remote) removeGone(tx *tenant.Tx, mine func(string) bool) (int, error) {
	return removeObjects(tx, mine, r.removedUsers, r.removedGroups)
}

// removeObjects deletes synced groups and users of the connection (mine
// says which marks are its) and their marks, groups first. It returns how
// many it deleted.
func removeObjects(tx *tenant.Tx, mine func(string) bool, goneUsers, goneGroups []string) (int, error) {
	n := 0
	for _, id := range goneGroups {
		if !mine("group/" + id) {
			continue
		}
		if tx.Engine.IsGroup(id) {
			if err := deleteditems.DeleteGroup(tx, id); err != nil {
				return n, fmt.Errorf("removing group %s: %w", id, err)
			}
			n++
		}
		tx.Delete(KindSynced, "group/"+id)
	}
	for _, id := range goneUsers {
		if !mine("user/" + id) {
			continue
		}
		if _, ok := tx.Engine.User(id); ok {
			if err := deleteditems.DeleteUser(tx, id); err != nil {
				return n, fmt.Errorf("removing user %s: %w", id, err)
			}
			n++
		}
		tx.Delete(KindSynced, "user/"+id)
	}
	return n, nil
}

// removeGroupMembers removes from one synced group read (raw, its Graph
// JSON) the members it no longer has in members (assigned groups only).
// It returns how many it removed.
func removeGroupMembers(tx *tenant.Tx, raw json.RawMessage, members map[string][]string, mine func(string) bool) (int, error) {
	var g struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &g)
	if !mine("group/"+g.ID) || !tx.Engine.IsGroup(g.ID) {
		return 0, nil
	}
	if lg, _ := tx.Engine.Group(g.ID); lg.IsDynamic() {
		return 0, nil
	}
	want := setOf(members[g.ID])
	us, gs := tx.Engine.Members(g.ID)
	var drop []string
	for _, m := range append(us, gs...) {
		if !want[m] {
			drop = append(drop, m)
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	sort.Strings(drop)
	if err := tx.Engine.RemoveMembers(tx.Op, g.ID, drop); err != nil {
		return 0, fmt.Errorf("removing members of group %s: %w", g.ID, err)
	}
	return len(drop), nil
}

// removeGroupLicenses removes from one synced group read (raw, its Graph
// JSON) the group licenses Entra removed, leaving allotment licenses
// alone. It returns how many it removed.
func removeGroupLicenses(tx *tenant.Tx, raw json.RawMessage, mine func(string) bool) (int, error) {
	n := 0
	var g struct {
		ID       string          `json:"id"`
		Licenses []remoteLicense `json:"assignedLicenses"`
	}
	_ = json.Unmarshal(raw, &g)
	if !mine("group/"+g.ID) || !tx.Engine.IsGroup(g.ID) {
		return 0, nil
	}
	want := map[string]bool{}
	for _, l := range g.Licenses {
		want[strings.ToLower(l.SKUID)] = true
	}
	var drop []string
	for _, l := range tx.Engine.GroupLicenses(g.ID) {
		if l.AllotmentID == "" && !want[strings.ToLower(l.SKUID)] {
			drop = append(drop, l.SKUID)
		}
	}
	if len(drop) > 0 {
		if err := tx.Engine.AssignGroupLicenses(tx.Op, g.ID, nil, drop); err != nil {
			return n, fmt.Errorf("removing licenses of group %s: %w", g.ID, err)
		}
		n += len(drop)
	}
	return n, nil
}

// removeUserLicenses removes from one synced user read (raw, its Graph
// JSON) the direct licenses the sync assigned that Entra no longer
// assigns directly; licenses from an allotment or assigned in allot are
// kept. It returns how many it removed.
func removeUserLicenses(tx *tenant.Tx, raw json.RawMessage, connID string) (int, error) {
	var u struct {
		ID     string          `json:"id"`
		States []remoteState   `json:"licenseAssignmentStates"`
		Ls     []remoteLicense `json:"assignedLicenses"`
	}
	_ = json.Unmarshal(raw, &u)
	var m syncedMark
	if ok, _ := tx.Decode(KindSynced, "user/"+u.ID, &m); !ok || m.Conn != connID {
		return 0, nil
	}
	has := map[string]bool{}
	for _, s := range u.States {
		if s.AssignedByGroup == nil || *s.AssignedByGroup == "" {
			has[strings.ToLower(s.SKUID)] = true
		}
	}
	if len(u.States) == 0 {
		for _, l := range u.Ls {
			has[strings.ToLower(l.SKUID)] = true
		}
	}
	var drop []string
	for _, l := range tx.Engine.DirectLicenses(u.ID) {
		k := strings.ToLower(l.SKUID)
		if l.AllotmentID == "" && slices.Contains(m.Direct, k) && !has[k] {
			drop = append(drop, l.SKUID)
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	if err := tx.Engine.AssignUserLicenses(tx.Op, u.ID, nil, drop); err != nil {
		return 0, fmt.Errorf("removing licenses of user %s: %w", u.ID, err)
	}
	return len(drop), nil
}

// mineOf says which marks ("user/<id>", "group/<id>") are the
// connection's.
func mineOf(tx *tenant.Tx, connID string) func(string) bool {
	return func(id string) bool {
		var m syncedMark
		ok, _ := tx.Decode(KindSynced, id, &m)
		return ok && m.Conn == connID
	}
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func auditEntry(action, connID, detail string) audit.Entry {
	return audit.Entry{Action: action, Why: "Microsoft 365 connection " + connID, Detail: detail}
}

// Progress is a running sync's progress, safe for concurrent use.
type Progress struct {
	mu     sync.Mutex
	phase  string
	users  int
	groups int
	client *Client
	// OnChange, when set, is called after every change (the CLI draws it).
	OnChange func(ProgressView)
}

// ProgressView is a snapshot of a Progress.
type ProgressView struct {
	Phase     string `json:"phase"`
	Users     int    `json:"usersRead"`
	Groups    int    `json:"groupsRead"`
	Requests  int64  `json:"requests"`
	Throttled int64  `json:"throttled"`
}

// View returns the progress so far.
func (p *Progress) View() ProgressView {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := ProgressView{Phase: p.phase, Users: p.users, Groups: p.groups}
	if p.client != nil {
		v.Requests, v.Throttled = p.client.Stats.Requests.Load(), p.client.Stats.Throttled.Load()
	}
	return v
}

func (p *Progress) changed() {
	if p.OnChange != nil {
		p.OnChange(p.View())
	}
}

// setClient makes the client's request counts part of the progress.
func (p *Progress) setClient(c *Client) {
	p.mu.Lock()
	p.client = c
	p.mu.Unlock()
}

func (p *Progress) setPhase(s string) {
	p.mu.Lock()
	p.phase = s
	p.mu.Unlock()
	p.changed()
}

// setCounts sets the users and groups read so far (a full sync going on
// from its stored cursor starts from what it had applied).
func (p *Progress) setCounts(users, groups int) {
	p.mu.Lock()
	p.users, p.groups = users, groups
	p.mu.Unlock()
	p.changed()
}

func (p *Progress) addUsers(n int) {
	syncObjects.WithLabelValues("user").Add(float64(n))
	p.mu.Lock()
	p.users += n
	p.mu.Unlock()
	p.changed()
}

func (p *Progress) addGroups(n int) {
	syncObjects.WithLabelValues("group").Add(float64(n))
	p.mu.Lock()
	p.groups += n
	p.mu.Unlock()
	p.changed()
}

// CheckPatch refuses a change of an Entra-owned property of a synced user
// (kind "user") or group (kind "group"): names are the request's property
// names by lower-case name. The first such property in alphabetical order
// is named.
func CheckPatch(s *tenant.State, kind, id string, names map[string]string) error {
	owned := EntraOwnedUserFields
	if kind == "group" {
		owned = EntraOwnedGroupFields
	}
	if _, ok := s.Object(KindSynced, kind+"/"+id); !ok {
		return nil
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, f := range owned {
			if strings.EqualFold(k, f) {
				return ReadOnlyError(kind, id, names[k])
			}
		}
	}
	return nil
}
