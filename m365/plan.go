package m365

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/audit"
	"allot/licensing"
	"allot/tenant"
)

// Plan and apply out. allot manages a user's license of a product when
// one of the license's sources is allot's own: a group that is not synced
// from Entra (an allot group), an allotment, or a direct assignment made
// in allot (not one Entra assigns). Its decision for such a license — a
// seat (the user is licensed) or none (the user waits in the waiting room,
// or has no managed source left) — is carried to Microsoft 365 as a direct
// assignment that allot owns: allot adds it, changes its disabled plans
// and removes it, and never touches a license it did not assign
// (Entra's direct and group assignments stay as they are; a user who
// already holds the product in Microsoft 365 needs no call).

// appliedRec is a direct license allot assigned in Microsoft 365 (or is
// about to: Pending, written before the call, so that a crash between the
// call and its record does not leave an assignment allot forgets).
type appliedRec struct {
	Conn          string    `json:"conn"`
	UserID        string    `json:"userId"`
	SKUID         string    `json:"skuId"`
	DisabledPlans []string  `json:"disabledPlans"`
	Pending       bool      `json:"pending,omitempty"`
	At            time.Time `json:"at"`
}

func appliedKey(conn, user, sku string) string { return conn + "/" + user + "/" + strings.ToLower(sku) }

// appliedOf lists a connection's applied records.
func appliedOf(s *tenant.State, connID string) []appliedRec {
	var out []appliedRec
	for _, k := range s.IDs(KindApplied) {
		if !strings.HasPrefix(k, connID+"/") {
			continue
		}
		var a appliedRec
		if ok, _ := s.Decode(KindApplied, k, &a); ok {
			out = append(out, a)
		}
	}
	return out
}

// License is one product of a planned call.
type License struct {
	SKUID         string   `json:"skuId"`
	SKUPartNumber string   `json:"skuPartNumber,omitempty"`
	DisabledPlans []string `json:"disabledPlans"`
}

// Call is one assignLicense call of a plan: what it adds and removes for
// one user, and why.
type Call struct {
	UserID            string    `json:"userId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	Add               []License `json:"addLicenses"`
	Remove            []string  `json:"removeLicenses"`
	Why               []string  `json:"why"`
	// forget: applied records to drop without a call (the assignment is
	// already gone from Microsoft 365).
	forget []string
}

// PlanResult is a plan: the calls, and the records it would forget.
type PlanResult struct {
	ConnectionID string   `json:"connectionId"`
	Calls        []Call   `json:"calls"`
	Forget       []string `json:"forget,omitempty"` // "userId/skuId" of records allot drops (no call)
}

// Digest identifies a plan's calls and forgotten records (hex of their
// SHA-256): two plans with the same digest make the same changes.
func (p *PlanResult) Digest() string {
	b, _ := json.Marshal(struct {
		Calls  []Call
		Forget []string
	}{p.Calls, p.Forget})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// wanted is allot's decision for one user and product.
type wanted struct {
	disabled []string
	why      string
}

// decisions reads allot's decision for the managed licenses of the users
// a connection syncs.
func decisions(s *tenant.State, connID string) (map[string]map[string]wanted, map[string]string) {
	out := map[string]map[string]wanted{}
	upn := map[string]string{}
	e := s.Engine
	for _, k := range s.IDs(KindSynced) {
		kind, uid, _ := strings.Cut(k, "/")
		if kind != "user" {
			continue
		}
		var m syncedMark
		if ok, _ := s.Decode(KindSynced, k, &m); !ok || m.Conn != connID {
			continue
		}
		u, ok := e.User(uid)
		if !ok {
			continue
		}
		upn[uid] = u.UserPrincipalName
		ls, _ := e.UserLicensesOf(uid)
		for i := 0; i < ls.Len(); i++ {
			l := ls.At(i)
			sku := strings.ToLower(l.SKUID)
			var managed []licensing.SourceState
			for _, src := range l.Sources {
				if isManaged(s, &m, sku, l.AllotmentID, &src) && src.Usable() {
					managed = append(managed, src)
				}
			}
			if !l.Held || len(managed) == 0 {
				continue
			}
			w, had := out[uid][sku]
			dis := intersect(managed)
			if had {
				dis = intersectLists(w.disabled, dis)
			}
			if out[uid] == nil {
				out[uid] = map[string]wanted{}
			}
			out[uid][sku] = wanted{disabled: dis, why: whyOf(e, l.AllotmentID, managed[0])}
		}
	}
	return out, upn
}

// isManaged reports whether a source of a license record of the allotment
// allotmentID ("" none) is allot's own.
func isManaged(s *tenant.State, m *syncedMark, sku, allotmentID string, src *licensing.SourceState) bool {
	switch {
	case allotmentID != "":
		return true
	case src.AssignedByGroup != "":
		return !IsSyncedGroup(s, src.AssignedByGroup)
	default:
		return !slices.Contains(m.Direct, sku)
	}
}

func whyOf(e *licensing.Engine, allotmentID string, src licensing.SourceState) string {
	switch {
	case allotmentID != "":
		return "holds a seat of allotment " + allotmentID + " in allot"
	case src.AssignedByGroup != "":
		name := src.AssignedByGroup
		if g, ok := e.Group(name); ok {
			name = g.DisplayName + " (" + g.ID + ")"
		}
		return "holds a seat through allot group " + name
	default:
		return "holds a seat assigned directly in allot"
	}
}

// intersect returns the plans every source disables (a plan any source
// enables is enabled).
func intersect(srcs []licensing.SourceState) []string {
	dis := append([]string{}, srcs[0].DisabledPlans...)
	for _, s := range srcs[1:] {
		dis = intersectLists(dis, s.DisabledPlans)
	}
	return dis
}

func intersectLists(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if slices.ContainsFunc(b, func(y string) bool { return strings.EqualFold(x, y) }) {
			out = append(out, strings.ToLower(x))
		}
	}
	sort.Strings(out)
	return out
}

func samePlans(a, b []string) bool {
	return slices.Equal(normPlans(a), normPlans(b))
}

func normPlans(a []string) []string {
	out := make([]string, len(a))
	for i, x := range a {
		out[i] = strings.ToLower(x)
	}
	sort.Strings(out)
	return out
}

// remoteUser is what a plan reads of a user in Microsoft 365.
type remoteUser struct {
	ID       string          `json:"id"`
	Licenses []remoteLicense `json:"assignedLicenses"`
	States   []remoteState   `json:"licenseAssignmentStates"`
}

// Plan computes the assignLicense calls that bring the Microsoft tenant to
// allot's decision for the licenses allot manages, reading the users'
// current licenses from Graph. It changes nothing.
func Plan(ctx context.Context, t *tenant.Tenant, env *Env, connID string) (*PlanResult, error) {
	c, err := read(t, connID)
	if err != nil {
		return nil, err
	}
	cl, err := env.client(c)
	if err != nil {
		return nil, err
	}
	return plan(ctx, t, cl, c)
}

// plan computes the calls for connection c from the users' licenses in
// Microsoft 365 (read through cl) and allot's decisions in t: one call per
// user with something to add or remove, removals first, and the records
// of users or licenses gone from Microsoft 365 to forget.
func plan(ctx context.Context, t *tenant.Tenant, cl *Client, c *Connection) (*PlanResult, error) {
	remoteUsers, err := fetchRemoteUsers(ctx, cl)
	if err != nil {
		return nil, err
	}
	var want map[string]map[string]wanted
	var upns map[string]string
	var applied []appliedRec
	var cat func(string) string
	t.Read(func(s *tenant.State) {
		want, upns = decisions(s, c.ID)
		applied = appliedOf(s, c.ID)
		cg := s.Engine.Catalog()
		cat = func(id string) string {
			if sku, ok := cg.SKU(id); ok {
				return sku.PartNumber
			}
			return ""
		}
	})
	mine := map[string]map[string]appliedRec{}
	for _, a := range applied {
		if mine[a.UserID] == nil {
			mine[a.UserID] = map[string]appliedRec{}
		}
		mine[a.UserID][strings.ToLower(a.SKUID)] = a
	}
	users := map[string]bool{}
	for u := range want {
		users[u] = true
	}
	for u := range mine {
		users[u] = true
	}
	out := &PlanResult{ConnectionID: c.ID, Calls: []Call{}}
	for _, uid := range sortedSet(users) {
		ru, exists := remoteUsers[uid]
		call := planUser(uid, upns[uid], ru, exists, want[uid], mine[uid], cat)
		for _, f := range call.forget {
			out.Forget = append(out.Forget, uid+"/"+f)
		}
		if len(call.Add) > 0 || len(call.Remove) > 0 || len(call.forget) > 0 {
			out.Calls = append(out.Calls, call)
		}
	}
	// Calls without a request (only records to forget) are not listed.
	calls := out.Calls[:0]
	for _, cl := range out.Calls {
		if len(cl.Add) > 0 || len(cl.Remove) > 0 {
			calls = append(calls, cl)
		}
	}
	// Calls that free seats first: an addition may need the seat a removal
	// frees (the product's units are all held).
	sort.SliceStable(calls, func(i, j int) bool { return len(calls[i].Remove) > 0 && len(calls[j].Remove) == 0 })
	out.Calls = calls
	out.Forget = slices.Clip(out.Forget)
	return out, nil
}

// fetchRemoteUsers reads every user's licenses and license states from
// Graph, by user id.
func fetchRemoteUsers(ctx context.Context, cl *Client) (map[string]remoteUser, error) {
	remoteUsers := map[string]remoteUser{}
	err := cl.Pages(ctx, fmt.Sprintf("/users?$select=id,assignedLicenses,licenseAssignmentStates&$top=%d", pageSize), func(items []json.RawMessage, _, _ string) error {
		for _, it := range items {
			var u remoteUser
			if err := json.Unmarshal(it, &u); err != nil {
				return err
			}
			remoteUsers[u.ID] = u
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return remoteUsers, nil
}

// directLicenses returns the user's licenses assigned directly (not by a
// group) in Microsoft 365, lower-case SKU id → disabled plans, and every
// license the user has by any path. Without license states every license
// counts as direct.
func directLicenses(ru remoteUser) (direct map[string][]string, any map[string]bool) {
	direct, any = map[string][]string{}, map[string]bool{}
	for _, l := range ru.Licenses {
		any[strings.ToLower(l.SKUID)] = true
	}
	for _, s := range ru.States {
		if s.AssignedByGroup == nil || *s.AssignedByGroup == "" {
			direct[strings.ToLower(s.SKUID)] = nil
		}
	}
	for _, l := range ru.Licenses {
		if _, ok := direct[strings.ToLower(l.SKUID)]; ok || len(ru.States) == 0 {
			direct[strings.ToLower(l.SKUID)] = l.DisabledPlans
		}
	}
	return direct, any
}

// planUser is the call for one user: ru is the user in Microsoft 365
// (exists false when it is gone), want allot's decision and mine the
// licenses allot assigned, both by lower-case SKU id; cat names a SKU.
// A license allot wants but Entra assigned itself is left alone.
func planUser(uid, upn string, ru remoteUser, exists bool, want map[string]wanted, mine map[string]appliedRec, cat func(string) string) Call {
	direct, any := directLicenses(ru)
	call := Call{UserID: uid, UserPrincipalName: upn, Add: []License{}, Remove: []string{}}
	skus := map[string]bool{}
	for k := range want {
		skus[k] = true
	}
	for k := range mine {
		skus[k] = true
	}
	for _, sku := range sortedSet(skus) {
		w, desired := want[sku]
		rec, ours := mine[sku]
		rdis, rdirect := direct[sku]
		switch {
		case !exists && ours:
			call.forget = append(call.forget, sku) // the user is gone from Microsoft 365
		case !exists:
		case desired && ours && rdirect && samePlans(rdis, w.disabled):
		case desired && ours && rdirect:
			call.Add = append(call.Add, License{SKUID: sku, SKUPartNumber: cat(sku), DisabledPlans: w.disabled})
			call.Why = append(call.Why, cat(sku)+": "+w.why+" with other disabled plans")
		case desired && !ours && any[sku]:
			// Licensed in Microsoft 365 by Entra's own assignment: not allot's.
		case desired:
			call.Add = append(call.Add, License{SKUID: sku, SKUPartNumber: cat(sku), DisabledPlans: w.disabled})
			call.Why = append(call.Why, cat(sku)+": "+w.why)
		case ours && rdirect && !rec.Pending || ours && rec.Pending && rdirect:
			call.Remove = append(call.Remove, sku)
			call.Why = append(call.Why, cat(sku)+": no seat from a source allot manages (waiting, or the source is gone)")
		case ours:
			call.forget = append(call.forget, sku)
		}
	}
	return call
}

// ApplyResult is what an apply did.
type ApplyResult struct {
	Applied []Call `json:"applied"`
	Forgot  int    `json:"forgot"`
	// Stopped is the call Microsoft 365 refused (the apply stopped there;
	// nothing after it was sent).
	Stopped *Call  `json:"stopped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Apply plans and runs the calls one by one: for each, a record of what
// it adds is written first (pending), then the call is sent (throttled
// as every Graph request), then its result is recorded and audited. It
// stops at the first refusal other than throttling, with the refused
// call's pending records removed (Microsoft 365 changed nothing for it),
// and is idempotent: run again, it plans from the current state of both
// sides. The connection must allow it (Connection.Apply).
func Apply(ctx context.Context, t *tenant.Tenant, env *Env, connID, actor string) (*ApplyResult, error) {
	return ApplyPlanned(ctx, t, env, connID, actor, "")
}

// ApplyPlanned is Apply refusing (ECONFLICT, nothing sent) when digest is
// not "" and the plan made at the time of the apply is not the one shown
// (PlanResult.Digest): what the admin center's Apply button runs after
// showing the plan.
func ApplyPlanned(ctx context.Context, t *tenant.Tenant, env *Env, connID, actor, digest string) (*ApplyResult, error) {
	c, err := read(t, connID)
	if err != nil {
		return nil, err
	}
	if !c.Apply {
		return nil, allot.Errorf(allot.EFORBIDDEN, "Connection %s does not allow applying licenses to Microsoft 365; create it with apply set (it needs LicenseAssignment.ReadWrite.All).", connID)
	}
	cl, err := env.client(c)
	if err != nil {
		return nil, err
	}
	p, err := plan(ctx, t, cl, c)
	if err != nil {
		return nil, err
	}
	if digest != "" && p.Digest() != digest {
		return nil, allot.Errorf(allot.ECONFLICT, "The plan changed since it was shown (Microsoft 365 or allot changed meanwhile); nothing was applied. Review the plan again.")
	}
	res := &ApplyResult{Applied: []Call{}}
	op := func() licensing.Op { return licensing.Op{Actor: actor, Now: env.now(), Why: "Microsoft 365 apply"} }
	if len(p.Forget) > 0 {
		err := t.Do(ctx, op(), func(tx *tenant.Tx) error {
			for _, f := range p.Forget {
				u, s, _ := strings.Cut(f, "/")
				tx.Delete(KindApplied, appliedKey(connID, u, s))
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Forgot = len(p.Forget)
	}
	for i := range p.Calls {
		call := p.Calls[i]
		now := env.now()
		err := t.Do(ctx, op(), func(tx *tenant.Tx) error {
			for _, a := range call.Add {
				k := appliedKey(connID, call.UserID, a.SKUID)
				var cur appliedRec
				if ok, _ := tx.Decode(KindApplied, k, &cur); ok && !cur.Pending {
					continue // already ours: the call changes its disabled plans
				}
				if err := tx.Put(KindApplied, k, appliedRec{Conn: connID, UserID: call.UserID, SKUID: a.SKUID, DisabledPlans: a.DisabledPlans, Pending: true, At: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		body := map[string]any{"addLicenses": addBody(call.Add), "removeLicenses": call.Remove}
		callErr := cl.Do(ctx, http.MethodPost, "/users/"+url.PathEscape(call.UserID)+"/assignLicense", body, nil)
		var refused *Error
		if callErr != nil && !errors.As(callErr, &refused) {
			// No answer (stopped, unreachable): the call may have been
			// carried out. The pending records stay; the next plan reads
			// Microsoft 365 and settles them.
			return res, callErr
		}
		detail, _ := json.Marshal(map[string]any{"addLicenses": call.Add, "removeLicenses": call.Remove, "why": call.Why})
		err = t.Do(context.WithoutCancel(ctx), op(), func(tx *tenant.Tx) error {
			for _, a := range call.Add {
				k := appliedKey(connID, call.UserID, a.SKUID)
				if callErr != nil {
					var cur appliedRec
					if ok, _ := tx.Decode(KindApplied, k, &cur); ok && cur.Pending {
						tx.Delete(KindApplied, k)
					}
					continue
				}
				if err := tx.Put(KindApplied, k, appliedRec{Conn: connID, UserID: call.UserID, SKUID: a.SKUID, DisabledPlans: a.DisabledPlans, At: now}); err != nil {
					return err
				}
			}
			if callErr == nil {
				for _, s := range call.Remove {
					tx.Delete(KindApplied, appliedKey(connID, call.UserID, s))
				}
			}
			action, d := "Apply license to Microsoft 365", string(detail)
			if callErr != nil {
				action, d = "Apply license to Microsoft 365 refused", d+" "+callErr.Error()
			}
			tx.Audit(audit.Entry{Action: action, UserID: call.UserID, Why: "Microsoft 365 connection " + connID, Detail: d})
			return nil
		})
		if callErr != nil {
			res.Stopped, res.Error = &call, callErr.Error()
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.Applied = append(res.Applied, call)
	}
	return res, nil
}

func addBody(ls []License) []map[string]any {
	out := make([]map[string]any, len(ls))
	for i, l := range ls {
		d := l.DisabledPlans
		if d == nil {
			d = []string{}
		}
		out[i] = map[string]any{"skuId": l.SKUID, "disabledPlans": d}
	}
	return out
}
