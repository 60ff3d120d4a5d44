package scim_test

import (
	"testing"

	"allot/deleteditems"
	"allot/licensing"
	"allot/tenant"
)

// A group pushed through SCIM carries licenses like any group: members
// added through SCIM PATCH get a seat, deleting a user releases its seat
// to the oldest waiting user, and a group with licenses cannot be deleted.
func TestMembershipPushedThroughSCIMDrivesLicenses(t *testing.T) {
	w := setup(t)
	w.Subscribe(w.tenant, "SPE_E3", 1)
	var sku string
	w.tn.Read(func(s *tenant.State) {
		k, _ := s.Engine.Catalog().SKU("SPE_E3")
		sku = k.ID
	})
	g := w.createGroup("Licensed")
	w.do(func(tx *tenantTx) error {
		return tx.Engine.AssignGroupLicenses(tx.Op, g, []licensing.AssignedLicense{{SKUID: sku}}, nil)
	})
	ann := w.createUser("ann@contoso.example")
	bob := w.createUser("bob@contoso.example")
	license := func(user string) (l licensing.License, ok bool) {
		w.tn.Read(func(s *tenant.State) { l, ok = s.Engine.License(user, sku) })
		return l, ok
	}

	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"add","path":"members","value":[{"value":"`+ann+`"}]}]}`)
	if l, ok := license(ann); !ok || !l.Held {
		t.Fatalf("ann after joining: %+v %v", l, ok)
	}
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+bob+`"}]}]}`)
	if l, ok := license(bob); !ok || l.Held || !l.Waiting() {
		t.Fatalf("bob should wait for the only seat: %+v %v", l, ok)
	}

	// Deleting ann releases her seat; bob, waiting, gets it.
	w.scim(204, "DELETE", "/Users/"+ann, nil)
	if l, _ := license(bob); !l.Held {
		t.Fatalf("bob after ann's deletion: %+v", l)
	}

	// A group with licenses cannot be deleted.
	r := w.scim(400, "DELETE", "/Groups/"+g, nil)
	scimError(t, r, "400", "mutability")

	// Removing bob from the group releases the seat.
	w.scim(204, "PATCH", "/Groups/"+g, `{"Operations":[{"op":"remove","path":"members[value eq \"`+bob+`\"]"}]}`)
	if _, ok := license(bob); ok {
		t.Fatal("bob keeps a license after leaving the group")
	}
	w.do(func(tx *tenantTx) error { return tx.Engine.AssignGroupLicenses(tx.Op, g, nil, []string{sku}) })
	w.scim(204, "DELETE", "/Groups/"+g, nil)
}

// Disabling a user (active false) keeps its seat, as in Entra.
func TestDeactivatedUserKeepsItsSeat(t *testing.T) {
	w := setup(t)
	w.Subscribe(w.tenant, "SPE_E3", 5)
	var sku string
	w.tn.Read(func(s *tenant.State) { k, _ := s.Engine.Catalog().SKU("SPE_E3"); sku = k.ID })
	u := w.createUser("u@contoso.example")
	g := w.createGroup("Licensed", u)
	w.do(func(tx *tenantTx) error {
		return tx.Engine.AssignGroupLicenses(tx.Op, g, []licensing.AssignedLicense{{SKUID: sku}}, nil)
	})
	w.scim(200, "PATCH", "/Users/"+u, `{"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	var l licensing.License
	var eu licensing.User
	w.tn.Read(func(s *tenant.State) { l, _ = s.Engine.License(u, sku); eu, _ = s.Engine.User(u) })
	if !l.Held || eu.AccountEnabled {
		t.Fatalf("license %+v, accountEnabled %v", l, eu.AccountEnabled)
	}
}

// A user deleted through SCIM goes to the deleted items like one deleted
// through Graph: out of /Users, restorable with its group membership.
func TestUserDeletedThroughSCIMCanBeRestored(t *testing.T) {
	w := setup(t)
	u := w.createUser("cy@contoso.example")
	g := w.createGroup("Team", u)
	w.scim(204, "DELETE", "/Users/"+u, nil)
	scimError(t, w.scim(404, "GET", "/Users/"+u, nil), "404", "")
	w.do(func(tx *tenantTx) error {
		_, err := deleteditems.Restore(tx, u, "")
		return err
	})
	w.scim(200, "GET", "/Users/"+u, nil)
	w.tn.Read(func(s *tenant.State) {
		if !s.Engine.IsMember(g, u) {
			t.Fatal("the restored user is not back in its group")
		}
	})
}
