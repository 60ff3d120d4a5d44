package web

import (
	"net/http"
	"strconv"
	"strings"

	"allot"
	"allot/api/respond"
	"allot/auth"
	"allot/catalog"
	"allot/subscription"
	"allot/tenant"
)

// The subscriptions page (the partner administrator only, as the partner
// API's /partner/v1/customers/{id}/subscriptions): the customer's
// subscriptions, a form to buy one, and a form per subscription to change
// its quantity and status. Both go through subscription.Create and
// subscription.Change, as the partner API does.

var subscriptionFormFields = []string{"offerId", "quantity"}

type subscriptionsData struct {
	F        *formState
	Subs     []subscription.Subscription
	Offers   []*catalog.SKU
	Statuses []string
	// Row is the subscription whose change was refused, and RowError why.
	Row, RowError string
}

func (h *handler) renderSubscriptions(w http.ResponseWriter, r *http.Request, v *viewer, status int, d subscriptionsData) {
	var err error
	v.T.Read(func(s *tenant.State) {
		d.Subs, err = subscription.List(s)
		d.Offers = s.Engine.Catalog().SKUs()
	})
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	for i := range d.Subs {
		d.Subs[i] = subscription.WithStatus(d.Subs[i])
	}
	d.Statuses = []string{subscription.StatusActive, subscription.StatusExpired, subscription.StatusSuspended, subscription.StatusDisabled, subscription.StatusDeleted}
	if d.F == nil {
		d.F = &formState{Values: map[string]string{"quantity": "1"}}
	}
	h.render(w, r, v, status, "subscriptions", pageData{Title: "Subscriptions", Nav: "subscriptions", Data: d})
}

// partnerOnlyForm refuses a tenant principal: subscriptions are the
// partner's (403; the page is not linked for them).
func (h *handler) partnerOnlyForm(w http.ResponseWriter, r *http.Request, v *viewer) bool {
	if v.P.IsPartner() {
		return true
	}
	h.fail(w, r, v, http.StatusForbidden, "Only the partner administrator buys and changes subscriptions.")
	return false
}

func (h *handler) subscriptionsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	if h.partnerOnlyForm(w, r, v) {
		h.renderSubscriptions(w, r, v, http.StatusOK, subscriptionsData{})
	}
}

// createSubscription buys a subscription of a product.
func (h *handler) createSubscription(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !h.partnerOnlyForm(w, r, v) {
		return
	}
	f := formOf(r, subscriptionFormFields...)
	id := auth.NewID()
	var part string
	err := func() error {
		q, err := strconv.Atoi(strings.TrimSpace(f.V("quantity")))
		if err != nil {
			q = -1 // refused by subscription.Create with its message
		}
		return v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
			sub, err := subscription.Create(tx, id, subscription.Order{OfferID: strings.TrimSpace(f.V("offerId")), Quantity: &q})
			part = sub.SKUPartNumber
			return err
		})
	}()
	if err != nil {
		h.renderSubscriptions(w, r, v, f.refuse(err, subscriptionFormFields...), subscriptionsData{F: f})
		return
	}
	h.done(w, r, "/admin/subscriptions", nil, "Subscription of "+part+" bought; its units are the tenant's now.")
}

// changeSubscription sets a subscription's quantity and status.
func (h *handler) changeSubscription(w http.ResponseWriter, r *http.Request, v *viewer) {
	if !h.partnerOnlyForm(w, r, v) {
		return
	}
	id := r.PathValue("id")
	var p subscription.Patch
	if q := strings.TrimSpace(r.PostFormValue("quantity")); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			n = -1 // refused by subscription.CheckPatch with its message
		}
		p.Quantity = &n
	}
	if st := r.PostFormValue("status"); st != "" {
		p.Status = &st
	}
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		cur, err := subscription.Get(tx.State, id)
		if err != nil {
			return err
		}
		if p.Status != nil && *p.Status == cur.Status {
			p.Status = nil // unchanged: no transition to check
		}
		if p.Quantity != nil && *p.Quantity == cur.Quantity {
			p.Quantity = nil
		}
		if p.Quantity == nil && p.Status == nil {
			return nil
		}
		_, err = subscription.Change(tx, id, p)
		return err
	})
	if err != nil {
		h.renderSubscriptions(w, r, v, respond.StatusOf(err), subscriptionsData{Row: id, RowError: allot.ErrorMessage(err)})
		return
	}
	h.done(w, r, "/admin/subscriptions", nil, "Subscription saved.")
}
