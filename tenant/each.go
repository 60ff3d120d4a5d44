package tenant

import (
	"maps"
	"slices"
)

// EachOf calls fn with each tenant of work (a background service's pending
// work, keyed by tenant id) that the runtime has, in id order; work of a
// tenant the runtime does not have is passed over.
func EachOf[V any](r *Runtime, work map[string]V, fn func(t *Tenant, v V)) {
	for _, id := range slices.Sorted(maps.Keys(work)) {
		if t, ok := r.Get(id); ok {
			fn(t, work[id])
		}
	}
}
