package graph

import (
	"net/http"
	"strings"
	"sync"

	"allot/api/respond"
	"allot/catalog"
	"allot/licensing"
	"allot/tenant"
)

// skuJSON caches the parts of a SKU's JSON that never change: each service
// plan's object up to its provisioningStatus value, and after it. A
// catalog is immutable, so entries never go stale.
type skuJSON struct {
	planHead [][]byte // {"servicePlanId":"…","servicePlanName":"…","provisioningStatus":"
	planTail []byte   // ","appliesTo":"User"}
	success  []byte   // all plans with "Success"
}

var skuCache sync.Map // *catalog.SKU -> *skuJSON

func skuParts(s *catalog.SKU) *skuJSON {
	if v, ok := skuCache.Load(s); ok {
		return v.(*skuJSON)
	}
	applies := s.AppliesTo
	if applies == "" {
		applies = "User"
	}
	j := &skuJSON{planTail: appendStr([]byte(`",`+`"appliesTo":`), applies)}
	j.planTail = append(j.planTail, '}')
	for _, p := range s.Plans {
		b := []byte(`{"servicePlanId":`)
		b = appendStr(b, p.ID)
		b = append(b, `,"servicePlanName":`...)
		b = appendStr(b, p.Name)
		b = append(b, `,"provisioningStatus":"`...)
		j.planHead = append(j.planHead, b)
	}
	j.success = append(j.success, '[')
	for i := range j.planHead {
		if i > 0 {
			j.success = append(j.success, ',')
		}
		j.success = append(j.success, j.planHead[i]...)
		j.success = append(j.success, "Success"...)
		j.success = append(j.success, j.planTail...)
	}
	j.success = append(j.success, ']')
	v, _ := skuCache.LoadOrStore(s, j)
	return v.(*skuJSON)
}

// subscribedSku is what one subscribedSkus entry shows.
type subscribedSku struct {
	pool     licensing.PoolInfo
	tenantID string
	account  string
}

var skuResource = newResource("microsoft.graph.subscribedSku", []prop[subscribedSku]{
	str("accountId", true, func(x *subscribedSku) string { return x.tenantID }),
	str("accountName", true, func(x *subscribedSku) string { return x.account }),
	str("appliesTo", true, func(x *subscribedSku) string {
		if x.pool.SKU.AppliesTo == "" {
			return "User"
		}
		return x.pool.SKU.AppliesTo
	}),
	str("capabilityStatus", true, func(x *subscribedSku) string { return x.pool.Units.Status }),
	{name: "consumedUnits", def: true, app: func(b []byte, _ view, x *subscribedSku) []byte { return appendInt(b, x.pool.Consumed) }},
	str("id", true, func(x *subscribedSku) string { return x.tenantID + "_" + x.pool.SKU.ID }),
	{name: "prepaidUnits", def: true, app: func(b []byte, _ view, x *subscribedSku) []byte {
		u := x.pool.Units
		b = append(b, `{"enabled":`...)
		b = appendInt(b, u.Enabled)
		b = append(b, `,"lockedOut":`...)
		b = appendInt(b, u.LockedOut)
		b = append(b, `,"suspended":`...)
		b = appendInt(b, u.Suspended)
		b = append(b, `,"warning":`...)
		b = appendInt(b, u.Warning)
		return append(b, '}')
	}},
	{name: "servicePlans", def: true, app: func(b []byte, _ view, x *subscribedSku) []byte {
		return append(b, skuParts(x.pool.SKU).success...)
	}},
	str("skuId", true, func(x *subscribedSku) string { return x.pool.SKU.ID }),
	str("skuPartNumber", true, func(x *subscribedSku) string { return x.pool.SKU.PartNumber }),
})

func (h *handler) listSubscribedSkus(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := skuResource.selection(c.q.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	info := c.t.Info()
	bp := getBuf()
	defer putBuf(bp)
	b := appendContext(*bp, r, "subscribedSkus"+selectSuffix(c.q.Select))
	b = append(b, `,"value":[`...)
	c.t.Read(func(s *tenant.State) {
		if c.limited {
			return // the tenant's subscriptions are outside an allotment owner's scope
		}
		for i, p := range s.Engine.Pools() {
			if i > 0 {
				b = append(b, ',')
			}
			x := subscribedSku{pool: p, tenantID: info.ID, account: info.CompanyName}
			b = skuResource.appendObject(b, view{s, nil}, &x, sel, false)
		}
	})
	b = append(b, "]}"...)
	*bp = b
	writeJSON(w, http.StatusOK, b)
}

func (h *handler) getSubscribedSku(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := skuResource.selection(c.q.Select)
	if err != nil {
		fail(w, r, err)
		return
	}
	info := c.t.Info()
	id := r.PathValue("id")
	skuID := id
	if t, s, ok := strings.Cut(id, "_"); ok {
		if !strings.EqualFold(t, info.ID) {
			fail(w, r, notFound(id))
			return
		}
		skuID = s
	}
	writeFound(w, r, c, id, http.StatusOK, func(s *tenant.State, b []byte) ([]byte, bool) {
		p, ok := s.Engine.Pool(skuID)
		if !ok || !strings.EqualFold(p.SKU.ID, skuID) || c.limited {
			return b, false
		}
		x := subscribedSku{pool: p, tenantID: info.ID, account: info.CompanyName}
		b = appendEntity(b, r, skuResource, view{s, nil}, &x, sel, "subscribedSkus"+selectSuffix(c.q.Select)+"/$entity")
		return b, true
	})
}

// licenseDetails lists the licenses the user holds a seat of, direct or
// inherited; plans not enabled by any active source are "Disabled".
func (h *handler) listLicenseDetails(w http.ResponseWriter, r *http.Request, c *call) {
	ref := r.PathValue("id")
	writeFound(w, r, c, ref, http.StatusOK, func(s *tenant.State, b []byte) ([]byte, bool) {
		u, ok := findUser(s, ref)
		sc := c.scope(s)
		if !ok || !sc.User(u.ID) {
			return b, false
		}
		b = appendContext(b, r, "users('"+u.ID+"')/licenseDetails")
		b = append(b, `,"value":[`...)
		n := 0
		heldLicensesIn(s, sc, u.ID, func(l *heldSKU) {
			p, ok := s.Engine.Pool(l.skuID)
			if !ok {
				return
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			parts := skuParts(p.SKU)
			b = append(b, `{"id":`...)
			b = appendStr(b, licenseDetailsID(u.ID, p.SKU.ID))
			b = append(b, `,"skuId":`...)
			b = appendStr(b, p.SKU.ID)
			b = append(b, `,"skuPartNumber":`...)
			b = appendStr(b, p.SKU.PartNumber)
			b = append(b, `,"servicePlans":[`...)
			for i, pl := range p.SKU.Plans {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, parts.planHead[i]...)
				if l.planEnabled(pl.ID) {
					b = append(b, "Success"...)
				} else {
					b = append(b, "Disabled"...)
				}
				b = append(b, parts.planTail...)
			}
			b = append(b, "]}"...)
		})
		b = append(b, "]}"...)
		return b, true
	})
}

// licenseDetailsID is a stable id for a (user, SKU) license detail.
func licenseDetailsID(userID, skuID string) string { return skuID + "_" + userID }

// assignLicenseBody is the body of user and group assignLicense. Both
// parameters are required, as in Graph (an empty collection is fine):
// addLicenses and removeLicenses are pointers so that decodeAssign can tell
// an absent (or null) parameter from an empty one.
type assignLicenseBody struct {
	AddLicenses *[]struct {
		SKUID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"addLicenses"`
	RemoveLicenses *[]string `json:"removeLicenses"`
}

// removes returns the removeLicenses collection.
func (a *assignLicenseBody) removes() []string { return *a.RemoveLicenses }

func (a *assignLicenseBody) adds() []licensing.AssignedLicense {
	out := make([]licensing.AssignedLicense, len(*a.AddLicenses))
	for i, l := range *a.AddLicenses {
		out[i] = licensing.AssignedLicense{SKUID: l.SKUID, DisabledPlans: l.DisabledPlans}
	}
	return out
}

func decodeAssign(r *http.Request) (*assignLicenseBody, error) {
	var in assignLicenseBody
	if err := respond.Decode(r, &in, 0, false); err != nil {
		return nil, err
	}
	// Graph: 400 Request_BadRequest "One or more parameters of the
	// operation 'assignLicense' are missing from the request payload. The
	// missing parameters are: removeLicenses." (the Graph SDKs' issue
	// threads quote it; PowerShell's Set-MgUserLicense needs
	// -RemoveLicenses @() for this reason).
	var missing []string
	if in.AddLicenses == nil {
		missing = append(missing, "addLicenses")
	}
	if in.RemoveLicenses == nil {
		missing = append(missing, "removeLicenses")
	}
	if missing != nil {
		return nil, badRequest("One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: %s.", strings.Join(missing, ", "))
	}
	return &in, nil
}

func (h *handler) assignUserLicense(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := decodeAssign(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	ref := r.PathValue("id")
	var id string
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		u, ok := findUser(tx.State, ref)
		if !ok {
			return notFound(ref)
		}
		id = u.ID
		return tx.Engine.AssignUserLicenses(tx.Op, u.ID, in.adds(), in.removes())
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	c.q = nil
	writeUser(w, r, c, id, http.StatusOK)
}

func (h *handler) reprocessUser(w http.ResponseWriter, r *http.Request, c *call) {
	ref := r.PathValue("id")
	var id string
	err := c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		u, ok := findUser(tx.State, ref)
		if !ok {
			return notFound(ref)
		}
		id = u.ID
		return tx.Engine.ReprocessUser(tx.Op, u.ID)
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	c.q = nil
	writeUser(w, r, c, id, http.StatusOK)
}

func (h *handler) assignGroupLicense(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := decodeAssign(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	err = c.t.Do(r.Context(), licensing.Op{Actor: c.p.Actor()}, func(tx *tenant.Tx) error {
		return tx.Engine.AssignGroupLicenses(tx.Op, id, in.adds(), in.removes())
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	// Graph answers 202: processing is asynchronous there. In allot it is
	// done when the command commits, so licenseProcessingState is
	// ProcessingComplete at once.
	c.q = nil
	writeGroup(w, r, c, id, http.StatusAccepted)
}
