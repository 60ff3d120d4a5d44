// Package partner is the Partner-Center-shaped API through which a partner
// administrator (a CSP, an MSP, the SaaS vendor itself) creates customer
// tenants and buys their subscriptions. Subscriptions drive the units of
// the tenant's subscribedSkus.
package partner

import (
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"allot"
	"allot/api/respond"
	"allot/api/server"
	"allot/auth"
	"allot/catalog"
	"allot/identity"
	"allot/licensing"
	"allot/store"
	"allot/subscription"
	"allot/tenant"
)

// Customer is a tenant as Partner Center shows it.
type Customer struct {
	ID                   string         `json:"id"`
	CompanyProfile       CompanyProfile `json:"companyProfile"`
	DefaultUsageLocation string         `json:"defaultUsageLocation"`
	CreatedDateTime      time.Time      `json:"createdDateTime"`
	Attributes           Attributes     `json:"attributes"`
}

// CompanyProfile is the customer's company.
type CompanyProfile struct {
	TenantID    string `json:"tenantId"`
	CompanyName string `json:"companyName"`
	Domain      string `json:"domain"`
}

// Attributes carries Partner Center's objectType.
type Attributes = subscription.Attributes

// Collection is Partner Center's list shape.
type Collection[T any] struct {
	TotalCount int        `json:"totalCount"`
	Items      []T        `json:"items"`
	Attributes Attributes `json:"attributes"`
}

// Subscription is a purchase of units of one product (package subscription).
type Subscription = subscription.Subscription

// Register mounts the partner API.
func Register(s *server.Server) {
	h := &handler{s}
	s.Handle("POST /partner/v1/customers", h.createCustomer)
	s.Handle("GET /partner/v1/customers", h.listCustomers)
	s.Handle("GET /partner/v1/customers/{id}", h.getCustomer)
	s.Handle("DELETE /partner/v1/customers/{id}", h.deleteCustomer)
	s.Handle("POST /partner/v1/customers/{id}/subscriptions", h.createSubscription)
	s.Handle("GET /partner/v1/customers/{id}/subscriptions", h.listSubscriptions)
	s.Handle("GET /partner/v1/customers/{id}/subscriptions/{subId}", h.getSubscription)
	s.Handle("PATCH /partner/v1/customers/{id}/subscriptions/{subId}", h.patchSubscription)
}

type handler struct{ s *server.Server }

// partnerOnly answers 403 unless the principal is a partner administrator.
func partnerOnly(w http.ResponseWriter, r *http.Request) (*auth.Principal, bool) {
	p := auth.FromContext(r.Context())
	if p == nil || !p.IsPartner() {
		respond.Denied(w, r)
		return nil, false
	}
	return p, true
}

func toCustomer(t store.Tenant) Customer {
	return Customer{ID: t.ID, CompanyProfile: CompanyProfile{TenantID: t.ID, CompanyName: t.CompanyName, Domain: t.Domain},
		DefaultUsageLocation: t.DefaultUsageLocation, CreatedDateTime: t.CreatedAt, Attributes: Attributes{ObjectType: "Customer"}}
}

func (h *handler) createCustomer(w http.ResponseWriter, r *http.Request) {
	p, ok := partnerOnly(w, r)
	if !ok {
		return
	}
	var in struct {
		ID             string `json:"id"`
		CompanyProfile struct {
			CompanyName string `json:"companyName"`
			Domain      string `json:"domain"`
		} `json:"companyProfile"`
		DefaultUsageLocation string `json:"defaultUsageLocation"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	name := identity.Norm(strings.TrimSpace(in.CompanyProfile.CompanyName))
	loc := strings.ToUpper(strings.TrimSpace(in.DefaultUsageLocation))
	switch {
	case name == "":
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "companyProfile.companyName is required."))
		return
	case utf8.RuneCountInString(name) > identity.MaxCustomerName:
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "companyProfile.companyName has more than %d characters.", identity.MaxCustomerName))
		return
	case strings.TrimSpace(in.CompanyProfile.Domain) == "":
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "companyProfile.domain is required (the customer's domain, e.g. contoso.onmicrosoft.com): it becomes the tenant's first domain."))
		return
	case loc == "":
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "defaultUsageLocation is required (an ISO 3166 two-letter country code)."))
		return
	case !identity.IsCountry(loc):
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "defaultUsageLocation %q is not an ISO 3166-1 alpha-2 country code.", in.DefaultUsageLocation))
		return
	}
	id := strings.ToLower(in.ID)
	if id == "" {
		id = auth.NewID()
	} else if !catalog.IsGUID(id) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "id %q is not a GUID.", in.ID))
		return
	}
	info := store.Tenant{ID: id, CompanyName: name, Domain: strings.TrimSpace(in.CompanyProfile.Domain), DefaultUsageLocation: loc, CreatedAt: h.s.RT.Now()}
	t, err := identity.CreateTenant(r.Context(), h.s.RT, p.Actor(), info, licensing.Settings{DefaultUsageLocation: loc})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, toCustomer(t.Info()))
}

func (h *handler) listCustomers(w http.ResponseWriter, r *http.Request) {
	if _, ok := partnerOnly(w, r); !ok {
		return
	}
	ts := h.s.RT.List()
	out := Collection[Customer]{TotalCount: len(ts), Items: make([]Customer, 0, len(ts)), Attributes: Attributes{ObjectType: "Collection"}}
	for _, t := range ts {
		out.Items = append(out.Items, toCustomer(t))
	}
	respond.JSON(w, http.StatusOK, out)
}

// customer resolves {id} for the partner administrator.
func (h *handler) customer(w http.ResponseWriter, r *http.Request) (*tenant.Tenant, bool) {
	if _, ok := partnerOnly(w, r); !ok {
		return nil, false
	}
	t, err := h.s.TenantByID(r, r.PathValue("id"))
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		err = allot.Errorf(allot.ENOTFOUND, "Customer %s does not exist.", r.PathValue("id"))
	}
	if err != nil {
		respond.Error(w, r, err)
		return nil, false
	}
	return t, true
}

func (h *handler) getCustomer(w http.ResponseWriter, r *http.Request) {
	if t, ok := h.customer(w, r); ok {
		respond.JSON(w, http.StatusOK, toCustomer(t.Info()))
	}
}

// deleteCustomer deletes a customer tenant with its users, groups, audit
// log and tokens. While the customer holds subscriptions it is refused
// with 409, unless the request says ?cascade=true (the subscriptions go
// with it).
func (h *handler) deleteCustomer(w http.ResponseWriter, r *http.Request) {
	t, ok := h.customer(w, r)
	if !ok {
		return
	}
	cascade := false
	switch v := r.URL.Query().Get("cascade"); v {
	case "", "false":
	case "true":
		cascade = true
	default:
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "cascade %q is not true or false.", v))
		return
	}
	err := h.s.RT.Delete(r.Context(), t.ID, func(s *tenant.State) error {
		if n := len(s.IDs(store.KindSubscription)); n > 0 && !cascade {
			return allot.Errorf(allot.ECONFLICT, "Customer %s holds %d subscription(s); delete it with ?cascade=true to delete its subscriptions, users, groups and audit log with it.", t.ID, n)
		}
		return nil
	})
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		err = allot.Errorf(allot.ENOTFOUND, "Customer %s does not exist.", t.ID)
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) createSubscription(w http.ResponseWriter, r *http.Request) {
	t, ok := h.customer(w, r)
	if !ok {
		return
	}
	p := auth.FromContext(r.Context())
	var in struct {
		OfferID  string `json:"offerId"`
		Quantity *int   `json:"quantity"`

		CommitmentEndDate  *time.Time `json:"commitmentEndDate"`
		AutoRenewEnabled   bool       `json:"autoRenewEnabled"`
		EffectiveStartDate *time.Time `json:"effectiveStartDate"`
		TermDuration       string     `json:"termDuration"`
		BillingCycle       string     `json:"billingCycle"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := subscription.CheckTerm(in.TermDuration, in.BillingCycle); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.Quantity == nil || *in.Quantity < 1 || *in.Quantity > subscription.MaxQuantity {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "quantity must be a whole number from 1 to %d.", subscription.MaxQuantity))
		return
	}
	var sku *catalog.SKU
	ok = false
	t.Read(func(s *tenant.State) { sku, ok = s.Engine.Catalog().SKU(in.OfferID) })
	if !ok {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "offerId %q is not a known product (use a skuPartNumber such as SPE_E3, or a skuId).", in.OfferID))
		return
	}
	now := h.s.RT.Now()
	sub := Subscription{ID: auth.NewID(), OfferID: in.OfferID, SKUID: sku.ID, SKUPartNumber: sku.PartNumber, FriendlyName: sku.DisplayName,
		Quantity: *in.Quantity, Status: subscription.StatusActive, CreationDate: now, LastModifiedDate: now, Attributes: Attributes{ObjectType: "Subscription"},
		CommitmentEndDate: utcPtr(in.CommitmentEndDate), AutoRenewEnabled: in.AutoRenewEnabled,
		EffectiveStartDate: utcPtr(in.EffectiveStartDate), TermDuration: in.TermDuration, BillingCycle: in.BillingCycle}
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: now}, func(tx *tenant.Tx) error {
		// A term that already ended applies at once.
		subscription.Advance(&sub, tx.Op.Now)
		return subscription.Put(tx, sub)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, subscription.WithStatus(sub))
}

func (h *handler) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	t, ok := h.customer(w, r)
	if !ok {
		return
	}
	var subs []Subscription
	var err error
	t.Read(func(s *tenant.State) { subs, err = subscription.List(s) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if subs == nil {
		subs = []Subscription{}
	}
	for i := range subs {
		subs[i] = subscription.WithStatus(subs[i])
	}
	respond.JSON(w, http.StatusOK, Collection[Subscription]{TotalCount: len(subs), Items: subs, Attributes: Attributes{ObjectType: "Collection"}})
}

func (h *handler) getSubscription(w http.ResponseWriter, r *http.Request) {
	t, ok := h.customer(w, r)
	if !ok {
		return
	}
	var sub Subscription
	var found bool
	var err error
	t.Read(func(s *tenant.State) { found, err = s.Decode(store.KindSubscription, r.PathValue("subId"), &sub) })
	if err == nil && !found {
		err = allot.Errorf(allot.ENOTFOUND, "Subscription %s does not exist.", r.PathValue("subId"))
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, subscription.WithStatus(sub))
}

func (h *handler) patchSubscription(w http.ResponseWriter, r *http.Request) {
	t, ok := h.customer(w, r)
	if !ok {
		return
	}
	p := auth.FromContext(r.Context())
	var in struct {
		Quantity *int    `json:"quantity"`
		Status   *string `json:"status"`

		CommitmentEndDate  *time.Time `json:"commitmentEndDate"`
		AutoRenewEnabled   *bool      `json:"autoRenewEnabled"`
		SuspensionReasons  []string   `json:"suspensionReasons"`
		EffectiveStartDate *time.Time `json:"effectiveStartDate"`
		TermDuration       *string    `json:"termDuration"`
		BillingCycle       *string    `json:"billingCycle"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.Quantity == nil && in.Status == nil && in.CommitmentEndDate == nil && in.AutoRenewEnabled == nil &&
		in.EffectiveStartDate == nil && in.TermDuration == nil && in.BillingCycle == nil {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "Nothing to change: send quantity, status, commitmentEndDate, autoRenewEnabled, effectiveStartDate, termDuration and/or billingCycle."))
		return
	}
	if err := subscription.CheckTerm(deref(in.TermDuration), deref(in.BillingCycle)); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.Quantity != nil && (*in.Quantity < 1 || *in.Quantity > subscription.MaxQuantity) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "quantity must be a whole number from 1 to %d; suspend the subscription to stop its units.", subscription.MaxQuantity))
		return
	}
	if in.Status != nil && !subscription.ValidStatus(*in.Status) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "status %q is not supported: use active, expired, suspended, disabled or deleted.", *in.Status))
		return
	}
	if in.SuspensionReasons != nil && (in.Status == nil || *in.Status != subscription.StatusSuspended) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "suspensionReasons can only be sent with status suspended."))
		return
	}
	id := r.PathValue("subId")
	now := h.s.RT.Now()
	var out Subscription
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: now}, func(tx *tenant.Tx) error {
		var sub Subscription
		found, err := tx.Decode(store.KindSubscription, id, &sub)
		if err != nil {
			return err
		}
		if !found {
			return allot.Errorf(allot.ENOTFOUND, "Subscription %s does not exist.", id)
		}
		before := sub.Status
		if in.Status != nil {
			if err := subscription.CheckTransition(sub.Status, *in.Status); err != nil {
				return err
			}
		}
		if in.Quantity != nil {
			sub.Quantity = *in.Quantity
		}
		if in.CommitmentEndDate != nil {
			sub.CommitmentEndDate = utcPtr(in.CommitmentEndDate)
		}
		if in.AutoRenewEnabled != nil {
			sub.AutoRenewEnabled = *in.AutoRenewEnabled
		}
		if in.EffectiveStartDate != nil {
			sub.EffectiveStartDate = utcPtr(in.EffectiveStartDate)
		}
		if in.TermDuration != nil {
			sub.TermDuration = *in.TermDuration
		}
		if in.BillingCycle != nil {
			sub.BillingCycle = *in.BillingCycle
		}
		if in.Status != nil {
			subscription.SetStatus(&sub, *in.Status, tx.Op.Now)
			if *in.Status == subscription.StatusSuspended && in.SuspensionReasons != nil {
				sub.SuspensionReasons = in.SuspensionReasons
			}
		}
		subscription.Advance(&sub, tx.Op.Now)
		sub.LastModifiedDate = tx.Op.Now
		out = sub
		if err := subscription.Put(tx, sub); err != nil {
			return err
		}
		subscription.AuditStatus(tx, sub, before)
		return nil
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, subscription.WithStatus(out))
}

// utcPtr copies a time in UTC, truncated to seconds (nil stays nil).
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Second)
	return &v
}

// deref is *p, or "" for nil.
func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
