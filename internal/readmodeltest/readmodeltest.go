// Package readmodeltest is the synthetic state the read-model tests and
// benchmarks start from (a tenant's state outside any runtime) and the
// random directory commands they churn it with.
package readmodeltest

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/synth"
	"allot/tenant"
	"allot/userprop"
)

// Synthetic generates a synthetic tenant (synth.Generate with Microsoft's
// catalog and cfg), loads it into an engine with default usage location
// US, recomputes it at now and takes the delta: the state the read-model
// tests and benchmarks start from, outside any runtime.
func Synthetic(t testing.TB, cfg synth.Config, now time.Time) (*tenant.State, *synth.Tenant) {
	t.Helper()
	cat := catalog.Default()
	st := synth.Generate(cat, cfg)
	e := licensing.New(cat, licensing.Settings{DefaultUsageLocation: "US"})
	if err := st.LoadInto(e); err != nil {
		t.Fatal(err)
	}
	e.Recompute(licensing.Op{Now: now, Actor: "test"})
	e.TakeDelta()
	return &tenant.State{Engine: e}, st
}

// Churn runs one random command on e of the kinds a directory changes by:
// a user's department and mail changed, a user renamed, deleted or
// created (with a new id from *next), a license of one of st's products
// assigned to a user or a group, a user or group added to or removed from a group (a group cycle
// is refused), a group renamed or deleted, a product's units changed. The
// command may be refused; the caller takes the delta.
func Churn(r *rand.Rand, e *licensing.Engine, st *synth.Tenant, op licensing.Op, step int, next *int) {
	depts := []string{"Sales", "sales", "Legal", "Finance", ""}
	var ids []string
	e.ForEachUser(func(u *licensing.User) bool { ids = append(ids, u.ID); return true })
	gids := e.GroupIDs()
	if len(ids) == 0 || len(gids) == 0 {
		return
	}
	id, g := ids[r.Intn(len(ids))], gids[r.Intn(len(gids))]
	u, _ := e.User(id)
	sku := st.SKUs[r.Intn(len(st.SKUs))].ID
	switch r.Intn(10) {
	case 0:
		dept := depts[r.Intn(len(depts))]
		u.SetTexts(&userprop.Texts{userprop.Department: dept, userprop.Mail: fmt.Sprintf("m%d@contoso.example", r.Intn(5))})
		_ = e.PutUser(op, u)
	case 1:
		u.UserPrincipalName, u.DisplayName = fmt.Sprintf("renamed%d@contoso.example", step), fmt.Sprintf("Renamed %d", step)
		_ = e.PutUser(op, u)
	case 2:
		_ = e.DeleteUser(op, id)
	case 3:
		*next++
		_ = e.PutUser(op, licensing.User{ID: synth.GUID('u', 900000+*next), UserPrincipalName: fmt.Sprintf("new%d@contoso.example", *next),
			DisplayName: "New", UsageLocation: "US"}.With(userprop.Department, depts[r.Intn(len(depts))]))
	case 4:
		_ = e.AssignUserLicenses(op, id, []licensing.AssignedLicense{{SKUID: sku}}, nil)
	case 5:
		if e.IsMember(g, id) {
			_ = e.RemoveMembers(op, g, []string{id})
		} else {
			_ = e.AddMembers(op, g, []string{id})
		}
	case 6:
		c := gids[r.Intn(len(gids))]
		if e.IsMember(g, c) {
			_ = e.RemoveMembers(op, g, []string{c})
		} else if c != g {
			_ = e.AddMembers(op, g, []string{c}) // refused when it makes a cycle
		}
	case 7:
		grp, _ := e.Group(g)
		grp.DisplayName = fmt.Sprintf("Group %d", r.Intn(50))
		_ = e.PutGroup(op, grp)
	case 8:
		if len(gids) > 4 && r.Intn(4) == 0 {
			_ = e.DeleteGroup(op, g)
		} else {
			_ = e.AssignGroupLicenses(op, g, []licensing.AssignedLicense{{SKUID: sku}}, nil)
		}
	case 9:
		p, _ := e.Pool(sku)
		units := p.Units
		units.Enabled = max(0, units.Enabled+r.Intn(41)-20)
		_ = e.SetUnits(op, sku, units)
	}
}
