// Package partner is the Partner-Center-shaped API through which a partner
// administrator (a CSP, an MSP, the SaaS vendor itself) creates customer
// tenants and buys their subscriptions. Subscriptions drive the units of
// the tenant's subscribedSkus.
package partner

import (
	"net/http"
	"sort"
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
type Attributes struct {
	ObjectType string `json:"objectType"`
}

// Collection is Partner Center's list shape.
type Collection[T any] struct {
	TotalCount int        `json:"totalCount"`
	Items      []T        `json:"items"`
	Attributes Attributes `json:"attributes"`
}

// Subscription is a purchase of units of one product.
type Subscription struct {
	ID               string     `json:"id"`
	OfferID          string     `json:"offerId"`
	SKUID            string     `json:"skuId"`
	SKUPartNumber    string     `json:"skuPartNumber"`
	FriendlyName     string     `json:"friendlyName"`
	Quantity         int        `json:"quantity"`
	Status           string     `json:"status"` // active | expired | suspended | disabled | deleted (lifecycle.go)
	CreationDate     time.Time  `json:"creationDate"`
	LastModifiedDate time.Time  `json:"lastModifiedDate"`
	Attributes       Attributes `json:"attributes"`

	// CommitmentEndDate ends the term: the subscription then renews
	// (AutoRenewEnabled) or expires. Nil: no end.
	CommitmentEndDate *time.Time `json:"commitmentEndDate"`
	AutoRenewEnabled  bool       `json:"autoRenewEnabled"`
	// SuspensionReasons says why a partner suspended it (e.g. "Nonpayment").
	SuspensionReasons []string `json:"suspensionReasons,omitempty"`
	// GraceEndDate (expired) and DeletionDate (disabled) are when the next
	// lifecycle stage begins (allot's; Partner Center does not show them).
	GraceEndDate *time.Time `json:"graceEndDate,omitempty"`
	DeletionDate *time.Time `json:"deletionDate,omitempty"`
	// CapabilityStatus is the Graph status of the subscription's units
	// (filled in answers, not stored).
	CapabilityStatus string `json:"capabilityStatus,omitempty"`
}

// MaxQuantity bounds one subscription's quantity. Partner Center bounds
// each offer by its maximumQuantity (offer resource); allot, which also
// serves SaaS vendors with a million users, allows up to 1,000,000 units
// per subscription, far below what could overflow a count.
const MaxQuantity = 1_000_000

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
		DefaultUsageLocation: t.DefaultUsageLocation, CreatedDateTime: t.CreatedAt, Attributes: Attributes{"Customer"}}
}

func (h *handler) createCustomer(w http.ResponseWriter, r *http.Request) {
	if _, ok := partnerOnly(w, r); !ok {
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
	info := store.Tenant{ID: id, CompanyName: name, Domain: strings.TrimSpace(in.CompanyProfile.Domain), DefaultUsageLocation: loc, CreatedAt: time.Now().UTC()}
	t, err := identity.CreateTenant(r.Context(), h.s.RT, info, licensing.Settings{DefaultUsageLocation: loc})
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
	out := Collection[Customer]{TotalCount: len(ts), Items: make([]Customer, 0, len(ts)), Attributes: Attributes{"Collection"}}
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

		CommitmentEndDate *time.Time `json:"commitmentEndDate"`
		AutoRenewEnabled  bool       `json:"autoRenewEnabled"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.Quantity == nil || *in.Quantity < 1 || *in.Quantity > MaxQuantity {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "quantity must be a whole number from 1 to %d.", MaxQuantity))
		return
	}
	var sku *catalog.SKU
	ok = false
	t.Read(func(s *tenant.State) { sku, ok = s.Engine.Catalog().SKU(in.OfferID) })
	if !ok {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "offerId %q is not a known product (use a skuPartNumber such as SPE_E3, or a skuId).", in.OfferID))
		return
	}
	now := time.Now().UTC()
	sub := Subscription{ID: auth.NewID(), OfferID: in.OfferID, SKUID: sku.ID, SKUPartNumber: sku.PartNumber, FriendlyName: sku.DisplayName,
		Quantity: *in.Quantity, Status: StatusActive, CreationDate: now, LastModifiedDate: now, Attributes: Attributes{"Subscription"},
		CommitmentEndDate: utcPtr(in.CommitmentEndDate), AutoRenewEnabled: in.AutoRenewEnabled}
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: now}, func(tx *tenant.Tx) error {
		// A term that already ended applies at once.
		advance(&sub, tx.Op.Now)
		return PutSubscription(tx, sub)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, withStatus(sub))
}

// PutSubscription stores a subscription and sets its SKU's units from all
// the tenant's subscriptions of that SKU, by lifecycle state (lifecycle.go).
// Lowering units below the seats in use is refused by the engine (ECONFLICT)
// before anything changes; only a deletion releases seats in use.
func PutSubscription(tx *tenant.Tx, sub Subscription) error {
	if sub.Status == "" {
		sub.Status = StatusActive
	}
	if !validStatus(sub.Status) {
		return allot.Errorf(allot.EINVALID, "status %q is not supported: use active, expired, suspended, disabled or deleted.", sub.Status)
	}
	subs, err := subscriptions(tx.State)
	if err != nil {
		return err
	}
	units := licensing.Units{}
	others := subs[:0]
	for _, s := range subs {
		if s.ID != sub.ID {
			others = append(others, s)
		}
	}
	for _, s := range append(others, sub) {
		if s.SKUID != sub.SKUID {
			continue
		}
		addUnits(&units, s)
	}
	units.Status = licensing.StatusOf(units)
	set := tx.Engine.SetUnits
	if sub.Status == StatusDeleted {
		set = tx.Engine.SetUnitsReleasing
	}
	if err := set(tx.Op, sub.SKUID, units); err != nil {
		return err
	}
	sub.CapabilityStatus = ""
	return tx.Put(store.KindSubscription, sub.ID, sub)
}

// subscriptions returns the tenant's subscriptions ordered by creation.
func subscriptions(s *tenant.State) ([]Subscription, error) {
	var out []Subscription
	for _, id := range s.IDs(store.KindSubscription) {
		var sub Subscription
		if _, err := s.Decode(store.KindSubscription, id, &sub); err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreationDate.Before(out[j].CreationDate) })
	return out, nil
}

func (h *handler) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	t, ok := h.customer(w, r)
	if !ok {
		return
	}
	var subs []Subscription
	var err error
	t.Read(func(s *tenant.State) { subs, err = subscriptions(s) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if subs == nil {
		subs = []Subscription{}
	}
	for i := range subs {
		subs[i] = withStatus(subs[i])
	}
	respond.JSON(w, http.StatusOK, Collection[Subscription]{TotalCount: len(subs), Items: subs, Attributes: Attributes{"Collection"}})
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
	respond.JSON(w, http.StatusOK, withStatus(sub))
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

		CommitmentEndDate *time.Time `json:"commitmentEndDate"`
		AutoRenewEnabled  *bool      `json:"autoRenewEnabled"`
		SuspensionReasons []string   `json:"suspensionReasons"`
	}
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.Quantity == nil && in.Status == nil && in.CommitmentEndDate == nil && in.AutoRenewEnabled == nil {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "Nothing to change: send quantity, status, commitmentEndDate and/or autoRenewEnabled."))
		return
	}
	if in.Quantity != nil && (*in.Quantity < 1 || *in.Quantity > MaxQuantity) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "quantity must be a whole number from 1 to %d; suspend the subscription to stop its units.", MaxQuantity))
		return
	}
	if in.Status != nil && !validStatus(*in.Status) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "status %q is not supported: use active, expired, suspended, disabled or deleted.", *in.Status))
		return
	}
	if in.SuspensionReasons != nil && (in.Status == nil || *in.Status != StatusSuspended) {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "suspensionReasons can only be sent with status suspended."))
		return
	}
	id := r.PathValue("subId")
	now := time.Now().UTC()
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
			if err := checkTransition(sub.Status, *in.Status); err != nil {
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
		if in.Status != nil {
			setStatus(&sub, *in.Status, tx.Op.Now)
			if *in.Status == StatusSuspended && in.SuspensionReasons != nil {
				sub.SuspensionReasons = in.SuspensionReasons
			}
		}
		advance(&sub, tx.Op.Now)
		sub.LastModifiedDate = tx.Op.Now
		out = sub
		if err := PutSubscription(tx, sub); err != nil {
			return err
		}
		auditStatus(tx, sub, before)
		return nil
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, withStatus(out))
}

// Subscriptions returns the tenant's subscriptions ordered by creation.
func Subscriptions(s *tenant.State) ([]Subscription, error) { return subscriptions(s) }
