package chargeback

import (
	"context"

	"allot"
	"allot/tenant"
)

// One report at a time in the process: each walks every user of a
// snapshot.
var computing = make(chan struct{}, 1)

// ReportOf computes the chargeback of a tenant grouped by by, as GET
// /allot/v1/chargeback answers it (the admin center's page shows the
// same): one report at a time in the process, on a tenant snapshot.
func ReportOf(ctx context.Context, t *tenant.Tenant, by string) (*Report, error) {
	if err := CheckBy(by); err != nil {
		return nil, err
	}
	select {
	case computing <- struct{}{}:
	case <-ctx.Done():
		return nil, allot.Errorf(allot.EINVALID, "The request was cancelled while it waited for another chargeback report.")
	}
	defer func() { <-computing }()
	// A snapshot, not Tenant.Read: the walk over every user takes long
	// at a million users and would hold commits up.
	snap, err := t.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return Compute(snap, by)
}
