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
	"allot/api/openapi"
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
	const c, sub = "/partner/v1/customers", "/partner/v1/customers/{id}/subscriptions"
	errs := []int{http.StatusForbidden, http.StatusNotFound}
	s.Route("POST "+c, openapi.Op{ID: "createCustomer", Tag: "partner", Summary: "Create a customer tenant",
		Body: customerCreate{}, Example: `{"companyProfile":{"companyName":"Contoso","domain":"contoso.onmicrosoft.com"},"defaultUsageLocation":"US"}`,
		Status: http.StatusCreated, Response: Customer{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, h.createCustomer)
	s.Route("GET "+c, openapi.Op{ID: "listCustomers", Tag: "partner", Summary: "List customer tenants",
		Response: Collection[Customer]{}, Errors: []int{http.StatusForbidden}}, h.listCustomers)
	s.Route("GET "+c+"/{id}", openapi.Op{ID: "getCustomer", Tag: "partner", Summary: "Get a customer tenant", Response: Customer{}, Errors: errs}, h.getCustomer)
	s.Route("DELETE "+c+"/{id}", openapi.Op{ID: "deleteCustomer", Tag: "partner",
		Summary: "Delete a customer tenant (409 while it holds subscriptions, unless ?cascade=true)",
		Params:  []openapi.Param{{Name: "cascade", Type: "boolean", Default: false, Description: "true: delete its subscriptions, users, groups and audit log with it"}},
		Status:  http.StatusNoContent, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, h.deleteCustomer)
	s.Route("POST "+sub, openapi.Op{ID: "createSubscription", Tag: "partner", Summary: "Buy units of a product",
		Body: subscriptionCreate{}, Example: `{"offerId":"ENTERPRISEPACK","quantity":25,"commitmentEndDate":"2027-12-31T00:00:00Z","autoRenewEnabled":true}`,
		Status: http.StatusCreated, Response: Subscription{}, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, h.createSubscription)
	s.Route("GET "+sub, openapi.Op{ID: "listSubscriptions", Tag: "partner", Summary: "List a customer's subscriptions",
		Response: Collection[Subscription]{}, Errors: errs}, h.listSubscriptions)
	s.Route("GET "+sub+"/{subId}", openapi.Op{ID: "getSubscription", Tag: "partner", Summary: "Get a subscription", Response: Subscription{}, Errors: errs}, h.getSubscription)
	s.Route("PATCH "+sub+"/{subId}", openapi.Op{ID: "updateSubscription", Tag: "partner",
		Summary: "Change a subscription's quantity, status (active, expired, suspended, disabled, deleted), commitmentEndDate or autoRenewEnabled",
		Body:    subscriptionUpdate{}, Example: `{"quantity":30,"status":"active"}`,
		Response: Subscription{}, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}}, h.patchSubscription)
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
	var in customerCreate
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
	var in subscriptionCreate
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	var sub Subscription
	id := auth.NewID() // chosen before the command: commands are deterministic
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: h.s.RT.Now()}, func(tx *tenant.Tx) error {
		var err error
		sub, err = subscription.Create(tx, id, subscription.Order{OfferID: in.OfferID, Quantity: in.Quantity,
			CommitmentEndDate: in.CommitmentEndDate, AutoRenewEnabled: in.AutoRenewEnabled,
			EffectiveStartDate: in.EffectiveStartDate, TermDuration: in.TermDuration, BillingCycle: in.BillingCycle})
		return err
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
	var in subscriptionUpdate
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	patch := subscription.Patch{Quantity: in.Quantity, Status: in.Status, CommitmentEndDate: in.CommitmentEndDate,
		AutoRenewEnabled: in.AutoRenewEnabled, SuspensionReasons: in.SuspensionReasons,
		EffectiveStartDate: in.EffectiveStartDate, TermDuration: in.TermDuration, BillingCycle: in.BillingCycle}
	if err := subscription.CheckPatch(patch); err != nil {
		respond.Error(w, r, err)
		return
	}
	id := r.PathValue("subId")
	var out Subscription
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: h.s.RT.Now()}, func(tx *tenant.Tx) error {
		var err error
		out, err = subscription.Change(tx, id, patch)
		return err
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, subscription.WithStatus(out))
}

// customerCreate is the body of POST /partner/v1/customers.
type customerCreate struct {
	ID             string `json:"id" doc:"The tenant id (a GUID); made up when absent"`
	CompanyProfile struct {
		CompanyName string `json:"companyName" required:"true"`
		Domain      string `json:"domain" required:"true" doc:"The tenant's first domain, e.g. contoso.onmicrosoft.com"`
	} `json:"companyProfile" required:"true"`
	DefaultUsageLocation string `json:"defaultUsageLocation" required:"true" doc:"ISO 3166-1 alpha-2 country code"`
}

// subscriptionCreate is the body of POST /partner/v1/customers/{id}/subscriptions.
type subscriptionCreate struct {
	OfferID  string `json:"offerId" required:"true" doc:"The product: skuId or skuPartNumber"`
	Quantity *int   `json:"quantity" required:"true" doc:"Units, 1 to 1,000,000"`

	CommitmentEndDate  *time.Time `json:"commitmentEndDate" doc:"End of the term (none when absent)"`
	AutoRenewEnabled   bool       `json:"autoRenewEnabled" doc:"Renew at commitmentEndDate instead of expiring"`
	EffectiveStartDate *time.Time `json:"effectiveStartDate" doc:"Start of the current term (default: now)"`
	TermDuration       string     `json:"termDuration" enum:"P1M,P1Y,P3Y" doc:"Length of a term (default P1Y)"`
	BillingCycle       string     `json:"billingCycle" enum:"monthly,annual,triennial,oneTime,none" doc:"How the term is billed"`
}

// subscriptionUpdate is the body of PATCH /partner/v1/customers/{id}/subscriptions/{subId}: the properties to change.
type subscriptionUpdate struct {
	Quantity *int    `json:"quantity"`
	Status   *string `json:"status" enum:"active,expired,suspended,disabled,deleted"`

	CommitmentEndDate  *time.Time `json:"commitmentEndDate"`
	AutoRenewEnabled   *bool      `json:"autoRenewEnabled"`
	SuspensionReasons  []string   `json:"suspensionReasons" doc:"Why a partner suspended it (e.g. Nonpayment)"`
	EffectiveStartDate *time.Time `json:"effectiveStartDate"`
	TermDuration       *string    `json:"termDuration" enum:"P1M,P1Y,P3Y"`
	BillingCycle       *string    `json:"billingCycle" enum:"monthly,annual,triennial,oneTime,none"`
}
