package web

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"allot/api/scope"
	"allot/catalog"
	"allot/directory"
	"allot/licensing"
	"allot/tenant"
	"allot/usage"
	"allot/userprop"
)

const pageSize = 50

// userRow is a user in a list.
type userRow struct {
	ID, UPN, DisplayName, Department, UsageLocation, Kind, UserType string
	Enabled                                                         bool
	Licenses                                                        []string // part numbers
	Error, Waiting                                                  bool
}

func userRowOf(e *licensing.Engine, x *directory.Index, id string) (userRow, bool) {
	u, ok := e.User(id)
	if !ok {
		return userRow{}, false
	}
	row := userRow{ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName, Department: u.Department(),
		UsageLocation: u.UsageLocation, Kind: u.Kind, UserType: u.UserType, Enabled: u.AccountEnabled}
	if r := x.User(id); r != nil {
		for _, sku := range r.SKUs {
			row.Licenses = append(row.Licenses, partNumber(e.Catalog(), sku))
		}
		slices.Sort(row.Licenses)
		row.Error, row.Waiting = len(r.ErrSKUs()) > 0, r.Waiting
	}
	return row, true
}

// scopedRow narrows a user row to what a delegated owner may see (sc
// non-nil): the licenses, errors and waiting of its allotments only.
func scopedRow(e *licensing.Engine, sc *scope.Scope, row userRow) userRow {
	if sc == nil {
		return row
	}
	row.Licenses, row.Error, row.Waiting = nil, false, false
	for _, l := range e.Licenses(row.ID) {
		if !sc.Licenses(l.AllotmentID) {
			continue
		}
		row.Licenses = append(row.Licenses, partNumber(e.Catalog(), l.SKUID))
		row.Waiting = row.Waiting || l.Waiting()
		for _, src := range l.Sources {
			row.Error = row.Error || src.State == licensing.StateError
		}
	}
	slices.Sort(row.Licenses)
	row.Licenses = slices.Compact(row.Licenses)
	return row
}

func partNumber(c *catalog.Catalog, skuID string) string {
	if s, ok := c.SKU(skuID); ok {
		return s.PartNumber
	}
	return skuID
}

// pager is the paging links of a list.
type pager struct {
	Total             int
	One, Many         string
	First, Prev, Next string
}

func pagerOf(r *http.Request, p page, one, many string) pager {
	pg := pager{Total: p.Total, One: one, Many: many}
	if p.Prev != "" {
		pg.Prev = withQuery(r.URL, "before", p.Prev, "after", "")
	}
	if p.Next != "" {
		pg.Next = withQuery(r.URL, "after", p.Next, "before", "")
	}
	if r.URL.Query().Get("after") != "" || r.URL.Query().Get("before") != "" {
		pg.First = withQuery(r.URL, "after", "", "before", "")
	}
	return pg
}

type usersData struct {
	Q, SKU, Dept, State, Sort string
	Desc                      bool
	Rows                      []userRow
	Pager                     pager
	SKUs                      []skuRow
	Departments               []string
}

// users lists users: search by userPrincipalName or display name prefix,
// filter by product, department and state, sort by either name, paged.
func (h *handler) users(w http.ResponseWriter, r *http.Request, v *viewer) {
	qs := r.URL.Query()
	d := usersData{Q: qs.Get("q"), SKU: qs.Get("sku"), Dept: qs.Get("dept"), State: qs.Get("state"), Sort: qs.Get("sort"), Desc: qs.Get("dir") == "desc"}
	if d.Sort != "name" {
		d.Sort = "upn"
	}
	if d.State != "error" && d.State != "waiting" && d.State != "idle" {
		d.State = ""
	}
	q := userQuery{Q: d.Q, SKU: d.SKU, Dept: d.Dept, State: d.State, Sort: d.Sort, Desc: d.Desc,
		After: cursorKey(qs.Get("after"), d.Sort, d.Desc), Before: cursorKey(qs.Get("before"), d.Sort, d.Desc), Limit: pageSize}
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		x := directoryOf(s)
		if q.State == "idle" {
			q.IdleSince = h.now().Add(-idleDays * 24 * time.Hour)
			q.Idle = idleSince(usage.Of(s), q.IdleSince)
			q.Active = activeSince(usage.Of(s), q.IdleSince)
		}
		if q.SKU != "" {
			if sku, ok := e.Catalog().SKU(q.SKU); ok {
				q.SKU, d.SKU = sku.ID, sku.ID
			}
		}
		p := queryUsers(x, q)
		for _, k := range p.Keys {
			if row, ok := userRowOf(e, x, k.ID); ok {
				d.Rows = append(d.Rows, row)
			}
		}
		d.Pager = pagerOf(r, p, "user", "users")
		d.SKUs = skuRows(e, x)
		d.Departments = x.Departments()
	})
	h.render(w, r, v, http.StatusOK, "users", pageData{Title: "Users", Nav: "users", Data: d})
}

// planToggle is one plan's switch in a license form.
type planToggle struct {
	ID, Name, Friendly string
	On                 bool
}

func planToggles(sku *catalog.SKU, disabled []string) []planToggle {
	out := make([]planToggle, len(sku.Plans))
	for i, p := range sku.Plans {
		f := p.FriendlyName
		if f == "" {
			f = p.Name
		}
		out[i] = planToggle{ID: p.ID, Name: p.Name, Friendly: f, On: !slices.Contains(disabled, p.ID)}
	}
	return out
}

// disabledFrom turns the form's enabled plans into the SKU's disabled ones.
func disabledFrom(sku *catalog.SKU, enabled []string) []string {
	var out []string
	for _, p := range sku.Plans {
		if !slices.Contains(enabled, p.ID) {
			out = append(out, p.ID)
		}
	}
	return out
}

type userData struct {
	User licensing.User
	// Facts are the user's properties the registry labels for this page
	// (package userprop, Property.Label), in its order.
	Facts      []fact
	Groups     []namedLink
	Licenses   []licenseView
	Direct     []directView
	Assignable []skuRow
	// The license form: the product being assigned or changed, with its
	// plan switches.
	Form       *licenseForm
	HeldCount  int
	ErrorCount int
}

type namedLink struct{ ID, Name string }

// licenseView is one product of a user, explained by the engine.
type licenseView struct {
	licensing.Explanation
	Sources []sourceView
	// Assigned and Activated: when the seat was granted and when the user
	// first used it afterwards (package usage); zero when unknown or not yet.
	Assigned, Activated time.Time
}

type sourceView struct {
	licensing.ExplainedSource
	GroupID      string
	DisabledName []string
}

// directView is a direct license that the form can change or remove.
type directView struct {
	SKUID, PartNumber string
	Disabled          int
}

type licenseForm struct {
	SKUID, PartNumber, DisplayName string
	Change                         bool // the user has it already: change its plans
	Plans                          []planToggle
}

// licenseFormView is what the "license-form" partial renders on a user's
// or a group's page: the form of the chosen product's plans (Form), or the
// chooser of a product to assign (Assignable). Kind is "user" or "group".
type licenseFormView struct {
	Kind, ID   string
	Form       *licenseForm
	Assignable []skuRow
	V          *viewer
}

// fact is one labelled property of the user page ("" shown as a dash).
type fact struct{ Label, Value string }

// userFacts are the registry's labelled properties of u.
func userFacts(u *licensing.User) []fact {
	var out []fact
	for i := range userprop.Users {
		if p := &userprop.Users[i]; p.Label != "" {
			out = append(out, fact{p.Label, p.Get(u)})
		}
	}
	return out
}

// findUser resolves an id or userPrincipalName.
func findUser(e *licensing.Engine, idOrUPN string) (licensing.User, bool) {
	if u, ok := e.User(idOrUPN); ok {
		return u, true
	}
	return e.UserByUPN(idOrUPN)
}

// user shows a user: properties, groups, and each license with its sources,
// states, errors and the engine's explanation; administrators who may
// assign licenses get the direct license forms.
func (h *handler) user(w http.ResponseWriter, r *http.Request, v *viewer) {
	var d userData
	found := false
	v.T.Read(func(s *tenant.State) {
		u, ok := findUser(s.Engine, r.PathValue("id"))
		sc := v.scope(s)
		if !ok || !sc.User(u.ID) {
			return
		}
		found = true
		d.User = u
		d.Facts = userFacts(&u)
		d.Groups = userGroups(s.Engine, sc, u.ID)
		userLicenses(s, v, sc, u.ID, &d)
		if v.CanAssignUser() {
			directForms(s, r.URL.Query().Get("license"), u.ID, &d)
		}
	})
	if !found {
		h.notFound(w, r, v)
		return
	}
	h.render(w, r, v, http.StatusOK, "user", pageData{Title: d.User.DisplayName, Nav: "users", Data: d})
}

// userGroups lists the groups of a user the scope shows, by name.
func userGroups(e *licensing.Engine, sc *scope.Scope, userID string) []namedLink {
	var out []namedLink
	for _, gid := range e.GroupsOf(userID) {
		if g, ok := e.Group(gid); ok && sc.Group(gid) {
			out = append(out, namedLink{gid, g.DisplayName})
		}
	}
	slices.SortFunc(out, func(a, b namedLink) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return out
}

// userLicenses fills d's licenses (by part number) with their explanation,
// usage dates and the sources the viewer may see, and counts the seats
// held and the sources in error.
func userLicenses(s *tenant.State, v *viewer, sc *scope.Scope, userID string, d *userData) {
	e := s.Engine
	var skus []string
	for _, l := range e.Licenses(userID) {
		if !slices.Contains(skus, l.SKUID) {
			skus = append(skus, l.SKUID)
		}
	}
	for _, sku := range skus {
		x, err := e.Explain(userID, sku)
		if err != nil {
			continue
		}
		lv := licenseView{Explanation: x}
		for _, lu := range usage.Licenses(s, userID) {
			if lu.SKUID == sku {
				lv.Assigned = lu.AssignedDateTime
				if lu.ActivatedDateTime != nil {
					lv.Activated = *lu.ActivatedDateTime
				}
			}
		}
		lv.Allotments = slices.DeleteFunc(slices.Clone(x.Allotments), func(a licensing.AllotmentSeat) bool { return !sc.Allotment(a.AllotmentID) })
		for _, src := range x.Sources {
			// A delegated owner sees the sources drawn from their
			// allotments only.
			if v.Limited && (src.AllotmentID == "" || !sc.Allotment(src.AllotmentID)) {
				continue
			}
			sv := sourceView{ExplainedSource: src, GroupID: src.AssignedByGroup}
			for _, id := range src.DisabledPlans {
				sv.DisabledName = append(sv.DisabledName, planName(e.Catalog(), id))
			}
			lv.Sources = append(lv.Sources, sv)
			if src.State == licensing.StateError.String() { // an ExplainedSource's state is its word
				d.ErrorCount++
			}
		}
		if len(lv.Sources) == 0 {
			continue
		}
		if x.HoldsSeat {
			d.HeldCount++
		}
		d.Licenses = append(d.Licenses, lv)
	}
	slices.SortFunc(d.Licenses, func(a, b licenseView) int { return strings.Compare(a.SKUPartNumber, b.SKUPartNumber) })
}

// directForms fills d's direct licenses, the products that could be
// assigned directly, and — for ?license=SKU of a product the tenant owns —
// the form to assign it or change its plans.
func directForms(s *tenant.State, want, userID string, d *userData) {
	e := s.Engine
	direct := map[string]licensing.LicenseSource{}
	for _, l := range e.DirectLicenses(userID) {
		if l.AllotmentID == "" {
			direct[l.SKUID] = l
			d.Direct = append(d.Direct, directView{l.SKUID, partNumber(e.Catalog(), l.SKUID), len(l.DisabledPlans)})
		}
	}
	for _, row := range skuRows(e, directoryOf(s)) {
		if _, has := direct[row.ID]; !has {
			d.Assignable = append(d.Assignable, row)
		}
	}
	if sku, ok := e.Catalog().SKU(want); ok && want != "" {
		if _, owned := e.Pool(sku.ID); owned {
			l, has := direct[sku.ID]
			d.Form = &licenseForm{SKUID: sku.ID, PartNumber: sku.PartNumber, DisplayName: sku.DisplayName, Change: has, Plans: planToggles(sku, l.DisabledPlans)}
		}
	}
}

func planName(c *catalog.Catalog, id string) string {
	if p, ok := c.Plan(id); ok {
		if p.FriendlyName != "" {
			return p.FriendlyName
		}
		return p.Name
	}
	return id
}

// assignUserLicense assigns a direct license (or changes its plans): the
// form's sku and its enabled plans.
func (h *handler) assignUserLicense(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	skuID := r.PostFormValue("sku")
	enabled := r.PostForm["plan"]
	now := h.now()
	var part string
	err := v.T.Do(r.Context(), v.op(now, "admin center"), func(tx *tenant.Tx) error {
		sku, ok := tx.Engine.Catalog().SKU(skuID)
		if !ok {
			return notFoundErr("Product %s does not exist.", skuID)
		}
		part = sku.PartNumber
		dis := []string{}
		if r.PostFormValue("plans") == "1" {
			dis = disabledFrom(sku, enabled)
		} else if cur := directOf(tx.Engine, id, sku.ID); cur != nil {
			dis = cur.DisabledPlans
		}
		return tx.Engine.AssignUserLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: sku.ID, DisabledPlans: dis}}, nil)
	})
	h.done(w, r, "/admin/users/"+id, err, part+" assigned.")
}

// directOf returns the user's direct license of a SKU outside allotments.
func directOf(e *licensing.Engine, userID, skuID string) *licensing.LicenseSource {
	for _, l := range e.DirectLicenses(userID) {
		if l.SKUID == skuID && l.AllotmentID == "" {
			return &l
		}
	}
	return nil
}

// removeUserLicense removes a direct license.
func (h *handler) removeUserLicense(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	skuID := r.PostFormValue("sku")
	now := h.now()
	var part string
	err := v.T.Do(r.Context(), v.op(now, "admin center"), func(tx *tenant.Tx) error {
		sku, ok := tx.Engine.Catalog().SKU(skuID)
		if !ok {
			return notFoundErr("Product %s does not exist.", skuID)
		}
		part = sku.PartNumber
		return tx.Engine.AssignUserLicenses(tx.Op, id, nil, []string{sku.ID})
	})
	h.done(w, r, "/admin/users/"+id, err, part+" removed.")
}

// idleDays is the window of the users list's "idle" filter, as the
// position report's idle finding.
const idleDays = 30

// idleSince reports whether a user has had no sign-in and no feature use
// since cutoff (users without any usage data are idle).
// It reads the aggregates in place (usage.UserView): counting the idle
// users of a large tenant allocates nothing.
func idleSince(agg *usage.Aggregates, cutoff time.Time) func(id string) bool {
	return func(id string) bool {
		v, ok := agg.View(id)
		return !ok || !activeView(v, cutoff)
	}
}

// activeSince walks the users of the aggregates who had a sign-in or a
// feature use since cutoff (the complement of idleSince among them).
func activeSince(agg *usage.Aggregates, cutoff time.Time) func(fn func(id string) bool) {
	return func(fn func(id string) bool) {
		agg.ForEachView(func(v usage.UserView) bool {
			if activeView(v, cutoff) {
				return fn(v.UserID())
			}
			return true
		})
	}
}

func activeView(v usage.UserView, cutoff time.Time) bool {
	if !v.SignIns().Last.Before(cutoff) {
		return true
	}
	active := false
	v.ForEachFeatureUse(func(f usage.FeatureUse) bool {
		active = !f.Last.Before(cutoff)
		return !active
	})
	return active
}
