package positionapi

import (
	"net/http"
	"strconv"

	"allot/api/respond"
	"allot/audit"
	"allot/auth"
	"allot/licensing"
	"allot/prices"
	"allot/tenant"
)

// priceListBody is the PUT body and the GET answer.
type priceListBody struct {
	Currency  *string        `json:"currency"`
	Prices    []prices.Price `json:"prices"`
	UpdatedAt *string        `json:"updatedDateTime,omitempty"`
	// What the tenant may buy (prices.List): the cheapest covers choose
	// among these.
	TenantKind string   `json:"tenantKind"`
	MayBuy     []string `json:"mayBuy"`
}

// getPrices: GET /allot/v1/prices — the price list ({"currency":null,
// "prices":[]} when there is none).
func (h *handler) getPrices(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.access(w, r, auth.ReadLicenseUsage, false)
	if !ok {
		return
	}
	var l *prices.List
	var err error
	t.Read(func(s *tenant.State) { l, _, err = prices.Of(s) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toBody(l))
}

func toBody(l *prices.List) priceListBody {
	if l == nil {
		return priceListBody{Prices: []prices.Price{}, TenantKind: "commercial", MayBuy: []string{}}
	}
	at := l.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z")
	kind := l.TenantKind
	if kind == "" {
		kind = "commercial"
	}
	may := l.MayBuy
	if may == nil {
		may = []string{}
	}
	return priceListBody{Currency: &l.Currency, Prices: l.Prices, UpdatedAt: &at, TenantKind: kind, MayBuy: may}
}

// putPrices: PUT /allot/v1/prices {"currency","prices":[{skuId or
// skuPartNumber, monthlyUnitPrice, term}], "tenantKind" (commercial,
// education, government, nonprofit; default commercial), "mayBuy" (skuIds
// or part numbers; empty: everything of the tenant's kind)} — replaces the
// list. Errors name the entry (prices[i].field, mayBuy[i]).
func (h *handler) putPrices(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing, false)
	if !ok {
		return
	}
	var body priceListPut
	if err := respond.Decode(r, &body, 4<<20, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	l := prices.List{Currency: body.Currency, Prices: body.Prices, UpdatedAt: h.now().UTC(), TenantKind: body.TenantKind, MayBuy: body.MayBuy}
	var err error
	t.Read(func(s *tenant.State) { err = l.Check(s.Engine.Catalog()) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	err = t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: l.UpdatedAt}, func(tx *tenant.Tx) error {
		tx.Audit(audit.Entry{Action: "Set price list", Detail: l.Currency + ", " + strconv.Itoa(len(l.Prices)) + " products"})
		return prices.Put(tx, l)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, toBody(&l))
}

// priceListPut is the body of PUT /allot/v1/prices: the whole price list (it replaces the previous one).
type priceListPut struct {
	Currency   string         `json:"currency" required:"true" doc:"ISO 4217 code (EUR, USD, …)"`
	Prices     []prices.Price `json:"prices" required:"true" doc:"One entry per product: skuId or skuPartNumber, monthlyUnitPrice, term (P1M, P1Y, P3Y)"`
	TenantKind string         `json:"tenantKind" enum:"commercial,education,government,nonprofit" doc:"What the tenant may buy (default commercial)"`
	MayBuy     []string       `json:"mayBuy" doc:"skuIds or part numbers the cheapest covers may choose; empty: everything of the tenant's kind"`
}
