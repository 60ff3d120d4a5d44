package admin

import (
	"errors"
	"net/http"
	"strings"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// Custom products (the SaaS-vendor case): a tenant adds its own SKUs and
// service plans to the Microsoft catalog; subscriptions, licenses and
// allotments then work with them like with Microsoft's.

// visibleProduct reports whether the principal may see a product of the
// tenant's catalog: Microsoft's are public; a tenant's custom products are
// the tenant's business, and an allotment owner sees only those of its
// allotments (api/scope SKU).
func visibleProduct(s *tenant.State, p *auth.Principal, sku *catalog.SKU) bool {
	if !sku.Custom {
		return true
	}
	return scope.Of(p, s.Engine).SKU(s.Engine, sku.ID)
}

func (h *handler) listProducts(w http.ResponseWriter, r *http.Request) {
	t, pr, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	customOnly := r.URL.Query().Get("custom") == "true"
	search := r.URL.Query().Get("search")
	var out []*catalog.SKU
	t.Read(func(s *tenant.State) {
		for _, p := range s.Engine.Catalog().Search(search) {
			if (!customOnly || p.Custom) && visibleProduct(s, pr, p) {
				out = append(out, p)
			}
		}
	})
	if out == nil {
		out = []*catalog.SKU{}
	}
	respond.JSON(w, http.StatusOK, valueList[*catalog.SKU]{Value: out})
}

func (h *handler) getProduct(w http.ResponseWriter, r *http.Request) {
	t, pr, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var p *catalog.SKU
	var ok bool
	t.Read(func(s *tenant.State) {
		p, ok = s.Engine.Catalog().SKU(r.PathValue("id"))
		ok = ok && visibleProduct(s, pr, p)
	})
	if !ok {
		respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "Product %s does not exist.", r.PathValue("id")))
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (h *handler) createProduct(w http.ResponseWriter, r *http.Request) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if !scope.Require(w, r, p, auth.ManageTenant, t.ID) {
		return
	}
	var in productCreate
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	plans := make([]catalog.Plan, len(in.ServicePlans))
	for i, sp := range in.ServicePlans {
		plans[i] = catalog.Plan{ID: sp.ServicePlanID, Name: sp.ServicePlanName, FriendlyName: sp.FriendlyName}
	}
	sku := catalog.NewSKU(in.SKUPartNumber, in.DisplayName, plans)
	sku.AppliesTo = in.AppliesTo
	base := h.s.RT.Catalog()
	var created *catalog.SKU
	err = t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		var all []catalog.SKU
		for _, id := range tx.IDs(store.KindProduct) {
			var s catalog.SKU
			if _, err := tx.Decode(store.KindProduct, id, &s); err != nil {
				return err
			}
			all = append(all, s)
		}
		all = append(all, sku)
		cat, err := base.WithCustom(all)
		if err != nil {
			return invalidProduct(err)
		}
		if err := tx.Engine.SetCatalog(cat); err != nil {
			return err
		}
		created, _ = cat.SKU(sku.ID)
		return tx.Put(store.KindProduct, created.ID, created)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, created)
}

// invalidProduct turns catalog validation errors into one EINVALID.
func invalidProduct(err error) error {
	var msgs []string
	var fe *catalog.FieldError
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range u.Unwrap() {
			if errors.As(e, &fe) {
				msgs = append(msgs, fe.Field+": "+fe.Message)
			}
		}
	}
	if len(msgs) == 0 {
		msgs = append(msgs, err.Error())
	}
	return allot.Errorf(allot.EINVALID, "Invalid product: %s", strings.Join(msgs, "; "))
}

// productCreate is the body of POST /allot/v1/catalog/products: a custom product.
type productCreate struct {
	SKUPartNumber string `json:"skuPartNumber"`
	DisplayName   string `json:"displayName"`
	AppliesTo     string `json:"appliesTo"`
	ServicePlans  []struct {
		ServicePlanID   string `json:"servicePlanId"`
		ServicePlanName string `json:"servicePlanName"`
		FriendlyName    string `json:"friendlyName"`
	} `json:"servicePlans"`
}
