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
	s.Handle("GET "+base+"/allotments", h.listAllotments)
	s.Handle("POST "+base+"/allotments", h.createAllotment)
	s.Handle("GET "+base+"/allotments/{id}", h.getAllotment)
	s.Handle("PATCH "+base+"/allotments/{id}", h.patchAllotment)
	s.Handle("DELETE "+base+"/allotments/{id}", h.deleteAllotment)
	s.Handle("GET "+base+"/allotments/{id}/waitingMembers", h.waitingMembers)
	s.Handle("GET "+base+"/allotments/{id}/assignments", h.allotmentAssignments)
	s.Handle("POST "+base+"/allotments/{id}/reprocessAssignments", h.reprocess)
	s.Handle("GET "+base+"/assignments", h.listAssignments)
	s.Handle("POST "+base+"/assignments", h.createAssignment)
	s.Handle("GET "+base+"/assignments/{id}", h.getAssignment)
	s.Handle("PATCH "+base+"/assignments/{id}", h.patchAssignment)
	s.Handle("DELETE "+base+"/assignments/{id}", h.deleteAssignment)
	s.Handle("GET /beta/users/{id}/cloudLicensing/usageRights", h.usageRights)
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
	respond.JSON(w, http.StatusOK, map[string]any{"@odata.context": "https://graph.microsoft.com/beta/$metadata#admin/cloudLicensing/allotments", "value": out})
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
}

type allotmentBody struct {
	DisplayName   *string  `json:"displayName"`
	SKUID         string   `json:"skuId"`
	SKUPartNumber string   `json:"skuPartNumber"`
	AllottedUnits *int     `json:"allottedUnits"`
	AssignableTo  *string  `json:"assignableTo"`
	Owners        []string `json:"owners"`
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, out)
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
	isAdmin := auth.Can(p, auth.ManageLicensing, t.ID)
	var out Allotment
	err := t.Do(r.Context(), licensing.Op{Actor: p.Actor()}, func(tx *tenant.Tx) error {
		cur, found := tx.Engine.AllotmentByID(id)
		if !found || !scope.Of(p, tx.Engine).Allotment(id) {
			return notFound("allotment", id)
		}
		if !isAdmin && (in.AllottedUnits != nil || in.SKUID != "" || in.SKUPartNumber != "" || in.AssignableTo != nil) {
			return allot.NewError(allot.EFORBIDDEN, "Only a Global or License Administrator can change an allotment's product, units or assignableTo.")
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
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
			out = append(out, WaitingMember{ID: l.UserID, WaitingSinceDateTime: l.Since})
		}
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
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
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
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
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
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
	var in struct {
		AllotmentBind  string   `json:"allotment@odata.bind"`
		AssignedToBind string   `json:"assignedTo@odata.bind"`
		Disabled       []string `json:"disabledServicePlanIds"`
	}
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, out)
}

func (h *handler) patchAssignment(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	var in struct {
		Disabled []string `json:"disabledServicePlanIds"`
	}
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, out)
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
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
}
