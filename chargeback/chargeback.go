// Package chargeback splits a tenant's monthly license cost between the
// parts of the organisation: per department, company, any user attribute
// the tenant picks (a cost center in extensionAttribute3, say), or per
// allotment. The cost rule is the license position's (package position):
// each seat costs its product's monthly unit price from the tenant's price
// list (prices.List.Units); a seat is charged to the user who holds it, and
// the seats nobody holds to "(unassigned)", so that the rows add up to the
// position's owned cost of the priced products.
package chargeback

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"

	"allot"
	"allot/licensing"
	"allot/position"
	"allot/prices"
	"allot/tenant"
	"allot/userprop"
)

// Unassigned is the row of the seats nobody holds; Unset the row of users
// without a value of the attribute.
const (
	Unassigned = "(unassigned)"
	Unset      = "(none)"
)

// Report is a chargeback.
type Report struct {
	By       string    `json:"by"`
	Currency string    `json:"currency"`
	Rows     []Row     `json:"rows"`
	Total    float64   `json:"monthlyCost"`
	Unpriced []string  `json:"unpricedProducts"` // part numbers with held seats the price list does not price
	Products []Product `json:"products"`
}

// Row is one part of the organisation.
type Row struct {
	Key         string    `json:"key"`
	Users       int       `json:"users"`
	Seats       int       `json:"seats"`
	MonthlyCost float64   `json:"monthlyCost"`
	Products    []Product `json:"products"`
}

// Product is a product's seats and cost within a row (or the tenant).
type Product struct {
	SKUID       string  `json:"skuId"`
	PartNumber  string  `json:"skuPartNumber"`
	Seats       int     `json:"seats"`
	UnitPrice   float64 `json:"unitPrice"`
	MonthlyCost float64 `json:"monthlyCost"`
}

// CheckBy checks a grouping: "allotment", a property of the user-property
// registry (package userprop) or an attribute name.
func CheckBy(by string) error {
	if by == "" {
		return allot.Errorf(allot.EINVALID, "by is required: department, companyName, jobTitle, country, city, usageLocation, allotment, or a user attribute such as extensionAttribute1.")
	}
	if len(by) > 64 || strings.ContainsAny(by, " \t\r\n,;/") {
		return allot.Errorf(allot.EINVALID, "by %q is not a property name.", by)
	}
	return nil
}

type acc struct {
	users    int
	seats    map[string]int // skuId → seats
	lastUser string
}

// Compute returns the chargeback of a tenant's state (inside Tenant.Read or
// on a snapshot) grouped by by. Without a price list it is EINVALID.
func Compute(s *tenant.State, by string) (*Report, error) {
	if err := CheckBy(by); err != nil {
		return nil, err
	}
	pl, ok, err := prices.Of(s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, allot.Errorf(allot.EINVALID, "The tenant has no price list: PUT /allot/v1/prices first.")
	}
	e := s.Engine
	key := keyFunc(by)
	rows := map[string]*acc{}
	held := map[string]int{}
	add := func(k, userID, sku string) {
		a := rows[k]
		if a == nil {
			a = &acc{seats: map[string]int{}}
			rows[k] = a
		}
		if a.lastUser != userID {
			a.users++
			a.lastUser = userID
		}
		a.seats[sku]++
		held[sku]++
	}
	e.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
		for i := range ls.Len() {
			l := ls.At(i)
			if !l.Held {
				continue
			}
			if by == "allotment" {
				k := l.AllotmentID
				if k == "" {
					k = Unset
				}
				add(k, u.ID, l.SKUID)
			} else {
				add(key(u), u.ID, l.SKUID)
			}
		}
		return true
	})
	// The seats nobody holds: the owned (enabled) units less the held
	// ones, as the position counts them.
	allotCons := map[string]int{}
	for _, a := range e.Allotments() {
		allotCons[a.SKUID] += a.ConsumedUnits
	}
	for _, p := range e.Pools() {
		owned := position.AccountsOf(p, allotCons[p.SKU.ID]).Owned
		if free := owned - held[p.SKU.ID]; free > 0 {
			a := rows[Unassigned]
			if a == nil {
				a = &acc{seats: map[string]int{}}
				rows[Unassigned] = a
			}
			a.seats[p.SKU.ID] += free
		}
	}
	r := &Report{By: by, Currency: pl.Currency}
	names := map[string]string{}
	for _, p := range e.Pools() {
		names[p.SKU.ID] = p.SKU.PartNumber
	}
	totals := map[string]int{}
	unpriced := map[string]bool{}
	var total int64
	for k, a := range rows {
		row := Row{Key: k, Users: a.users}
		var cost int64
		for sku, n := range a.seats {
			unit, priced := pl.Units(sku)
			if !priced {
				unpriced[names[sku]] = true
				continue
			}
			row.Seats += n
			cost += int64(n) * unit
			totals[sku] += n
			row.Products = append(row.Products, Product{SKUID: sku, PartNumber: names[sku], Seats: n, UnitPrice: prices.FromUnits(unit), MonthlyCost: prices.FromUnits(int64(n) * unit)})
		}
		if row.Seats == 0 {
			continue
		}
		sort.Slice(row.Products, func(i, j int) bool { return row.Products[i].PartNumber < row.Products[j].PartNumber })
		row.MonthlyCost = prices.FromUnits(cost)
		total += cost
		r.Rows = append(r.Rows, row)
	}
	sort.Slice(r.Rows, func(i, j int) bool {
		if r.Rows[i].MonthlyCost != r.Rows[j].MonthlyCost {
			return r.Rows[i].MonthlyCost > r.Rows[j].MonthlyCost
		}
		return r.Rows[i].Key < r.Rows[j].Key
	})
	for sku, n := range totals {
		unit, _ := pl.Units(sku)
		r.Products = append(r.Products, Product{SKUID: sku, PartNumber: names[sku], Seats: n, UnitPrice: prices.FromUnits(unit), MonthlyCost: prices.FromUnits(int64(n) * unit)})
	}
	sort.Slice(r.Products, func(i, j int) bool { return r.Products[i].PartNumber < r.Products[j].PartNumber })
	for n := range unpriced {
		r.Unpriced = append(r.Unpriced, n)
	}
	sort.Strings(r.Unpriced)
	if r.Rows == nil {
		r.Rows = []Row{}
	}
	if r.Unpriced == nil {
		r.Unpriced = []string{}
	}
	r.Total = prices.FromUnits(total)
	return r, nil
}

// keyFunc reads the grouping value of a user (a property of the
// user-property registry, else the attribute of that name); "(none)" when
// empty.
func keyFunc(by string) func(u *licensing.User) string {
	get := userprop.Read(by)
	return func(u *licensing.User) string {
		if v := strings.TrimSpace(get(u)); v != "" {
			return v
		}
		return Unset
	}
}

// WriteCSV writes a report as CSV: one line per row and product, then a
// total line.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	money := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	_ = cw.Write([]string{r.By, "skuPartNumber", "skuId", "seats", "unitPrice", "monthlyCost", "currency"})
	for _, row := range r.Rows {
		for _, p := range row.Products {
			_ = cw.Write([]string{csvSafe(row.Key), p.PartNumber, p.SKUID, strconv.Itoa(p.Seats), money(p.UnitPrice), money(p.MonthlyCost), r.Currency})
		}
	}
	_ = cw.Write([]string{"(total)", "", "", "", "", money(r.Total), r.Currency})
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
