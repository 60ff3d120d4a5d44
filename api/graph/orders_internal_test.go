package graph

import (
	"testing"

	"allot/userprop"
)

// TestEverySortablePropertyHasAnOrder: $orderby accepts exactly the
// registry's Sortable properties, each with an order the directory read
// model keeps.
func TestEverySortablePropertyHasAnOrder(t *testing.T) {
	n := 0
	for i := range userprop.Users {
		p := &userprop.Users[i]
		od, ok := userOrders[p.Key()]
		if p.Sortable != ok {
			t.Errorf("%s: Sortable %v, order kept %v", p.Name, p.Sortable, ok)
		}
		if ok {
			n++
			if od.set == nil || od.name != p.Name {
				t.Errorf("%s: order %+v", p.Name, od.name)
			}
		}
	}
	if n != len(userOrders)-1 { // and "": the default order, by id
		t.Errorf("%d orders for %d sortable properties", len(userOrders)-1, n)
	}
}
