package m365

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"allot/bundle"
	"allot/licensing"
	"allot/tenant"
)

// A full sync reads and applies the directory in stages, each page of
// Graph (at most pageSize objects) in one command with the stored cursor
// of the full sync (fullCursor), so that a full sync stopped anywhere (kill
// -9 included) goes on from the first page it had not applied, no page is
// applied twice, and no more than a page of the directory is in memory:
//
//   - start: the deltaLinks are taken (before anything is read, so that a
//     change made while the directory is read comes again in the next
//     delta sync), then the products (subscribedSkus), subscriptions and
//     domains are applied, with the cursor at the groups stage;
//   - groups: each page of /groups with its licenses, without members (a
//     member may be a group of a later page);
//   - users: each page of /users with its licenses and grant dates;
//   - members: each page of /groups again, with the members of its groups
//     (a member that is no user or group here yet — created in Entra while
//     the sync ran — is left for the next delta sync, which reads it);
//   - dates: when a group read carries licenses, each page of /users again
//     for the grant dates of the seats the memberships granted
//     (licensing.Engine.SetGrantDates: only seats without a grant date);
//   - finish: one command removes the synced users and groups that no
//     stage read (their marks are of an older generation), and stores the
//     deltaLinks: the full sync is over.
//
// Each stage removes what its pages say is gone as a delta sync does
// (licenses Entra removed from the groups and users read, members that
// left the groups read). A stored nextLink the service no longer accepts
// (400, 404, 410) starts its stage again from the first page: applying a
// page again changes nothing.
const (
	stageGroups  = "groups"
	stageUsers   = "users"
	stageMembers = "members"
	stageDates   = "dates"
	stageFinish  = "finish"
)

// fullCursor is the stored cursor of a full sync that has not finished.
type fullCursor struct {
	Gen   int64  `json:"gen"`            // the generation its marks carry
	Stage string `json:"stage"`          // the stage it is in
	Next  string `json:"next,omitempty"` // the stage's next page (a nextLink); "": its first page
	// The deltaLinks taken before the directory was read ("": the service
	// has no delta queries).
	UsersDelta  string `json:"usersDelta,omitempty"`
	GroupsDelta string `json:"groupsDelta,omitempty"`
	SignIns     bool   `json:"signIns"` // users' signInActivity is read
	// GroupLicenses: a group read carries licenses (the dates stage is
	// needed).
	GroupLicenses bool `json:"groupLicenses,omitempty"`
	Users         int  `json:"users"`   // users applied
	Groups        int  `json:"groups"`  // groups applied
	Removed       int  `json:"removed"` // members and licenses removed
}

// full runs a full sync, from the stored cursor when one is under way.
func (sc *syncRun) full(ctx context.Context) (Result, error) {
	res := Result{Kind: "full"}
	cur := sc.rec.Full
	res.Resumed = cur != nil
	if cur == nil {
		var err error
		if cur, err = sc.startFull(ctx, &res); err != nil {
			return res, err
		}
	}
	sc.f.signIns = cur.SignIns
	sc.p.setCounts(cur.Users, cur.Groups)
	for cur.Stage != stageFinish {
		if err := sc.fullStage(ctx, cur, &res); err != nil {
			return res, err
		}
	}
	return sc.finishFull(ctx, cur, res)
}

// startFull takes the deltaLinks and applies the products, subscriptions
// and domains, with a new cursor at the groups stage.
func (sc *syncRun) startFull(ctx context.Context, res *Result) (*fullCursor, error) {
	f := sc.f
	cur := &fullCursor{Gen: sc.rec.Gen + 1, Stage: stageGroups, SignIns: true}
	var err error
	if cur.UsersDelta, err = f.deltaLatest(ctx, "users"); err != nil {
		return nil, err
	}
	if cur.GroupsDelta, err = f.deltaLatest(ctx, "groups"); err != nil {
		return nil, err
	}
	if cur.UsersDelta == "" || cur.GroupsDelta == "" {
		cur.UsersDelta, cur.GroupsDelta = "", ""
	}
	sc.p.setPhase("reading products")
	r := &remote{}
	if r.skus, err = f.skus(ctx); err != nil {
		return nil, err
	}
	if r.subs, r.subsOK, err = f.subscriptions(ctx); err != nil {
		return nil, err
	}
	if r.domains, err = f.domains(ctx); err != nil {
		return nil, err
	}
	if err := syncDomains(ctx, sc.t, sc.env, r.domains, sc.actor); err != nil {
		return nil, err
	}
	b, _, err := r.bundle(sc.connID, sc.applied, cur.Gen)
	if err != nil {
		return nil, err
	}
	subIDs := sc.useSubscriptions(b, r)
	st, err := bundle.ApplyWithin(ctx, sc.t, b, sc.actor, sc.env.now(), nil, func(tx *tenant.Tx) error {
		return sc.putCursor(tx, func(rc *syncRecord) { rc.Full, rc.Subscriptions = cur, subIDs })
	})
	if err != nil {
		return nil, fmt.Errorf("applying the products: %w", err)
	}
	addStats(&res.Imported, st)
	return cur, nil
}

// putCursor changes the stored record in a command (the request counts
// of this run with it); a connection deleted meanwhile refuses the
// command, which stops the sync.
func (sc *syncRun) putCursor(tx *tenant.Tx, fn func(*syncRecord)) error {
	if _, err := Get(tx.State, sc.connID); err != nil {
		return err
	}
	var rc syncRecord
	_, _ = tx.Decode(KindSyncState, sc.connID, &rc)
	fn(&rc)
	sc.stats(&rc)
	return tx.Put(KindSyncState, sc.connID, rc)
}

// stageURL is the first page of a stage.
func (sc *syncRun) stageURL(stage string) string {
	switch stage {
	case stageUsers:
		return fmt.Sprintf("/users?$select=%s&$top=%d", sc.f.userFields(), pageSize)
	case stageDates:
		return fmt.Sprintf("/users?$select=id,assignedLicenses,licenseAssignmentStates,assignedPlans&$top=%d", pageSize)
	default:
		return fmt.Sprintf("/groups?$select=%s&$top=%d", groupSelect, pageSize)
	}
}

// nextStage is the stage after one.
func (c *fullCursor) nextStage() string {
	switch c.Stage {
	case stageGroups:
		return stageUsers
	case stageUsers:
		return stageMembers
	case stageMembers:
		if c.GroupLicenses {
			return stageDates
		}
	}
	return stageFinish
}

var stagePhases = map[string]string{stageGroups: "reading groups", stageUsers: "reading users", stageMembers: "reading members",
	stageDates: "reading grant dates"}

// fullStage reads and applies the pages of the cursor's stage, from its
// stored nextLink, until the stage ends (the cursor then is at the next
// stage) or fails.
func (sc *syncRun) fullStage(ctx context.Context, cur *fullCursor, res *Result) error {
	sc.p.setPhase(stagePhases[cur.Stage])
	first, resumed := cur.Next, cur.Next != ""
	if first == "" {
		first = sc.stageURL(cur.Stage)
	}
	applied := 0
	err := sc.cl.Pages(ctx, first, func(items []json.RawMessage, next, _ string) error {
		applied++
		return sc.applyPage(ctx, cur, items, next, res)
	})
	switch {
	case err == nil || applied > 0:
		return err
	case cur.Stage == stageUsers && sc.f.signIns && refusesProperty(err):
		// The service refuses signInActivity: the users without it.
		sc.f.signIns, cur.SignIns, cur.Next = false, false, ""
		return nil
	case resumed && expiredLink(err):
		// The stored nextLink is no longer accepted: the stage again.
		cur.Next = ""
		switch cur.Stage {
		case stageGroups:
			cur.Groups = 0
		case stageUsers:
			cur.Users = 0
		}
		sc.p.setCounts(cur.Users, cur.Groups)
		return nil
	}
	return err
}

// expiredLink reports an answer to a stored nextLink that the service no
// longer accepts.
func expiredLink(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	return ge.Status == http.StatusBadRequest || ge.Status == http.StatusNotFound || ge.Status == http.StatusGone
}

// applyPage applies one page of a stage in one command with the cursor
// that follows it; cur becomes that cursor once the command is durable.
func (sc *syncRun) applyPage(ctx context.Context, cur *fullCursor, items []json.RawMessage, next string, res *Result) error {
	after := *cur
	after.Next = next
	if next == "" {
		after.Next, after.Stage = "", cur.nextStage()
	}
	if cur.Stage == stageDates {
		return sc.applyDates(ctx, cur, &after, items)
	}
	r := &remote{}
	var remove func(tx *tenant.Tx) (int, error)
	switch cur.Stage {
	case stageGroups:
		r.groups = items
		after.Groups += len(items)
		after.GroupLicenses = cur.GroupLicenses || hasLicenses(items)
		sc.p.addGroups(len(items))
		remove = func(tx *tenant.Tx) (int, error) { return eachRead(r.groups, tx, sc.connID, removeGroupLicenses) }
	case stageUsers:
		r.users = items
		after.Users += len(items)
		sc.p.addUsers(len(items))
		remove = func(tx *tenant.Tx) (int, error) {
			n := 0
			for _, raw := range r.users {
				k, err := removeUserLicenses(tx, raw, sc.connID)
				if n += k; err != nil {
					return n, err
				}
			}
			return n, nil
		}
	case stageMembers:
		r.groups = items
		ms, err := sc.f.members(ctx, idsOf(items))
		if err != nil {
			return err
		}
		r.members = sc.known(ms, items)
		remove = func(tx *tenant.Tx) (int, error) {
			return eachRead(r.groups, tx, sc.connID, func(tx *tenant.Tx, raw json.RawMessage, mine func(string) bool) (int, error) {
				return removeGroupMembers(tx, raw, r.members, mine)
			})
		}
	}
	b, marks, err := r.bundle(sc.connID, sc.applied, cur.Gen)
	if err != nil {
		return err
	}
	var removed, signIns int
	st, err := bundle.ApplyWithin(ctx, sc.t, b, sc.actor, sc.env.now(), func(tx *tenant.Tx) error {
		n, err := remove(tx)
		removed = n
		return err
	}, func(tx *tenant.Tx) error {
		if err := putMarks(tx, marks); err != nil {
			return err
		}
		n, err := applySignIns(tx, r.users)
		if err != nil {
			return err
		}
		signIns = n
		after.Removed = cur.Removed + removed
		return sc.putCursor(tx, func(rc *syncRecord) { rc.Full = &after })
	})
	if err != nil {
		return fmt.Errorf("applying the sync (%s): %w", cur.Stage, err)
	}
	addStats(&res.Imported, st)
	res.SignIns += signIns
	*cur = after
	return nil
}

// applyDates dates the seats without a grant date of a page of users
// (the dates stage) in one command with the cursor that follows it.
func (sc *syncRun) applyDates(ctx context.Context, cur, after *fullCursor, items []json.RawMessage) error {
	users := make([]json.RawMessage, 0, len(items))
	for _, raw := range items {
		b, _, _, err := ownLicenses(raw, sc.applied)
		if err != nil {
			return err
		}
		users = append(users, b)
	}
	page, _ := json.Marshal(map[string]any{"value": users})
	err := sc.t.Do(ctx, licensing.Op{Actor: sc.actor, Now: sc.env.now(), Why: "Microsoft 365 sync"}, func(tx *tenant.Tx) error {
		dates, err := bundle.GraphSeatDates(tx.Engine.Catalog(), page)
		if err != nil {
			return err
		}
		tx.Engine.SetGrantDates(dates)
		return sc.putCursor(tx, func(rc *syncRecord) { rc.Full = after })
	})
	if err != nil {
		return fmt.Errorf("applying the sync (%s): %w", cur.Stage, err)
	}
	*cur = *after
	return nil
}

// eachRead runs fn, a removal, for each object read, with the
// connection's marks.
func eachRead(objs []json.RawMessage, tx *tenant.Tx, connID string, fn func(*tenant.Tx, json.RawMessage, func(string) bool) (int, error)) (int, error) {
	mine := mineOf(tx, connID)
	n := 0
	for _, raw := range objs {
		k, err := fn(tx, raw, mine)
		if n += k; err != nil {
			return n, err
		}
	}
	return n, nil
}

// hasLicenses reports whether a group of a page carries licenses.
func hasLicenses(groups []json.RawMessage) bool {
	for _, raw := range groups {
		var g struct {
			Licenses []remoteLicense `json:"assignedLicenses"`
		}
		if json.Unmarshal(raw, &g) == nil && len(g.Licenses) > 0 {
			return true
		}
	}
	return false
}

// known keeps of the members read those that are users or groups of the
// tenant or groups of the page: a member created in Entra after the users
// stage comes with the next delta sync.
func (sc *syncRun) known(members map[string][]string, page []json.RawMessage) map[string][]string {
	inPage := setOf(idsOf(page))
	out := make(map[string][]string, len(members))
	sc.t.Read(func(s *tenant.State) {
		for g, ms := range members {
			keep := make([]string, 0, len(ms))
			for _, m := range ms {
				if _, ok := s.Engine.User(m); ok || inPage[m] || s.Engine.IsGroup(m) {
					keep = append(keep, m)
				}
			}
			out[g] = keep
		}
	})
	return out
}

// finishFull ends a full sync in one command: the connection's synced
// users and groups that no stage read (marks of an older generation) are
// removed, and the deltaLinks stored.
func (sc *syncRun) finishFull(ctx context.Context, cur *fullCursor, res Result) (Result, error) {
	sc.p.setPhase("removing what Microsoft 365 no longer has")
	now := sc.env.now()
	removed := 0
	err := sc.t.Do(ctx, licensing.Op{Actor: sc.actor, Now: now, Why: "Microsoft 365 sync"}, func(tx *tenant.Tx) error {
		var users, groups []string
		for _, k := range tx.IDs(KindSynced) {
			var m syncedMark
			if ok, _ := tx.Decode(KindSynced, k, &m); !ok || m.Conn != sc.connID || m.Gen == cur.Gen {
				continue
			}
			kind, id, _ := strings.Cut(k, "/")
			if kind == "user" {
				users = append(users, id)
			} else if kind == "group" {
				groups = append(groups, id)
			}
		}
		n, err := removeObjects(tx, mineOf(tx, sc.connID), users, groups)
		if err != nil {
			return err
		}
		removed = cur.Removed + n
		if err := sc.putCursor(tx, func(rc *syncRecord) {
			rc.Kind, rc.FinishedAt, rc.LastSuccess, rc.LastError, rc.Interrupted = "full", &now, &now, "", false
			rc.Users, rc.Groups, rc.SignInActivity, rc.Removed = cur.Users, cur.Groups, cur.SignIns, removed
			rc.UsersDelta, rc.GroupsDelta, rc.Gen, rc.Full = cur.UsersDelta, cur.GroupsDelta, cur.Gen, nil
		}); err != nil {
			return err
		}
		tx.Audit(auditEntry("Sync from Microsoft 365", sc.connID, fmt.Sprintf("full sync: %d users, %d groups read", cur.Users, cur.Groups)))
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("applying the sync: %w", err)
	}
	res.Users, res.Groups, res.Removed = cur.Users, cur.Groups, removed
	sc.p.setPhase("done")
	return res, nil
}

func addStats(to *licensing.ImportStats, st licensing.ImportStats) {
	to.Users += st.Users
	to.Groups += st.Groups
	to.Members += st.Members
	to.Licenses += st.Licenses
}
