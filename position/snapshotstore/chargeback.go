package snapshotstore

import (
	"strings"

	"allot"
	"allot/chargeback"
	"allot/position"
	"allot/tenant"
)

// ChargebackTrend is the trend of grouping by of a tenant, as GET
// /allot/v1/chargeback/trend answers it (the admin center's page shows
// the same): EINVALID when no snapshot kept by and the tenant's settings
// do not list it.
func ChargebackTrend(t *tenant.Tenant, by string) (chargeback.TrendReport, error) {
	var snaps []position.Snapshot
	var st chargeback.Settings
	var err error
	t.Read(func(s *tenant.State) {
		snaps = List(s)
		st, err = chargeback.SettingsOf(s)
	})
	if err != nil {
		return chargeback.TrendReport{}, err
	}
	if !chargeback.Kept(snaps, by) && !containsFold(st.TrendBy, by) {
		return chargeback.TrendReport{}, allot.Errorf(allot.EINVALID,
			"No snapshot keeps the cost per %s: the snapshots keep %s (PUT /allot/v1/chargeback/settings to keep others from the next snapshot on).",
			by, strings.Join(st.TrendBy, ", "))
	}
	return chargeback.Trend(snaps, by), nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
