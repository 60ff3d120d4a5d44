package web

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// productSorts are the orders of the products table: by part number, or a
// figure, largest first.
var productSorts = map[string]func(a, b skuRow) int{
	"name":      func(a, b skuRow) int { return cmp.Compare(a.PartNumber, b.PartNumber) },
	"owned":     func(a, b skuRow) int { return cmp.Compare(b.Owned, a.Owned) },
	"assigned":  func(a, b skuRow) int { return cmp.Compare(b.Assigned, a.Assigned) },
	"available": func(a, b skuRow) int { return cmp.Compare(b.Available, a.Available) },
	"waiting":   func(a, b skuRow) int { return cmp.Compare(b.Waiting, a.Waiting) },
	"errors":    func(a, b skuRow) int { return cmp.Compare(b.Errors, a.Errors) },
}

type productsData struct {
	Sort          string
	SKUs          []productRow
	Subscriptions []subscription.Subscription
}

type productRow struct {
	skuRow
	Plans []catalog.Plan
}

// subscriptionsOf returns the tenant's subscriptions (partner API objects),
// oldest first.
func subscriptionsOf(s *tenant.State) []subscription.Subscription {
	var out []subscription.Subscription
	for _, id := range s.IDs(store.KindSubscription) {
		var sub subscription.Subscription
		if ok, err := s.Decode(store.KindSubscription, id, &sub); ok && err == nil {
			out = append(out, sub)
		}
	}
	slices.SortFunc(out, func(a, b subscription.Subscription) int {
		return cmp.Or(a.CreationDate.Compare(b.CreationDate), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func (h *handler) products(w http.ResponseWriter, r *http.Request, v *viewer) {
	d := productsData{Sort: r.URL.Query().Get("sort")}
	by, ok := productSorts[d.Sort]
	if !ok {
		d.Sort, by = "name", productSorts["name"]
	}
	v.T.Read(func(s *tenant.State) {
		rows := skuRows(s.Engine, directoryOf(s))
		slices.SortStableFunc(rows, by)
		for _, row := range rows {
			pr := productRow{skuRow: row}
			if sku, ok := s.Engine.Catalog().SKU(row.ID); ok {
				pr.Plans = sku.Plans
			}
			d.SKUs = append(d.SKUs, pr)
		}
		d.Subscriptions = subscriptionsOf(s)
	})
	h.render(w, r, v, http.StatusOK, "products", pageData{Title: "Products", Nav: "products", Data: d})
}

type productData struct {
	SKU           *catalog.SKU
	Row           skuRow
	Subscriptions []subscription.Subscription
	Plans         []planInfo
	Groups        []groupLicenseRow
	Allotments    []licensing.AllotmentInfo
	Users         int // users with a license of the product (holding, waiting or in error)
}

// planInfo is a plan with the rules that apply to it, in words.
type planInfo struct {
	catalog.Plan
	Rules []string
}

// groupLicenseRow is a group that assigns the product.
type groupLicenseRow struct {
	ID, Name      string
	Members       int
	Disabled      int
	AllotmentName string
	Errors        bool
}

func (h *handler) product(w http.ResponseWriter, r *http.Request, v *viewer) {
	var d productData
	found := false
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		sku, ok := e.Catalog().SKU(r.PathValue("sku"))
		if !ok {
			return
		}
		for _, row := range skuRows(e, directoryOf(s)) {
			if row.ID == sku.ID {
				d.Row, found = row, true
			}
		}
		if !found {
			return
		}
		d.SKU = sku
		for _, sub := range subscriptionsOf(s) {
			if sub.SKUID == sku.ID {
				d.Subscriptions = append(d.Subscriptions, sub)
			}
		}
		d.Plans = planInfos(e.Catalog(), sku)
		names := map[string]string{}
		for _, a := range e.Allotments() {
			names[a.ID] = a.DisplayName
			if a.SKUID == sku.ID {
				d.Allotments = append(d.Allotments, a)
			}
		}
		for _, id := range e.GroupIDs() {
			for _, l := range e.GroupLicenses(id) {
				if l.SKUID != sku.ID {
					continue
				}
				g, _ := e.Group(id)
				d.Groups = append(d.Groups, groupLicenseRow{ID: id, Name: g.DisplayName, Members: e.MemberCount(id),
					Disabled: len(l.DisabledPlans), AllotmentName: names[l.AllotmentID], Errors: e.HasMembersWithLicenseErrors(id)})
			}
		}
		slices.SortFunc(d.Groups, func(a, b groupLicenseRow) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
		})
		d.Users = directoryOf(s).UsersWithSKU(sku.ID).Len()
	})
	if !found {
		h.notFound(w, r, v)
		return
	}
	h.render(w, r, v, http.StatusOK, "product", pageData{Title: d.SKU.PartNumber, Nav: "products", Data: d})
}

// planInfos lists a product's plans with the catalog's rules about each.
func planInfos(c *catalog.Catalog, sku *catalog.SKU) []planInfo {
	rs := c.Rules()
	name := func(id string) string {
		if p, ok := c.Plan(id); ok {
			return p.Name
		}
		return id
	}
	out := make([]planInfo, len(sku.Plans))
	for i, p := range sku.Plans {
		pi := planInfo{Plan: p}
		for _, d := range rs.Dependencies {
			if d.Plan == p.ID {
				var req []string
				for _, r := range d.RequiresAnyOf {
					req = append(req, name(r))
				}
				pi.Rules = append(pi.Rules, "requires "+strings.Join(req, " or "))
			}
		}
		for _, x := range rs.Exclusions {
			switch p.ID {
			case x.Plans[0]:
				pi.Rules = append(pi.Rules, "cannot be combined with "+name(x.Plans[1]))
			case x.Plans[1]:
				pi.Rules = append(pi.Rules, "cannot be combined with "+name(x.Plans[0]))
			}
		}
		out[i] = pi
	}
	return out
}
