package demo

import (
	"context"
	"time"

	"allot/position"
	"allot/position/snapshotstore"
	"allot/prices"
	"allot/tenant"
)

// listPrices are the demo's monthly prices per seat (USD, annual term), in
// the region of Microsoft's list prices.
var listPrices = map[string]float64{
	"SPE_E3": 36, "SPE_E5": 57, "SPB": 22, "EMS": 10.6, "POWER_BI_PRO": 14, "Microsoft_365_Copilot": 30,
	"VISIOCLIENT": 15, "PROJECTPROFESSIONAL": 30, "MCOEV": 10, "MCOPSTN5": 6, "EXCHANGEARCHIVE_ADDON": 3,
}

// priceList is the demo's price list, checked against the tenant's catalog.
func priceList(tx *tenant.Tx, d *data) error {
	l := prices.List{Currency: "USD", UpdatedAt: tx.Op.Now}
	for _, p := range d.products {
		l.Prices = append(l.Prices, prices.Price{SKUPartNumber: p.part, MonthlyUnitPrice: listPrices[p.part], Term: "P1Y"})
	}
	if err := l.Check(tx.Engine.Catalog()); err != nil {
		return err
	}
	return prices.Put(tx, l)
}

// snapshot takes the demo's first license position snapshot, so that the
// dashboard shows required and used seats from the start.
func snapshot(ctx context.Context, t *tenant.Tenant, now time.Time) error {
	_, _, err := snapshotstore.Take(ctx, t, "demo-"+now.Format("20060102"), position.OriginOnDemand, "allot demo", now)
	return err
}
