package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"allot/directory"
	"allot/licensing"
	"allot/tenant"
)

// errorRow is a user with licenses in error.
type errorRow struct {
	ID, UPN, Name string
	Errors        []errorSource
}

type errorSource struct {
	SKUID, PartNumber  string
	GroupID, GroupName string // "" for a direct assignment
	Error, State       string
	Since              time.Time
}

type errorsData struct {
	SKU, Code, Group, GroupName string
	Desc                        bool
	Rows                        []errorRow
	Pager                       pager
	SKUs                        []skuRow
	Codes                       []string
}

var errorCodes = []string{licensing.ErrCountViolation.String(), licensing.ErrDependency.String(), licensing.ErrMutuallyExclusive.String(),
	licensing.ErrProhibitedInUsageLoc.String(), licensing.ErrUniqueness.String(), licensing.ErrOther.String()}

// errorsPage lists the users with a license source in Error, by user name,
// filtered by product, error code or group.
func (h *handler) errorsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	qs := r.URL.Query()
	d := errorsData{SKU: qs.Get("sku"), Code: qs.Get("code"), Group: qs.Get("group"), Codes: errorCodes, Desc: qs.Get("dir") == "desc"}
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		x := directoryOf(s)
		d.SKUs = skuRows(e, x)
		keep := func(id string) bool {
			r := x.User(id)
			if r == nil {
				return false
			}
			if d.SKU != "" && !slices.Contains(r.ErrSKUs(), d.SKU) {
				return false
			}
			if d.Code != "" && !slices.ContainsFunc(r.ErrCodes(), func(c string) bool {
				return strings.HasSuffix(c, "\x00"+d.Code) && (d.SKU == "" || strings.HasPrefix(c, d.SKU+"\x00"))
			}) {
				return false
			}
			return true
		}
		if d.Group != "" {
			if g, ok := e.Group(d.Group); ok {
				d.GroupName = g.DisplayName
			} else {
				d.Group = ""
			}
		}
		if d.Group != "" {
			// The members the group's license is in error for (Graph's
			// membersWithLicenseErrors), from the index: a walk of the
			// users in error, not of the group.
			byKeep := keep
			keep = func(id string) bool { return byKeep(id) && slices.Contains(x.User(id).ErrGroups(), d.Group) }
		}
		// The users in error (of the product), in userPrincipalName order.
		dq := directory.Query{Order: userOrder(x, "upn"), Desc: d.Desc, After: cursorKey(qs.Get("after"), "upn", d.Desc),
			Before: cursorKey(qs.Get("before"), "upn", d.Desc), Limit: pageSize,
			Ranges: []directory.Range{directory.RangeOf(x.UsersInError(d.SKU), "id")}, Match: keep}
		p := pageOf("upn", d.Desc, x.List(dq, true))
		for _, k := range p.Keys {
			u, ok := e.User(k.ID)
			if !ok {
				continue
			}
			row := errorRow{ID: u.ID, UPN: u.UserPrincipalName, Name: u.DisplayName}
			for _, l := range e.Licenses(u.ID) {
				for _, src := range l.Sources {
					if src.State != licensing.StateError || (d.Group != "" && src.AssignedByGroup != d.Group) {
						continue
					}
					es := errorSource{SKUID: l.SKUID, PartNumber: partNumber(e.Catalog(), l.SKUID), GroupID: src.AssignedByGroup,
						Error: src.Error.String(), State: src.State.String(), Since: src.LastUpdated.Time()}
					if g, ok := e.Group(src.AssignedByGroup); ok {
						es.GroupName = g.DisplayName
					}
					row.Errors = append(row.Errors, es)
				}
			}
			d.Rows = append(d.Rows, row)
		}
		d.Pager = pagerOf(r, p, "user in error", "users in error")
	})
	h.render(w, r, v, http.StatusOK, "errors", pageData{Title: "License errors", Nav: "errors", Data: d})
}

// roomRow is one waiting room: a product's general pool or an allotment.
type roomRow struct {
	SKUID, PartNumber string
	AllotmentID, Name string
	Waiting           int
	Free              int
}

type waitingData struct {
	Rooms     []roomRow
	Current   *roomRow
	Waiting   []waitingView
	WaitPager pager
}

// waitingPage lists the waiting rooms, and one of them (?sku= or
// ?allotment=) oldest first: the order in which users get seats.
func (h *handler) waitingPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	qs := r.URL.Query()
	offset, _ := strconv.Atoi(qs.Get("offset"))
	offset = max(0, offset)
	var d waitingData
	v.T.Read(func(s *tenant.State) {
		e := s.Engine
		al := sumAllotments(e)
		for _, p := range e.Pools() {
			d.Rooms = append(d.Rooms, roomRow{SKUID: p.SKU.ID, PartNumber: p.SKU.PartNumber, Name: p.SKU.DisplayName, Waiting: p.Waiting,
				Free: generalFree(p, al[p.SKU.ID])})
		}
		for _, a := range e.Allotments() {
			d.Rooms = append(d.Rooms, roomRow{SKUID: a.SKUID, PartNumber: partNumber(e.Catalog(), a.SKUID), AllotmentID: a.ID, Name: a.DisplayName,
				Waiting: a.Waiting, Free: max(0, a.AllottedUnits-a.ConsumedUnits)})
		}
		var room []licensing.License
		for i := range d.Rooms {
			rr := &d.Rooms[i]
			switch {
			case qs.Get("allotment") != "" && rr.AllotmentID == qs.Get("allotment"):
				room = e.AllotmentWaiting(rr.AllotmentID)
			case qs.Get("allotment") == "" && rr.AllotmentID == "" && rr.SKUID == qs.Get("sku"):
				room = e.WaitingRoom(rr.SKUID)
			default:
				continue
			}
			d.Current = rr
		}
		if d.Current != nil {
			d.Waiting, d.WaitPager = waitingPage(r, e, room, offset)
		}
	})
	h.render(w, r, v, http.StatusOK, "waiting", pageData{Title: "Waiting rooms", Nav: "waiting", Data: d})
}
