package catalog

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// FieldError is a validation failure of one field of a custom product. Field
// is a path in the products' JSON shape, e.g. "products[1].servicePlans[0].servicePlanId",
// so that an API can hand it back to the caller as it is.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// WithCustom returns a new catalog: c's products plus a tenant's own
// products (the SaaS-vendor case), each marked Custom. c is not changed; the
// new catalog shares c's products and plan rules.
//
// Each product needs a skuId that is a GUID used by no product of c and no
// other product given; a non-empty skuPartNumber used by no other product
// (case-insensitive); appliesTo "User" (the default when empty) or
// "Company"; and at least one service plan. Each plan needs a GUID id and a
// name. A plan may be new or reuse a plan of c (same id, same name); a new
// plan's name may not be a name c or another given product already uses for
// a different id, and a product may not list a plan twice (by id or name).
// Ids are stored in lower case, names trimmed; an empty display name
// defaults to the part number and an empty friendly name to the plan name.
//
// On failure the error joins one *FieldError per problem (use errors.As),
// each naming the offending field.
func (c *Catalog) WithCustom(products []SKU) (*Catalog, error) {
	var errs []error
	fail := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	newSKUs := make([]*SKU, 0, len(products))
	skuIDs := map[string]string{} // skuId -> field that claimed it
	parts := map[string]string{}  // lower part number -> field
	planName := map[string]string{}
	planByName := map[string]string{} // lower name -> plan id, for plans new in this call

	for i := range products {
		in := &products[i]
		f := fmt.Sprintf("products[%d]", i)
		s := &SKU{
			ID:          strings.ToLower(cleanID(in.ID)),
			PartNumber:  cleanID(in.PartNumber),
			DisplayName: cleanName(in.DisplayName),
			AppliesTo:   cleanID(in.AppliesTo),
			Custom:      true,
		}
		switch {
		case s.ID == "":
			fail(f+".skuId", "required")
		case !isGUID(s.ID):
			fail(f+".skuId", "%q is not a GUID", in.ID)
		case c.byID[s.ID] != nil:
			fail(f+".skuId", "%s is already used by product %s", s.ID, c.byID[s.ID].PartNumber)
		case skuIDs[s.ID] != "":
			fail(f+".skuId", "%s is already used by %s", s.ID, skuIDs[s.ID])
		default:
			skuIDs[s.ID] = f
		}
		pk := strings.ToLower(s.PartNumber)
		switch {
		case s.PartNumber == "":
			fail(f+".skuPartNumber", "required")
		case len(c.byPart[pk]) > 0:
			fail(f+".skuPartNumber", "%q is already used by product %s", s.PartNumber, c.byPart[pk][0].ID)
		case parts[pk] != "":
			fail(f+".skuPartNumber", "%q is already used by %s", s.PartNumber, parts[pk])
		default:
			parts[pk] = f
		}
		if s.DisplayName == "" {
			s.DisplayName = s.PartNumber
		}
		switch s.AppliesTo {
		case "":
			s.AppliesTo = "User"
		case "User", "Company":
		default:
			fail(f+".appliesTo", "%q must be User or Company", in.AppliesTo)
		}
		if len(in.Plans) == 0 {
			fail(f+".servicePlans", "at least one service plan is required")
		}
		inSKU := map[string]bool{}
		inSKUName := map[string]bool{}
		for k, ip := range in.Plans {
			pf := fmt.Sprintf("%s.servicePlans[%d]", f, k)
			p := Plan{ID: strings.ToLower(cleanID(ip.ID)), Name: cleanName(ip.Name), FriendlyName: cleanName(ip.FriendlyName)}
			ok := true
			switch {
			case p.ID == "":
				fail(pf+".servicePlanId", "required")
				ok = false
			case !isGUID(p.ID):
				fail(pf+".servicePlanId", "%q is not a GUID", ip.ID)
				ok = false
			case inSKU[p.ID]:
				fail(pf+".servicePlanId", "plan %s is listed twice", p.ID)
				ok = false
			}
			ln := strings.ToLower(p.Name)
			switch {
			case p.Name == "":
				fail(pf+".servicePlanName", "required")
				ok = false
			case inSKUName[ln]:
				fail(pf+".servicePlanName", "plan name %q is listed twice", p.Name)
				ok = false
			}
			if !ok {
				continue
			}
			inSKU[p.ID], inSKUName[ln] = true, true
			// A reused plan keeps its identity; a new plan may not take a
			// name that already means another plan.
			if old := c.plans[p.ID]; old != nil {
				if !strings.EqualFold(old.Name, p.Name) {
					fail(pf+".servicePlanName", "plan %s is %s in the catalog, not %q", p.ID, old.Name, p.Name)
					continue
				}
			} else if old := c.planNames[ln]; old != nil {
				fail(pf+".servicePlanName", "%q is already the name of plan %s", p.Name, old.ID)
				continue
			} else if prev, seen := planName[p.ID]; seen && !strings.EqualFold(prev, p.Name) {
				fail(pf+".servicePlanName", "plan %s is named %q elsewhere in this request", p.ID, prev)
				continue
			} else if id, seen := planByName[ln]; seen && id != p.ID {
				fail(pf+".servicePlanName", "%q is already the name of plan %s in this request", p.Name, id)
				continue
			}
			planName[p.ID], planByName[ln] = p.Name, p.ID
			if p.FriendlyName == "" {
				p.FriendlyName = p.Name
			}
			s.Plans = append(s.Plans, p)
		}
		newSKUs = append(newSKUs, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	all := make([]*SKU, 0, len(c.skus)+len(newSKUs))
	all = append(all, c.skus...)
	all = append(all, newSKUs...)
	return build(all, c.rules, c.idx), nil
}

// NewSKU returns a custom product with a fresh random skuId, for
// WithCustom. Plans without an id get a fresh random one.
func NewSKU(partNumber, displayName string, plans []Plan) SKU {
	ps := make([]Plan, len(plans))
	for i, p := range plans {
		if p.ID == "" {
			p.ID = newGUID()
		}
		ps[i] = p
	}
	return SKU{ID: newGUID(), PartNumber: partNumber, DisplayName: displayName, AppliesTo: "User", Plans: ps, Custom: true}
}

// newGUID returns a random (version 4) GUID in lower case.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
