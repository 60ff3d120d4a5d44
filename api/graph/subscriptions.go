package graph

import (
	"net/http"
	"strings"
	"time"

	"allot/subscription"
	"allot/tenant"
)

// GET /v1.0/directory/subscriptions[/{id}]: the tenant's subscriptions as
// Graph's companySubscription. id and commerceSubscriptionId are both
// allot's subscription id (the partner API's). The alternate-key form
// /directory/subscriptions(commerceSubscriptionId='…') is not served.
// allot keeps no trials (isTrial false) and no account owner (ownerId,
// ownerTenantId, ownerType null).

type companySub struct {
	sub subscription.Subscription
	s   *tenant.State
}

func timePtrOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

var companySubResource = newResource("microsoft.graph.companySubscription", []prop[companySub]{
	str("commerceSubscriptionId", true, func(x *companySub) string { return x.sub.ID }),
	{name: "createdDateTime", def: true, app: func(b []byte, _ view, x *companySub) []byte { return appendTime(b, x.sub.CreationDate) }},
	str("id", true, func(x *companySub) string { return x.sub.ID }),
	{name: "isTrial", def: true, app: func(b []byte, _ view, x *companySub) []byte { return appendBool(b, false) }},
	{name: "nextLifecycleDateTime", def: true, app: func(b []byte, _ view, x *companySub) []byte {
		return appendTime(b, timePtrOrZero(subscription.NextLifecycle(x.sub)))
	}},
	str("ownerId", true, func(x *companySub) string { return "" }),
	str("ownerTenantId", true, func(x *companySub) string { return "" }),
	str("ownerType", true, func(x *companySub) string { return "" }),
	{name: "serviceStatus", def: true, app: func(b []byte, _ view, x *companySub) []byte {
		if p, ok := x.s.Engine.Pool(x.sub.SKUID); ok {
			return append(b, skuParts(p.SKU).success...)
		}
		return append(b, "[]"...)
	}},
	str("skuId", true, func(x *companySub) string { return x.sub.SKUID }),
	str("skuPartNumber", true, func(x *companySub) string { return x.sub.SKUPartNumber }),
	str("status", true, func(x *companySub) string { return subscription.CompanyStatus(x.sub) }),
	{name: "totalLicenses", def: true, app: func(b []byte, _ view, x *companySub) []byte { return appendInt(b, x.sub.Quantity) }},
})

func (h *handler) listCompanySubscriptions(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := companySubResource.selection(c.q.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	bp := getBuf()
	defer putBuf(bp)
	b := appendContext(*bp, r, "directory/subscriptions"+selectSuffix(c.q.Select))
	b = append(b, `,"value":[`...)
	c.t.Read(func(s *tenant.State) {
		subs, lerr := subscription.List(s)
		if lerr != nil {
			err = lerr
			return
		}
		for i, sub := range subs {
			if i > 0 {
				b = append(b, ',')
			}
			x := companySub{sub: sub, s: s}
			b = companySubResource.appendObject(b, view{s, nil}, &x, sel, false)
		}
	})
	b = append(b, "]}"...)
	*bp = b
	if err != nil {
		fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// getCompanySubscription: /directory/subscriptions/{id}.
func (h *handler) getCompanySubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := companySubResource.selection(c.q.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	bp := getBuf()
	defer putBuf(bp)
	b := *bp
	found := false
	c.t.Read(func(s *tenant.State) {
		subs, lerr := subscription.List(s)
		if lerr != nil {
			err = lerr
			return
		}
		for _, sub := range subs {
			if strings.EqualFold(sub.ID, id) {
				found = true
				x := companySub{sub: sub, s: s}
				b = appendEntity(b, r, companySubResource, view{s, nil}, &x, sel, "directory/subscriptions"+selectSuffix(c.q.Select)+"/$entity")
				return
			}
		}
	})
	*bp = b
	switch {
	case err != nil:
		fail(w, r, err)
	case !found:
		fail(w, r, notFound(id))
	default:
		writeJSON(w, http.StatusOK, b)
	}
}
