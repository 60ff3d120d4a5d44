package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"allot/api/scope"
	"allot/identity"
	"allot/licensing"
	"allot/tenant"
)

type allotmentRow struct {
	licensing.AllotmentInfo
	PartNumber string
	Free       int
	// High is where the usage meter turns to a warning: 90% of the units.
	High int
}

func allotmentRowOf(e *licensing.Engine, a licensing.AllotmentInfo) allotmentRow {
	return allotmentRow{AllotmentInfo: a, PartNumber: partNumber(e.Catalog(), a.SKUID), Free: max(0, a.AllottedUnits-a.ConsumedUnits),
		High: a.AllottedUnits * 9 / 10}
}

// allotments lists the allotments the viewer may see: all of them, or a
// delegated owner's own.
func (h *handler) allotments(w http.ResponseWriter, r *http.Request, v *viewer) {
	var rows []allotmentRow
	v.T.Read(func(s *tenant.State) {
		sc := v.scope(s)
		for _, a := range s.Engine.Allotments() {
			if sc.Allotment(a.ID) {
				rows = append(rows, allotmentRowOf(s.Engine, a))
			}
		}
	})
	h.render(w, r, v, http.StatusOK, "allotments", pageData{Title: "Allotments", Nav: "allotments", Data: rows})
}

type allotmentData struct {
	A           allotmentRow
	Assignments []assignmentView
	Waiting     []waitingView
	WaitPager   pager
	CanAssign   bool // may add and remove assignments
	// F is the edit form (name, units, owners): the stored values, or the
	// values of a refused save.
	F *formState
}

type assignmentView struct {
	TargetID, Name string
	IsGroup        bool
	Members        int
	Disabled       int
	AssignedAt     time.Time
}

// waitingView is a user in a waiting room.
type waitingView struct {
	Position    int
	UserID, UPN string
	Name        string
	Since       time.Time
}

// allotment shows an allotment: units, consumption, assignments and its
// waiting room, oldest first. Outside a delegated owner's scope it
// answers 404.
func (h *handler) allotment(w http.ResponseWriter, r *http.Request, v *viewer) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	d, found := h.allotmentData(r, v, max(0, offset))
	if !found {
		h.notFound(w, r, v)
		return
	}
	h.render(w, r, v, http.StatusOK, "allotment", pageData{Title: d.A.DisplayName, Nav: "allotments", Data: d})
}

// allotmentData reads what the allotment page shows, with the edit form
// filled from the stored allotment; false outside the viewer's scope.
func (h *handler) allotmentData(r *http.Request, v *viewer, offset int) (allotmentData, bool) {
	var d allotmentData
	found := false
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		id := r.PathValue("id")
		a, ok := e.AllotmentByID(id)
		if !ok || !v.scope(s).Allotment(id) {
			return
		}
		found = true
		d.A = allotmentRowOf(e, a)
		d.F = &formState{Values: map[string]string{"displayName": a.DisplayName, "allottedUnits": strconv.Itoa(a.AllottedUnits),
			"owners": strings.Join(a.Owners, "\n")}}
		d.CanAssign = v.CanEditAllotments()
		for _, as := range e.AllotmentAssignments(id) {
			av := assignmentView{TargetID: as.TargetID, IsGroup: as.TargetIsGroup, Disabled: len(as.DisabledPlans), AssignedAt: as.AssignedAt}
			if as.TargetIsGroup {
				g, _ := e.Group(as.TargetID)
				av.Name, av.Members = g.DisplayName, e.MemberCount(as.TargetID)
			} else {
				u, _ := e.User(as.TargetID)
				av.Name = u.UserPrincipalName
			}
			d.Assignments = append(d.Assignments, av)
		}
		d.Waiting, d.WaitPager = waitingPage(r, e, e.AllotmentWaiting(id), offset)
	})
	return d, found
}

// waitingPage is one page of a waiting room (oldest first) from offset.
func waitingPage(r *http.Request, e *licensing.Engine, room []licensing.License, offset int) ([]waitingView, pager) {
	pg := pager{Total: len(room), One: "user waits", Many: "users wait"}
	end := min(len(room), offset+pageSize)
	var out []waitingView
	for i := offset; i < end; i++ {
		l := room[i]
		u, _ := e.User(l.UserID)
		out = append(out, waitingView{Position: i + 1, UserID: l.UserID, UPN: u.UserPrincipalName, Name: u.DisplayName, Since: l.Since.Time()})
	}
	if offset > 0 {
		pg.First = withQuery(r.URL, "offset", "")
		pg.Prev = withQuery(r.URL, "offset", strconv.Itoa(max(0, offset-pageSize)))
	}
	if end < len(room) {
		pg.Next = withQuery(r.URL, "offset", strconv.Itoa(end))
	}
	return out, pg
}

// inScope checks, inside a command, that the viewer may act on the
// allotment: ENOTFOUND otherwise (a delegated owner must not learn that
// other allotments exist).
func inScope(tx *tenant.Tx, v *viewer, id string) (licensing.AllotmentInfo, error) {
	a, ok := tx.Engine.AllotmentByID(id)
	if !ok || !scope.Of(v.P, tx.Engine).Allotment(id) {
		return a, notFoundErr("Allotment %s does not exist or is not visible to you.", id)
	}
	return a, nil
}

// setAllottedUnits changes an allotment's units (administrators).
func (h *handler) setAllottedUnits(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	units, perr := strconv.Atoi(strings.TrimSpace(r.PostFormValue("units")))
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		a, err := inScope(tx, v, id)
		if err != nil {
			return err
		}
		if perr != nil || units < 0 {
			return invalidErr("Units must be a whole number of at least 0.")
		}
		next := a.Allotment
		next.AllottedUnits = units
		return identity.PutAllotment(tx, next)
	})
	h.done(w, r, "/admin/allotments/"+id, err, "Allotted units set to "+num(units)+".")
}

// addAllotmentAssignment assigns a user (by userPrincipalName or id) or a
// group (by id or display name) through the allotment (administrators and
// the allotment's owners, as the allotments API).
func (h *handler) addAllotmentAssignment(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	target := strings.TrimSpace(r.PostFormValue("target"))
	if !v.CanEditAllotments() {
		h.deny(w, r, v)
		return
	}
	var name string
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		if _, err := inScope(tx, v, id); err != nil {
			return err
		}
		e := tx.Engine
		sc := scope.Of(v.P, e)
		tid := ""
		if sc != nil {
			// A delegated owner: names resolve only among what it sees,
			// ids anywhere, and the target must be one it may assign
			// (api/scope MayAssign, as the allotments API).
			if u, ok := sc.FindUser(e, target); ok {
				tid, name = u.ID, u.UserPrincipalName
			} else if g, ok := e.Group(target); ok {
				tid, name = g.ID, g.DisplayName
			} else if gid, ok := groupIDByName(e, target); ok && sc.Group(gid) {
				tid, name = gid, target
			}
			if tid != "" && !sc.MayAssign(e, tid) {
				tid = ""
			}
		} else if u, ok := findUser(e, target); ok {
			tid, name = u.ID, u.UserPrincipalName
		} else if g, ok := e.Group(target); ok {
			tid, name = g.ID, g.DisplayName
		} else if gid, ok := groupIDByName(e, target); ok {
			tid, name = gid, target
		}
		if tid == "" {
			return notFoundErr("No user or group %q: give a user name, a group's name or an object id.", target)
		}
		for _, as := range e.AllotmentAssignments(id) {
			if as.TargetID == tid {
				return conflictErr("%s is already assigned through this allotment.", name)
			}
		}
		return e.AssignThroughAllotment(tx.Op, id, tid, nil)
	})
	h.done(w, r, "/admin/allotments/"+id, err, name+" assigned through the allotment.")
}

// groupIDByName finds a group by display name (case-insensitive) on the
// engine (commands may not use the readers' index).
func groupIDByName(e *licensing.Engine, name string) (string, bool) {
	for _, id := range e.GroupIDs() {
		if g, _ := e.Group(id); strings.EqualFold(g.DisplayName, name) {
			return id, true
		}
	}
	return "", false
}

// removeAllotmentAssignment removes a user's or group's assignment
// through the allotment (administrators and the allotment's owners).
func (h *handler) removeAllotmentAssignment(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	target := r.PostFormValue("target")
	if !v.CanEditAllotments() {
		h.deny(w, r, v)
		return
	}
	err := v.T.Do(r.Context(), v.op(h.now(), "admin center"), func(tx *tenant.Tx) error {
		if _, err := inScope(tx, v, id); err != nil {
			return err
		}
		return tx.Engine.RemoveFromAllotment(tx.Op, id, target)
	})
	h.done(w, r, "/admin/allotments/"+id, err, "Assignment removed.")
}
