package storetest

import (
	"context"

	"allot/store"
)

// Gated is a store whose LoadObjects holds the loads of the tenants in
// Gates until their channel is closed (or the load's context ends) and
// fails the loads of the tenants in Fail: tests of what serves while a
// tenant loads, or after its load failed.
type Gated struct {
	store.Store
	Gates map[string]chan struct{}
	Fail  map[string]error
}

func (g *Gated) LoadObjects(ctx context.Context, id string, fn func(store.Object) error) error {
	if err := g.Fail[id]; err != nil {
		return err
	}
	if gate := g.Gates[id]; gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.LoadObjects(ctx, id, fn)
}
