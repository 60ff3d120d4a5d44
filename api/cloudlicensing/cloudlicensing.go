// Package cloudlicensing is the allotments API, shaped like Microsoft Graph
// beta's cloudLicensing: allotments (seat budgets of one product carved out
// of the subscription), assignments through them (users or groups), their
// waiting members, and users' combined usage rights. Delegated allotment
// owners see and change only their own allotments (api/scope): anything
// else answers 404.
package cloudlicensing

import (
	"net/http"
	"strings"
	"time"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/catalog"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

const base = "/beta/admin/cloudLicensing"

// Register mounts the API.
func Register(s *server.Server) {
	h := &handler{s}
	tp := []openapi.Param{server.TenantParam}
	errs := []int{http.StatusForbidden, http.StatusNotFound}
	werrs := []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}
	op := func(id, summary string, o openapi.Op) openapi.Op {
		o.ID, o.Tag, o.Summary, o.Params = id, "allotments", summary, append(tp, o.Params...)
		if o.Errors == nil {
			o.Errors = errs
		}
		return o
	}
	s.Route("GET "+base+"/allotments", op("listAllotments", "List allotments", openapi.Op{Response: allotmentList{}}), h.listAllotments)
	s.Route("POST "+base+"/allotments", op("createAllotment", "Create an allotment (units of one product carved out of the subscription)", openapi.Op{
		Body: allotmentBody{}, Example: `{"displayName":"Sales E3","skuPartNumber":"SPE_E3","allottedUnits":20,"assignableTo":"user,group","owners":["Sales licensing"]}`,
		Status: http.StatusCreated, Response: Allotment{}, Errors: werrs}), h.createAllotment)
	s.Route("GET "+base+"/allotments/{id}", op("getAllotment", "Get an allotment", openapi.Op{Response: Allotment{}}), h.getAllotment)
	s.Route("PATCH "+base+"/allotments/{id}", op("updateAllotment", "Update an allotment (displayName, allottedUnits, assignableTo, owners)", openapi.Op{
		Body: allotmentBody{}, Example: `{"allottedUnits":25}`, Response: Allotment{}, Errors: werrs}), h.patchAllotment)
	s.Route("DELETE "+base+"/allotments/{id}", op("deleteAllotment", "Delete an allotment", openapi.Op{Status: http.StatusNoContent, Errors: werrs}), h.deleteAllotment)
	s.Route("GET "+base+"/allotments/{id}/waitingMembers", op("listWaitingMembers", "Users waiting for a unit of an allotment (oldest first)",
		openapi.Op{Response: valueList[WaitingMember]{}}), h.waitingMembers)
	s.Route("GET "+base+"/allotments/{id}/assignments", op("listAllotmentAssignments", "Assignments through an allotment",
		openapi.Op{Response: valueList[Assignment]{}}), h.allotmentAssignments)
	s.Route("POST "+base+"/allotments/{id}/reprocessAssignments", op("reprocessAllotment", "Reprocess an allotment's assignments",
		openapi.Op{Status: http.StatusNoContent}), h.reprocess)
	s.Route("GET "+base+"/assignments", op("listAssignments", "List assignments", openapi.Op{Response: valueList[Assignment]{}}), h.listAssignments)
	s.Route("POST "+base+"/assignments", op("createAssignment", "Assign an allotment to a user or group", openapi.Op{
		Body:    assignmentCreate{},
		Example: `{"allotment@odata.bind":"https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/3c9d2a1e-5b7f-4e0a-9c8d-1f2e3a4b5c6d","assignedTo@odata.bind":"https://graph.microsoft.com/beta/users/AdeleV@contoso.onmicrosoft.com","disabledServicePlanIds":[]}`,
		Status:  http.StatusCreated, Response: Assignment{}, Errors: werrs}), h.createAssignment)
	s.Route("GET "+base+"/assignments/{id}", op("getAssignment", "Get an assignment ({allotmentId}_{userId or groupId})", openapi.Op{Response: Assignment{}}), h.getAssignment)
	s.Route("PATCH "+base+"/assignments/{id}", op("updateAssignment", "Change an assignment's disabled plans", openapi.Op{
		Body: assignmentUpdate{}, Example: `{"disabledServicePlanIds":["efb87545-963c-4e0d-99df-69c6916d9eb0"]}`, Response: Assignment{}, Errors: werrs}), h.patchAssignment)
	s.Route("DELETE "+base+"/assignments/{id}", op("deleteAssignment", "Delete an assignment", openapi.Op{Status: http.StatusNoContent, Errors: werrs}), h.deleteAssignment)
	s.Route("GET /beta/users/{id}/cloudLicensing/usageRights", op("listUsageRights", "A user's combined usage rights per product", openapi.Op{
		Params: []openapi.Param{{Name: "id", In: "path", Description: "The user's id or userPrincipalName"}}, Response: valueList[UsageRight]{}}), h.usageRights)
}

// valueList is a list answer: {"value": [...]}.
type valueList[T any] struct {
	Value []T `json:"value"`
}

// allotmentList answers GET /beta/admin/cloudLicensing/allotments.
type allotmentList struct {
	Context string      `json:"@odata.context"`
	Value   []Allotment `json:"value"`
}

type handler struct{ s *server.Server }

// Allotment is the API shape of an allotment.
type Allotment struct {
	ID            string    `json:"id"`
	DisplayName   string    `json:"displayName"`
	SKUID         string    `json:"skuId"`
	SKUPartNumber string    `json:"skuPartNumber"`
	AllottedUnits int       `json:"allottedUnits"`
	ConsumedUnits int       `json:"consumedUnits"`
	WaitingCount  int       `json:"waitingMembersCount"`
	AssignableTo  string    `json:"assignableTo"`
	Services      []Service `json:"services"`
	Owners        []string  `json:"owners"`
	CreatedAt     time.Time `json:"createdDateTime"`
}

// Service is one plan of the allotment's product.
type Service struct {
	PlanID       string `json:"planId"`
	PlanName     string `json:"planName"`
	AssignableTo string `json:"assignableTo,omitempty"`
}

// Assignment is a user or group assigned through an allotment.
type Assignment struct {
	ID                     string    `json:"id"`
	AllotmentID            string    `json:"allotmentId"`
	AssignedTo             DirObject `json:"assignedTo"`
	DisabledServicePlanIDs []string  `json:"disabledServicePlanIds"`
	AssignedDateTime       time.Time `json:"assignedDateTime"`
}

// DirObject names a user or group.
type DirObject struct {
	ODataType   string `json:"@odata.type"`
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
}

// WaitingMember is a user waiting for a unit of an allotment.
type WaitingMember struct {
	ID                   string    `json:"id"`
	WaitingSinceDateTime time.Time `json:"waitingSinceDateTime"`
}

// UsageRight is a user's combined rights to one product.
type UsageRight struct {
	ID            string    `json:"id"`
	SKUID         string    `json:"skuId"`
	SKUPartNumber string    `json:"skuPartNumber"`
	Services      []Service `json:"services"`
}

func toAllotment(cat *catalog.Catalog, a licensing.AllotmentInfo) Allotment {
	out := Allotment{ID: a.ID, DisplayName: a.DisplayName, SKUID: a.SKUID, AllottedUnits: a.AllottedUnits, ConsumedUnits: a.ConsumedUnits,
		WaitingCount: a.Waiting, AssignableTo: a.AssignableTo, Owners: a.Owners, CreatedAt: a.CreatedAt, Services: []Service{}}
	if out.Owners == nil {
		out.Owners = []string{}
	}
	if s, ok := cat.SKU(a.SKUID); ok {
		out.SKUPartNumber = s.PartNumber
		for _, p := range s.Plans {
			out.Services = append(out.Services, Service{PlanID: p.ID, PlanName: p.Name, AssignableTo: a.AssignableTo})
		}
	}
	return out
}

func assignmentID(allotmentID, targetID string) string { return allotmentID + "_" + targetID }

func toAssignment(e *licensing.Engine, a licensing.AllotmentAssignment) Assignment {
	obj := DirObject{ODataType: "#microsoft.graph.user", ID: a.TargetID}
	if a.TargetIsGroup {
		obj.ODataType = "#microsoft.graph.group"
		if g, ok := e.Group(a.TargetID); ok {
			obj.DisplayName = g.DisplayName
		}
	} else if u, ok := e.User(a.TargetID); ok {
		obj.DisplayName = u.DisplayName
	}
	dis := a.DisabledPlans
	if dis == nil {
		dis = []string{}
	}
	return Assignment{ID: assignmentID(a.AllotmentID, a.TargetID), AllotmentID: a.AllotmentID, AssignedTo: obj, DisabledServicePlanIDs: dis, AssignedDateTime: a.AssignedAt}
}

// access resolves the tenant and the principal's scope. Principals with no
// role here get 403; allotment owners get their scope.
func (h *handler) access(w http.ResponseWriter, r *http.Request, a auth.Action) (*tenant.Tenant, *auth.Principal, bool) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if !auth.Can(p, a, t.ID) && !scope.Limited(p) {
		respond.Denied(w, r)
		return nil, nil, false
	}
	return t, p, true
}

// visibleAllotment returns ENOTFOUND unless the allotment exists and is in
// the principal's scope.
func visibleAllotment(e *licensing.Engine, p *auth.Principal, id string) error {
	if _, found := e.AllotmentByID(id); !found || !scope.Of(p, e).Allotment(id) {
		return notFound("allotment", id)
	}
	return nil
}

func notFound(kind, id string) error {
	return allot.Errorf(allot.ENOTFOUND, "Resource '%s' of type %s does not exist or is not visible to you.", id, kind)
}

func (h *handler) listAllotments(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	out := []Allotment{}
	t.Read(func(s *tenant.State) {
		sc := scope.Of(p, s.Engine)
		for _, a := range s.Engine.Allotments() {
			if sc.Allotment(a.ID) {
				out = append(out, toAllotment(s.Engine.Catalog(), a))
			}
		}
	})
	respond.JSON(w, http.StatusOK, allotmentList{Context: "https://graph.microsoft.com/beta/$metadata#admin/cloudLicensing/allotments", Value: out})
}

func (h *handler) getAllotment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	id := r.PathValue("id")
	var out Allotment
	var err error
	t.Read(func(s *tenant.State) {
		a, found := s.Engine.AllotmentByID(id)
		if !found || !scope.Of(p, s.Engine).Allotment(id) {
			err = notFound("allotment", id)
			return
		}
		out = toAllotment(s.Engine.Catalog(), a)
	})
	respond.Result(w, r, http.StatusOK, out, err)
}

// allotmentBody is the body of POST and PATCH of an allotment (PATCH
// cannot change the product).
type allotmentBody struct {
	DisplayName   *string  `json:"displayName"`
	SKUID         string   `json:"skuId" doc:"The product (or skuPartNumber); POST only"`
	SKUPartNumber string   `json:"skuPartNumber"`
	AllottedUnits *int     `json:"allottedUnits"`
	AssignableTo  *string  `json:"assignableTo" doc:"user, group or user,group"`
	Owners        []string `json:"owners" doc:"Names of the people or tokens that manage it (shown)"`
}

func (h *handler) createAllotment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	if !auth.Can(p, auth.ManageLicensing, t.ID) {
		respond.Denied(w, r) // owners do not create allotments
		return
	}
	var in allotmentBody
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.DisplayName == nil || in.AllottedUnits == nil {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "displayName and allottedUnits are required."))
		return
	}
	sku := in.SKUID
	if sku == "" {
		sku = in.SKUPartNumber
	}
	if sku == "" {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "skuId (or skuPartNumber) is required."))
		return
	}
	a := licensing.Allotment{ID: auth.NewID(), DisplayName: *in.DisplayName, SKUID: sku, AllottedUnits: *in.AllottedUnits, Owners: in.Owners}
	if in.AssignableTo != nil {
		a.AssignableTo = *in.AssignableTo
	}
	var out Allotment
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		if err := identity.PutAllotment(tx, a); err != nil {
			return err
		}
		info, _ := tx.Engine.AllotmentByID(a.ID)
		out = toAllotment(tx.Engine.Catalog(), info)
		return nil
	})
	respond.Result(w, r, http.StatusCreated, out, err)
}

func (h *handler) patchAllotment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	var in allotmentBody
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	id := r.PathValue("id")
	var props []string // the properties the body changes
	for name, set := range map[string]bool{"displayName": in.DisplayName != nil, "owners": in.Owners != nil, "allottedUnits": in.AllottedUnits != nil,
		"skuId": in.SKUID != "" || in.SKUPartNumber != "", "assignableTo": in.AssignableTo != nil} {
		if set {
			props = append(props, name)
		}
	}
	var out Allotment
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		cur, found := tx.Engine.AllotmentByID(id)
		if !found || !scope.Of(p, tx.Engine).Allotment(id) {
			return notFound("allotment", id)
		}
		if err := scope.MayChangeAllotment(p, t.ID, props...); err != nil {
			return err
		}
		next := cur.Allotment
		if in.DisplayName != nil {
			next.DisplayName = *in.DisplayName
		}
		if in.AllottedUnits != nil {
			next.AllottedUnits = *in.AllottedUnits
		}
		if in.AssignableTo != nil {
			next.AssignableTo = *in.AssignableTo
		}
		if in.Owners != nil {
			next.Owners = in.Owners
		}
		if in.SKUID != "" {
			next.SKUID = in.SKUID
		}
		if err := identity.PutAllotment(tx, next); err != nil {
			return err
		}
		info, _ := tx.Engine.AllotmentByID(id)
		out = toAllotment(tx.Engine.Catalog(), info)
		return nil
	})
	respond.Result(w, r, http.StatusOK, out, err)
}

func (h *handler) deleteAllotment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	id := r.PathValue("id")
	isAdmin := auth.Can(p, auth.ManageLicensing, t.ID)
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		if err := visibleAllotment(tx.Engine, p, id); err != nil {
			return err
		}
		if !isAdmin {
			return allot.NewError(allot.EFORBIDDEN, "Only a Global or License Administrator can delete an allotment.")
		}
		return tx.Engine.DeleteAllotment(tx.Op, id)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) waitingMembers(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	id := r.PathValue("id")
	out := []WaitingMember{}
	var err error
	t.Read(func(s *tenant.State) {
		if err = visibleAllotment(s.Engine, p, id); err != nil {
			return
		}
		for _, l := range s.Engine.AllotmentWaiting(id) {
			out = append(out, WaitingMember{ID: l.UserID, WaitingSinceDateTime: l.Since.Time()})
		}
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, valueList[WaitingMember]{Value: out})
}

func (h *handler) allotmentAssignments(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	id := r.PathValue("id")
	out := []Assignment{}
	var err error
	t.Read(func(s *tenant.State) {
		if err = visibleAllotment(s.Engine, p, id); err != nil {
			return
		}
		for _, a := range s.Engine.AllotmentAssignments(id) {
			out = append(out, toAssignment(s.Engine, a))
		}
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, valueList[Assignment]{Value: out})
}

func (h *handler) listAssignments(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	out := []Assignment{}
	t.Read(func(s *tenant.State) {
		sc := scope.Of(p, s.Engine)
		for _, a := range s.Engine.Allotments() {
			if !sc.Allotment(a.ID) {
				continue
			}
			for _, as := range s.Engine.AllotmentAssignments(a.ID) {
				out = append(out, toAssignment(s.Engine, as))
			}
		}
	})
	respond.JSON(w, http.StatusOK, valueList[Assignment]{Value: out})
}

// lookupAssignment finds an assignment by id within the principal's scope.
func lookupAssignment(e *licensing.Engine, sc *scope.Scope, id string) (licensing.AllotmentAssignment, error) {
	allotmentID, targetID, ok := strings.Cut(id, "_")
	if ok && sc.Allotment(allotmentID) {
		for _, a := range e.AllotmentAssignments(allotmentID) {
			if a.TargetID == targetID {
				return a, nil
			}
		}
	}
	return licensing.AllotmentAssignment{}, notFound("assignment", id)
}

func (h *handler) getAssignment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage)
	if !ok {
		return
	}
	var out Assignment
	var err error
	t.Read(func(s *tenant.State) {
		var a licensing.AllotmentAssignment
		if a, err = lookupAssignment(s.Engine, scope.Of(p, s.Engine), r.PathValue("id")); err == nil {
			out = toAssignment(s.Engine, a)
		}
	})
	respond.Result(w, r, http.StatusOK, out, err)
}

// bindID takes the object id out of an @odata.bind value such as
// https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/{id},
// .../users/{id}, .../groups('{id}') or .../directoryObjects/{id}.
func bindID(v string) string {
	v = strings.TrimRight(v, "/")
	if i := strings.LastIndex(v, "('"); i >= 0 && strings.HasSuffix(v, "')") {
		return v[i+2 : len(v)-2]
	}
	if i := strings.LastIndex(v, "/"); i >= 0 {
		return v[i+1:]
	}
	return v
}

func (h *handler) createAssignment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	var in assignmentCreate
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	if in.AllotmentBind == "" || in.AssignedToBind == "" {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "allotment@odata.bind and assignedTo@odata.bind are required."))
		return
	}
	allotmentID, targetID := bindID(in.AllotmentBind), bindID(in.AssignedToBind)
	if !auth.Can(p, auth.ManageLicensing, t.ID) && !scope.Limited(p) {
		respond.Denied(w, r)
		return
	}
	var out Assignment
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		if err := visibleAllotment(tx.Engine, p, allotmentID); err != nil {
			return err
		}
		if !scope.Of(p, tx.Engine).MayAssign(tx.Engine, targetID) {
			return notFound("directoryObject", targetID)
		}
		for _, a := range tx.Engine.AllotmentAssignments(allotmentID) {
			if a.TargetID == targetID {
				return allot.Errorf(allot.ECONFLICT, "%s is already assigned through this allotment; PATCH the assignment to change it.", targetID)
			}
		}
		if err := tx.Engine.AssignThroughAllotment(tx.Op, allotmentID, targetID, in.Disabled); err != nil {
			return err
		}
		a, err := lookupAssignment(tx.Engine, nil, assignmentID(allotmentID, targetID))
		out = toAssignment(tx.Engine, a)
		return err
	})
	respond.Result(w, r, http.StatusCreated, out, err)
}

func (h *handler) patchAssignment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	var in assignmentUpdate
	if err := respond.Decode(r, &in, 0, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	id := r.PathValue("id")
	var out Assignment
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		a, err := lookupAssignment(tx.Engine, scope.Of(p, tx.Engine), id)
		if err != nil {
			return err
		}
		if err := tx.Engine.AssignThroughAllotment(tx.Op, a.AllotmentID, a.TargetID, in.Disabled); err != nil {
			return err
		}
		a, err = lookupAssignment(tx.Engine, nil, id)
		out = toAssignment(tx.Engine, a)
		return err
	})
	respond.Result(w, r, http.StatusOK, out, err)
}

func (h *handler) deleteAssignment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		a, err := lookupAssignment(tx.Engine, scope.Of(p, tx.Engine), id)
		if err != nil {
			return err
		}
		return tx.Engine.RemoveFromAllotment(tx.Op, a.AllotmentID, a.TargetID)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) reprocess(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		if err := visibleAllotment(tx.Engine, p, id); err != nil {
			return err
		}
		for _, a := range tx.Engine.AllotmentAssignments(id) {
			var err error
			if a.TargetIsGroup {
				err = tx.Engine.ReprocessGroup(tx.Op, a.TargetID)
			} else {
				err = tx.Engine.ReprocessUser(tx.Op, a.TargetID)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) usageRights(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ReadUsageRights)
	if !ok {
		return
	}
	out := []UsageRight{}
	var err error
	t.Read(func(s *tenant.State) {
		id := r.PathValue("id")
		u, found := s.Engine.User(id)
		if !found {
			u, found = s.Engine.UserByUPN(id)
		}
		sc := scope.Of(p, s.Engine)
		if !found || !sc.User(u.ID) {
			err = notFound("user", id)
			return
		}
		seen := map[string]bool{}
		for _, l := range s.Engine.Licenses(u.ID) {
			if seen[l.SKUID] || !sc.Licenses(l.AllotmentID) {
				continue // an owner sees the rights its allotments give only
			}
			seen[l.SKUID] = true
			plans := s.Engine.EnabledPlansIn(u.ID, l.SKUID, sc.Licenses)
			if len(plans) == 0 {
				continue
			}
			sku, _ := s.Engine.Catalog().SKU(l.SKUID)
			ur := UsageRight{ID: u.ID + "_" + l.SKUID, SKUID: l.SKUID, SKUPartNumber: sku.PartNumber}
			for _, pid := range plans {
				name := pid
				if pl, ok := s.Engine.Catalog().Plan(pid); ok {
					name = pl.Name
				}
				ur.Services = append(ur.Services, Service{PlanID: pid, PlanName: name})
			}
			out = append(out, ur)
		}
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, valueList[UsageRight]{Value: out})
}

// assignmentCreate is the body of POST /beta/admin/cloudLicensing/assignments.
type assignmentCreate struct {
	AllotmentBind  string   `json:"allotment@odata.bind"`
	AssignedToBind string   `json:"assignedTo@odata.bind"`
	Disabled       []string `json:"disabledServicePlanIds"`
}

// assignmentUpdate is the body of PATCH /beta/admin/cloudLicensing/assignments/{id}.
type assignmentUpdate struct {
	Disabled []string `json:"disabledServicePlanIds"`
}
