package position_test

import (
	"strings"
	"testing"

	"allot/licensing"
	"allot/position"
	"allot/tenant"
)

// Two users hold the same products, one of them twice (once through an
// allotment), at the same cost: ann holds E3 twice, bob Defender P2 twice,
// and the two are priced alike. Each one's fix removes the product that
// user holds twice, whichever user the position meets first.
func TestAFixForAProductHeldTwiceNamesTheUsersOwn(t *testing.T) {
	for _, order := range [][2]string{{"ann", "bob"}, {"bob", "ann"}} {
		e := newEnv(t)
		e.units(grant, "SPE_E3=10", "THREAT_INTELLIGENCE=10")
		e.do(grant, func(tx *tenant.Tx) error {
			for _, a := range []licensing.Allotment{
				{ID: "a-e3", DisplayName: "E3 for sales", SKUID: sku(t, "SPE_E3"), AllottedUnits: 2},
				{ID: "a-ti", DisplayName: "Defender for sales", SKUID: sku(t, "THREAT_INTELLIGENCE"), AllottedUnits: 2},
			} {
				if err := tx.Engine.PutAllotment(tx.Op, a); err != nil {
					return err
				}
			}
			return nil
		})
		twice := map[string]string{"ann": "a-e3", "bob": "a-ti"}
		for _, u := range order {
			e.user(grant, u, nil, "SPE_E3", "THREAT_INTELLIGENCE")
			e.do(grant, func(tx *tenant.Tx) error { return tx.Engine.AssignThroughAllotment(tx.Op, twice[u], u, nil) })
		}
		e.price("SPE_E3=36", "THREAT_INTELLIGENCE=36")
		var uses []string
		for _, u := range order {
			uses = append(uses, u+" exchangeMailbox 2024-06-20", u+" attackSimulation 2024-06-21")
		}
		e.uses(uses...)
		over := findings(e.position(), position.OverAssigned)
		for u, part := range map[string]string{"ann": "SPE_E3", "bob": "THREAT_INTELLIGENCE"} {
			f, ok := over[u]
			if !ok {
				t.Fatalf("order %v: no overAssigned finding for %s among %v", order, u, keys(over))
			}
			if strings.Join(f.Fix.Remove, "+") != part || delta(f) != -36 {
				t.Fatalf("order %v: %s's fix removes %v (%v, %s), want %s", order, u, f.Fix.Remove, delta(f), f.Fix.Description, part)
			}
		}
	}
}
