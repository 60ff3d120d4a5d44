package usage

import (
	"strings"

	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

// ReportProduct is one product of a report row's Assigned Products.
type ReportProduct struct {
	Name  string `json:"name"`            // as the report wrote it
	SKUID string `json:"skuId,omitempty"` // the catalog's product; "" when no display name matches
}

// productNames maps the catalog's display names, normalised (normName), to
// products.
type productNames map[string]*catalog.SKU

func namesOf(cat *catalog.Catalog) productNames {
	m := productNames{}
	for _, s := range cat.SKUs() {
		if s.DisplayName != "" {
			if _, dup := m[normName(s.DisplayName)]; !dup {
				m[normName(s.DisplayName)] = s
			}
		}
	}
	return m
}

// normName is a product name as reports and the catalog can both be
// compared in: upper case, single spaces, no spaces around "+".
func normName(s string) string {
	s = strings.ToUpper(strings.Join(strings.Fields(s), " "))
	s = strings.ReplaceAll(s, " +", "+")
	return strings.ReplaceAll(s, "+ ", "+")
}

// AssignedProducts splits a report's Assigned Products value into
// products. The value joins products' display names with "+", and names
// contain "+" too ("ENTERPRISE MOBILITY + SECURITY E3"): the pieces are
// joined back into the longest catalog display name they spell, left to
// right; a piece no name covers is kept as written, without a product.
func AssignedProducts(cat *catalog.Catalog, v string) []ReportProduct {
	return namesOf(cat).split(v)
}

func (m productNames) split(v string) []ReportProduct {
	var parts []string
	for _, p := range strings.Split(v, "+") {
		parts = append(parts, strings.TrimSpace(p))
	}
	var out []ReportProduct
	for i := 0; i < len(parts); {
		if parts[i] == "" {
			i++
			continue
		}
		j, sku := i+1, (*catalog.SKU)(nil)
		for k := len(parts); k > i; k-- {
			if s, ok := m[normName(strings.Join(parts[i:k], "+"))]; ok {
				j, sku = k, s
				break
			}
		}
		rp := ReportProduct{Name: strings.Join(parts[i:j], " + ")}
		if sku != nil {
			rp.SKUID = sku.ID
		}
		out = append(out, rp)
		i = j
	}
	return out
}

// grantDates turns the active-user report's License Assign Dates into seat
// dates (licensing.SeatDate) for the engine: a held seat of product X is
// dated by the latest License Assign Date of the workloads X provides (a
// workload's date is the latest grant of any product that provides it, so
// the latest of X's workloads is never earlier than X's own grant: the seat
// may come out younger than it is, never older). When the row's Assigned
// Products name products, only those are dated. Only seats without a date
// from imported data take it (Engine.SetGrantDates).
func (r *Report) grantDates(tx *tenant.Tx) []licensing.SeatDate {
	if len(r.assigned) == 0 {
		return nil
	}
	e := tx.Engine
	cat := e.Catalog()
	// The plans of each workload's features.
	var wplans [len(assignWorkloads)]map[string]bool
	for k, w := range assignWorkloads {
		wplans[k] = map[string]bool{}
		for _, f := range ft.list {
			if f.Workload == w {
				for _, p := range f.Plans {
					wplans[k][strings.ToLower(p.ID)] = true
				}
			}
		}
	}
	provides := func(s *catalog.SKU, k int) bool {
		for _, p := range s.Plans {
			if wplans[k][p.ID] {
				return true
			}
		}
		return false
	}
	names := namesOf(cat)
	listed := map[uint32]map[string]bool{}
	var out []licensing.SeatDate
	for _, ra := range r.assigned {
		row := r.row(int(ra.row))
		uid := r.res.entries[ra.row].uid
		if uid == "" {
			continue
		}
		only, ok := listed[row.products]
		if !ok {
			for _, p := range names.split(r.products[row.products]) {
				if p.SKUID != "" {
					if only == nil {
						only = map[string]bool{}
					}
					only[p.SKUID] = true
				}
			}
			listed[row.products] = only
		}
		ls, ok := e.UserLicensesOf(uid)
		if !ok {
			continue
		}
		for i := 0; i < ls.Len(); i++ {
			l := ls.At(i)
			if !l.Held || (only != nil && !only[l.SKUID]) {
				continue
			}
			s, ok := cat.SKU(l.SKUID)
			if !ok {
				continue
			}
			var last Day
			for k := range assignWorkloads {
				if d := ra.date[k]; d > last && provides(s, k) {
					last = d
				}
			}
			if last == 0 {
				continue
			}
			at := last.Time()
			if at.Before(l.HeldSince.Time()) && l.GrantedAt.IsZero() {
				out = append(out, licensing.SeatDate{UserID: uid, SKUID: l.SKUID, AllotmentID: l.AllotmentID, GrantedAt: at})
			}
		}
	}
	return out
}

// productNames is the Assigned Products value i split into product names
// (AssignedProducts), memoised for the report.
func (r *Report) productNames(tx *tenant.Tx, i uint32) []string {
	if i == 0 {
		return nil
	}
	if r.split == nil {
		r.split, r.names = map[uint32][]string{}, namesOf(tx.Engine.Catalog())
	}
	if v, ok := r.split[i]; ok {
		return v
	}
	var out []string
	for _, p := range r.names.split(r.products[i]) {
		out = append(out, p.Name)
	}
	r.split[i] = out
	return out
}
