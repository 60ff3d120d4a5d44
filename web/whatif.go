package web

import (
	"fmt"
	"net/http"

	"allot/auth"
	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
	"allot/usage"
	"allot/whatif"
)

// The what-if page (POST /admin/whatif): the "What if?" buttons beside the
// group and user license forms, the membership rule, allotment and
// settings forms, and on the findings page post their form here with op
// set; the change is tried on the tenant's writer's copy, set back
// afterwards (tenant.Tenant.Try, package whatif, as POST
// /allot/v1/whatif), and the difference shown. Nothing is changed. Delegated allotment owners cannot ask (the
// commands reach beyond their allotments).

type whatIfData struct {
	Title    string
	Result   *whatif.Result
	Currency string
	Back     string // the page the button was on
	Rows     []whatIfSeatRow
}

type whatIfSeatRow struct {
	Part                          string
	OwnedBefore, OwnedAfter       int
	AssignedBefore, AssignedAfter int
	WaitingBefore, WaitingAfter   int
	CostBefore, CostAfter         string
}

func (h *handler) whatIfPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	if v.Limited {
		h.fail(w, r, v, http.StatusForbidden, "What-if is for administrators and readers of the whole tenant.")
		return
	}
	var c whatif.Command
	d := whatIfData{Back: "/admin/findings"}
	switch op := r.PostFormValue("op"); op {
	case whatif.OpApplyFixes:
		c = whatif.Command{Op: op}
		d.Title = "What if the fixes are applied"
		if k := r.PostFormValue("kind"); k != "" {
			c.Kinds = []string{k}
			d.Title += " (" + k + ")"
		}
	case whatif.OpSetGroupLicenses:
		g := r.PostFormValue("group")
		d.Back = "/admin/groups/" + g
		var dis []string
		c = whatif.Command{Op: op, GroupID: g}
		skuID := r.PostFormValue("sku")
		var sku *catalog.SKU
		ok := false
		v.T.Read(func(s *tenant.State) { sku, ok = s.Engine.Catalog().SKU(skuID) })
		if ok {
			if r.PostFormValue("plans") == "1" {
				dis = disabledFrom(sku, r.PostForm["plan"])
			}
			c.AddLicenses = []licensing.AssignedLicense{{SKUID: sku.ID, DisabledPlans: dis}}
			d.Title = "What if " + sku.PartNumber + " is assigned to the group"
		} else {
			c.AddLicenses = []licensing.AssignedLicense{{SKUID: skuID}}
			d.Title = "What if the product is assigned to the group"
		}
	case whatif.OpSetUserLicenses:
		u := r.PostFormValue("user")
		d.Back = "/admin/users/" + u
		c = whatif.Command{Op: op, UserID: u}
		skuID := r.PostFormValue("sku")
		var sku *catalog.SKU
		ok := false
		var cur *licensing.LicenseSource
		v.T.Read(func(s *tenant.State) {
			sku, ok = s.Engine.Catalog().SKU(skuID)
			if ok {
				cur = directOf(s.Engine, u, sku.ID)
			}
		})
		if ok {
			dis := []string{}
			if r.PostFormValue("plans") == "1" {
				dis = disabledFrom(sku, r.PostForm["plan"])
			} else if cur != nil {
				dis = cur.DisabledPlans
			}
			c.AddLicenses = []licensing.AssignedLicense{{SKUID: sku.ID, DisabledPlans: dis}}
			d.Title = "What if " + sku.PartNumber + " is assigned to the user"
		} else {
			c.AddLicenses = []licensing.AssignedLicense{{SKUID: skuID}}
			d.Title = "What if the product is assigned to the user"
		}
	case whatif.OpPutAllotment:
		id := r.PostFormValue("allotment")
		d.Back = "/admin/allotments/" + id
		units, err := unitsOf(r.PostFormValue("allottedUnits"))
		if err != nil {
			h.failErr(w, r, v, err)
			return
		}
		c = whatif.Command{Op: op, Allotment: &licensing.Allotment{ID: id, DisplayName: r.PostFormValue("displayName"), AllottedUnits: units,
			Owners: ownersOf(r.PostFormValue("owners"))}}
		d.Title = "What if the allotment has " + plural(units, "unit", "units")
	case whatif.OpSetSettings:
		d.Back = "/admin/settings"
		p := settingsPatchOf(r)
		c = whatif.Command{Op: op, Settings: &p}
		d.Title = "What if the settings change"
	case whatif.OpSetMembershipRule:
		g := r.PostFormValue("group")
		d.Back = "/admin/groups/" + g
		rule := r.PostFormValue("rule")
		c = whatif.Command{Op: op, GroupID: g, MembershipRule: &rule}
		d.Title = "What if the group's rule changes"
	default:
		h.fail(w, r, v, http.StatusBadRequest, "Choose what to try: the fixes, a group's or user's license, a group's rule, an allotment or the settings.")
		return
	}
	cmds := []whatif.Command{c}
	if err := whatif.Check(cmds); err != nil {
		h.failErr(w, r, v, err)
		return
	}
	whatif.Prepare(cmds, auth.NewID)
	now := h.now().UTC()
	// The commands run on the tenant's writer's copy, which is set back
	// afterwards (tenant.Tenant.Try: no copy of the tenant); applyFixes
	// reuses the findings page's position when it is of the same commit
	// and day.
	var res *whatif.Result
	err := v.T.Try(r.Context(), func(before, after *tenant.State) error {
		var err error
		res, err = whatif.TryOn(before, after, cmds, whatif.Options{AsOf: usage.DayOf(now), Now: now, Actor: v.P.Actor(), NewID: auth.NewID,
			Position: positions.of(v.T.ID, before.Commit(), usage.DayOf(now))})
		return err
	})
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	d.Result = res
	if res.Currency != nil {
		d.Currency = *res.Currency
	}
	d.Rows = seatRows(res)
	h.render(w, r, v, http.StatusOK, "whatif", pageData{Title: d.Title, Nav: "findings", Data: d})
}

func seatRows(res *whatif.Result) []whatIfSeatRow {
	cost := func(p *float64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf("%.2f", *p)
	}
	after := map[string]whatif.Seats{}
	for _, s := range res.After.SKUs {
		after[s.SKUID] = s
	}
	var out []whatIfSeatRow
	seen := map[string]bool{}
	add := func(b, a whatif.Seats, part string) {
		out = append(out, whatIfSeatRow{Part: part, OwnedBefore: b.Owned, OwnedAfter: a.Owned, AssignedBefore: b.Assigned, AssignedAfter: a.Assigned,
			WaitingBefore: b.Waiting, WaitingAfter: a.Waiting, CostBefore: cost(b.MonthlyCost), CostAfter: cost(a.MonthlyCost)})
	}
	for _, b := range res.Before.SKUs {
		seen[b.SKUID] = true
		add(b, after[b.SKUID], b.SKUPartNumber)
	}
	for _, a := range res.After.SKUs {
		if !seen[a.SKUID] {
			add(whatif.Seats{}, a, a.SKUPartNumber)
		}
	}
	bt, at := res.Before.Totals, res.After.Totals
	out = append(out, whatIfSeatRow{Part: "Total", OwnedBefore: bt.Owned, OwnedAfter: at.Owned, AssignedBefore: bt.Assigned, AssignedAfter: at.Assigned,
		WaitingBefore: bt.Waiting, WaitingAfter: at.Waiting, CostBefore: cost(bt.MonthlyCost), CostAfter: cost(at.MonthlyCost)})
	return out
}
