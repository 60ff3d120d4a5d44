package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"allot/api/scope"
	"allot/directory"
	"allot/identity"
	"allot/licensing"
	"allot/rules"
	"allot/tenant"
)

// groupRow is a group in a list.
type groupRow struct {
	ID, Name    string
	Dynamic     bool
	Paused      bool
	Members     int
	Licenses    []string // part numbers
	Errors      bool
	Description string
}

func groupRowOf(e *licensing.Engine, id string) (groupRow, bool) {
	g, ok := e.Group(id)
	if !ok {
		return groupRow{}, false
	}
	row := groupRow{ID: id, Name: g.DisplayName, Dynamic: g.IsDynamic(), Paused: g.MembershipRuleProcessingState == "Paused",
		Members: e.MemberCount(id), Errors: e.HasMembersWithLicenseErrors(id), Description: g.Description}
	for _, l := range e.GroupLicenses(id) {
		row.Licenses = append(row.Licenses, partNumber(e.Catalog(), l.SKUID))
	}
	return row, true
}

// scopedGroupRow narrows a group row to what a delegated owner may see:
// the group's licenses from its allotments, and errors of those only.
func scopedGroupRow(e *licensing.Engine, sc *scope.Scope, row groupRow) groupRow {
	row.Licenses = nil
	for _, l := range e.GroupLicenses(row.ID) {
		if sc.Licenses(l.AllotmentID) {
			row.Licenses = append(row.Licenses, partNumber(e.Catalog(), l.SKUID))
		}
	}
	row.Errors = false
	for _, u := range e.MembersWithLicenseErrors(row.ID) {
		for _, l := range e.Licenses(u) {
			if !sc.Licenses(l.AllotmentID) {
				continue
			}
			for _, src := range l.Sources {
				row.Errors = row.Errors || (src.AssignedByGroup == row.ID && src.State == licensing.StateError)
			}
		}
	}
	return row
}

type groupsData struct {
	Q, Kind string
	Desc    bool
	Rows    []groupRow
	Pager   pager
}

// groups lists groups by display name: search by name prefix, filter by
// kind (dynamic, static, licensed, with errors), paged.
func (h *handler) groups(w http.ResponseWriter, r *http.Request, v *viewer) {
	qs := r.URL.Query()
	d := groupsData{Q: strings.TrimSpace(qs.Get("q")), Kind: qs.Get("kind"), Desc: qs.Get("dir") == "desc"}
	prefix := strings.ToLower(d.Q)
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		x := directoryOf(s)
		keep := func(id string) bool {
			switch d.Kind {
			case "dynamic", "static":
				g, _ := e.Group(id)
				return g.IsDynamic() == (d.Kind == "dynamic")
			case "licensed":
				return len(e.GroupLicenses(id)) > 0
			case "errors":
				return e.HasMembersWithLicenseErrors(id)
			}
			return true
		}
		byName := x.GroupsByName()
		dq := directory.Query{Order: directory.Order{Name: "name", Set: byName, KeyOf: func(id string) key { return groupKey(e, id) }},
			Desc: d.Desc, After: cursorKey(qs.Get("after"), "name", d.Desc), Before: cursorKey(qs.Get("before"), "name", d.Desc), Limit: pageSize}
		if prefix != "" {
			dq.Ranges = []directory.Range{{Scans: []directory.Scan{directory.PrefixScan(byName, prefix)}, Len: byName.CountPrefix(prefix),
				Order: "name", Exact: d.Kind == ""}}
			dq.Match = func(id string) bool { return strings.HasPrefix(groupKey(e, id).K, prefix) && keep(id) }
		} else if d.Kind != "" {
			dq.Match = keep
		}
		p := pageOf("name", d.Desc, x.List(dq, true))
		for _, k := range p.Keys {
			if row, ok := groupRowOf(e, k.ID); ok {
				d.Rows = append(d.Rows, row)
			}
		}
		d.Pager = pagerOf(r, p, "group", "groups")
	})
	h.render(w, r, v, http.StatusOK, "groups", pageData{Title: "Groups", Nav: "groups", Data: d})
}

type groupData struct {
	Group    licensing.Group
	Row      groupRow
	Licenses []groupLicenseView
	// Members: a page of the group's users in userPrincipalName order.
	Members      []userRow
	MemberQ      string
	MemberDesc   bool
	MemberPager  pager
	MemberGroups []namedLink
	// CanMembers: the viewer may add and remove members (a static group;
	// a writer of groups, or an owner of every license the group
	// carries: api/scope MayChangeMembers).
	CanMembers bool
	Assignable []skuRow
	Form       *licenseForm
	// Rule editing: the rule shown in the editor and the result of checking
	// it (on a preview or a refused save).
	Rule      string
	RuleState string
	Check     *rules.Check
}

type groupLicenseView struct {
	SKUID, PartNumber, DisplayName string
	AllotmentID, AllotmentName     string
	Disabled                       []string // plan names
	AssignedAt                     time.Time
}

// group shows a group: licenses (and the forms to assign them), dynamic
// rule editor, assignment mode and a page of members.
func (h *handler) group(w http.ResponseWriter, r *http.Request, v *viewer) {
	d, ok := h.groupData(r, v, "", nil)
	if !ok {
		h.notFound(w, r, v)
		return
	}
	h.render(w, r, v, http.StatusOK, "group", pageData{Title: d.Group.DisplayName, Nav: "groups", Data: d})
}

// groupData reads what the group page shows. rule and check, when set,
// replace the stored rule in the editor (a preview or a refused save).
func (h *handler) groupData(r *http.Request, v *viewer, rule string, check *rules.Check) (groupData, bool) {
	var d groupData
	found := false
	qs := r.URL.Query()
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		id := r.PathValue("id")
		g, ok := e.Group(id)
		if !ok || !v.scope(s).Group(id) {
			return
		}
		found = true
		x := directoryOf(s)
		d.Group = g
		d.Row, _ = groupRowOf(e, id)
		d.Rule, d.RuleState, d.Check = g.MembershipRule, g.MembershipRuleProcessingState, check
		if check != nil {
			d.Rule = rule
		}
		names := map[string]string{}
		for _, a := range e.Allotments() {
			names[a.ID] = a.DisplayName
		}
		sc := v.scope(s)
		if sc != nil {
			d.Row = scopedGroupRow(e, sc, d.Row)
		}
		_, allowed := sc.MayChangeMembers(e, id)
		d.CanMembers = v.CanManageMembers() && allowed && !g.IsDynamic()
		has := map[string]licensing.LicenseSource{}
		for _, l := range e.GroupLicenses(id) {
			if !sc.Licenses(l.AllotmentID) {
				continue // a delegated owner sees its allotments' licenses only
			}
			sku, _ := e.Catalog().SKU(l.SKUID)
			lv := groupLicenseView{SKUID: l.SKUID, PartNumber: sku.PartNumber, DisplayName: sku.DisplayName,
				AllotmentID: l.AllotmentID, AllotmentName: names[l.AllotmentID], AssignedAt: l.AssignedAt}
			for _, p := range l.DisabledPlans {
				lv.Disabled = append(lv.Disabled, planName(e.Catalog(), p))
			}
			d.Licenses = append(d.Licenses, lv)
			if l.AllotmentID == "" {
				has[l.SKUID] = l
			}
		}
		// Members, in userPrincipalName order, from the index.
		d.MemberQ = strings.ToLower(strings.TrimSpace(qs.Get("member")))
		d.MemberDesc = qs.Get("dir") == "desc"
		p := memberPage(x, id, d.MemberQ, d.MemberDesc, cursorKey(qs.Get("after"), "upn", d.MemberDesc), cursorKey(qs.Get("before"), "upn", d.MemberDesc))
		for _, k := range p.Keys {
			if row, ok := userRowOf(e, x, k.ID); ok {
				d.Members = append(d.Members, scopedRow(e, sc, row))
			}
		}
		d.MemberPager = pagerOf(r, p, "member", "members")
		if e.MemberCount(id) > x.MemberUsers(id).Len() {
			// The group has member groups (nested): only then list all
			// members, which sorts them.
			_, cs := e.Members(id)
			for _, c := range cs {
				if cg, ok := e.Group(c); ok && sc.Group(c) {
					d.MemberGroups = append(d.MemberGroups, namedLink{c, cg.DisplayName})
				}
			}
		}
		if !v.CanAssignGroup() {
			return
		}
		for _, row := range skuRows(e, x) {
			if _, ok := has[row.ID]; !ok {
				d.Assignable = append(d.Assignable, row)
			}
		}
		if sku, ok := e.Catalog().SKU(qs.Get("license")); ok && qs.Get("license") != "" {
			if _, owned := e.Pool(sku.ID); owned {
				l, change := has[sku.ID]
				d.Form = &licenseForm{SKUID: sku.ID, PartNumber: sku.PartNumber, DisplayName: sku.DisplayName, Change: change, Plans: planToggles(sku, l.DisabledPlans)}
			}
		}
	})
	return d, found
}

// assignGroupLicense assigns a product to a group (or changes its plans):
// members get it, or wait for a seat.
func (h *handler) assignGroupLicense(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	skuID := r.PostFormValue("sku")
	enabled := r.PostForm["plan"]
	withPlans := r.PostFormValue("plans") == "1"
	var part string
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		sku, ok := tx.Engine.Catalog().SKU(skuID)
		if !ok {
			return notFoundErr("Product %s does not exist.", skuID)
		}
		part = sku.PartNumber
		dis := []string{}
		if withPlans {
			dis = disabledFrom(sku, enabled)
		}
		return tx.Engine.AssignGroupLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: sku.ID, DisabledPlans: dis}}, nil)
	})
	h.done(w, r, "/admin/groups/"+id, err, part+" assigned to the group. Members get it now, or wait for a seat.")
}

// removeGroupLicense removes a product from a group.
func (h *handler) removeGroupLicense(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	skuID := r.PostFormValue("sku")
	var part string
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		sku, ok := tx.Engine.Catalog().SKU(skuID)
		if !ok {
			return notFoundErr("Product %s does not exist.", skuID)
		}
		part = sku.PartNumber
		return tx.Engine.AssignGroupLicenses(tx.Op, id, nil, []string{sku.ID})
	})
	h.done(w, r, "/admin/groups/"+id, err, part+" removed from the group.")
}

// setAssignmentMode sets how a group's products fail: each on its own
// (perProduct) or all together (allOrNone).
func (h *handler) setAssignmentMode(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	mode := r.PostFormValue("mode")
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		g, ok := tx.Engine.Group(id)
		if !ok {
			return notFoundErr("Group %s does not exist.", id)
		}
		g.AssignmentMode = mode
		return identity.PutGroup(tx, g)
	})
	h.done(w, r, "/admin/groups/"+id, err, "Assignment mode saved.")
}

// saveRule previews (action=preview) or saves a dynamic group's rule and
// processing state. A preview, or a rule the engine refuses, shows the
// page again with the rule as typed and what is wrong with it.
func (h *handler) saveRule(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	rule := r.PostFormValue("rule")
	state := r.PostFormValue("state")
	now := h.now()
	var check rules.Check
	v.T.Read(func(s *tenant.State) { check = s.Engine.CheckRule(rule, now) })
	if r.PostFormValue("action") == "preview" || !check.Valid {
		d, ok := h.groupData(r, v, rule, &check)
		if !ok {
			h.notFound(w, r, v)
			return
		}
		if state != "" {
			d.RuleState = state
		}
		status := http.StatusOK
		if !check.Valid {
			status = http.StatusBadRequest
		}
		h.render(w, r, v, status, "group", pageData{Title: d.Group.DisplayName, Nav: "groups", Data: d})
		return
	}
	err := v.T.Do(r.Context(), v.op(now, "admin center"), func(tx *tenant.Tx) error {
		g, ok := tx.Engine.Group(id)
		if !ok {
			return notFoundErr("Group %s does not exist.", id)
		}
		if !g.IsDynamic() {
			return invalidErr("Group %s has static membership; only dynamic groups have a membership rule.", g.DisplayName)
		}
		g.MembershipRule = rule
		if state != "" {
			g.MembershipRuleProcessingState = state
		}
		return identity.PutGroup(tx, g)
	})
	h.done(w, r, "/admin/groups/"+id, err, "Membership rule saved; members now follow it.")
}

// validateRule answers the rule editor's script: the rule's errors with
// their positions, or how many users it matches and a sample (the JSON of
// POST /allot/v1/rules/validate).
func (h *handler) validateRule(w http.ResponseWriter, r *http.Request, v *viewer) {
	var in struct {
		Rule string `json:"rule"`
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "The body must be a JSON object with a rule.", http.StatusBadRequest)
			return
		}
	} else {
		in.Rule = r.PostFormValue("rule")
	}
	var out rules.Check
	v.T.Read(func(s *tenant.State) { out = s.Engine.CheckRule(in.Rule, h.now()) })
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// groupKey is a group's key in the groups' name order.
func groupKey(e *licensing.Engine, id string) key {
	g, _ := e.Group(id)
	return key{K: strings.ToLower(g.DisplayName), ID: id}
}

// memberPage is a page of a group's user members in userPrincipalName
// order, those starting with prefix when it is not empty: from the
// group's members or the userPrincipalName range, whichever is smaller.
func memberPage(x *directory.Index, groupID, prefix string, desc bool, after, before *key) page {
	members := x.MemberUsers(groupID)
	dq := directory.Query{Order: userOrder(x, "upn"), Desc: desc, After: after, Before: before, Limit: pageSize,
		Ranges: []directory.Range{directory.RangeOf(members, "id")},
		Match: func(id string) bool {
			return members.Has(key{K: id}) && (prefix == "" || strings.HasPrefix(x.User(id).UPN, prefix))
		}}
	if prefix == "" {
		dq.Ranges[0].Exact = true
	} else {
		upns := x.UsersByUPN()
		dq.Ranges = append(dq.Ranges, directory.Range{Scans: []directory.Scan{directory.PrefixScan(upns, prefix)},
			Len: upns.CountPrefix(prefix), Order: "upn"})
	}
	return pageOf("upn", desc, x.List(dq, true))
}
