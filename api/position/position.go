// Package positionapi is the license position API under /allot/v1: the
// tenant's price list, the position as JSON, CSV and a printable HTML
// report, snapshots and their comparison, and the daily snapshots.
//
// Roles: reading the position, the price list and the snapshots needs a
// Global or License Administrator, a Global Reader or a Reports Reader (or
// the partner administrator naming the tenant); changing the price list
// and taking snapshots needs a Global or License Administrator. A
// delegated Allotment Owner gets the position restricted to their
// allotments (their units, their users' findings) and 404 for the price
// list and the snapshots. Anyone else gets 403. POST /allot/v1/whatif
// (whatif.go) tries commands and sets the tenant back; readers of the position may
// ask, allotment owners may not.
package positionapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
	"allot/whatif"
)

// Options tune Mount.
type Options struct {
	// Daily takes one snapshot per tenant per day (UTC) in a goroutine:
	// first a minute after start, then every Interval.
	Daily    bool
	Interval time.Duration // default one hour
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Register mounts the API and starts the daily snapshots.
func Register(s *server.Server) { Mount(s, Options{Daily: true}) }

// Mount mounts the API with options.
func Mount(s *server.Server, o Options) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = time.Hour
	}
	h := &handler{s: s, now: o.Now}
	tp := []openapi.Param{server.TenantParam}
	posParams := []openapi.Param{server.TenantParam,
		{Name: "asOf", Description: "The day the position is for (YYYY-MM-DD; default today, not in the future)"},
		{Name: "windowDays", Type: "integer", Description: "Days of usage that count as use, 1 to 90 (default 30)"}}
	errs := []int{http.StatusForbidden, http.StatusNotFound, http.StatusTooManyRequests}
	s.Route("GET /allot/v1/prices", openapi.Op{ID: "getPrices", Tag: "position", Summary: "The tenant's price list ({\"currency\":null,\"prices\":[]} when there is none)",
		Params: tp, Response: priceListBody{}, Errors: errs[:2]}, h.getPrices)
	s.Route("PUT /allot/v1/prices", openapi.Op{ID: "putPrices", Tag: "position", Summary: "Replace the tenant's price list",
		Description: "Errors name the entry (prices[i].field, mayBuy[i]).",
		Params:      tp, Body: priceListPut{},
		Example:  `{"currency":"EUR","prices":[{"skuPartNumber":"SPE_E3","monthlyUnitPrice":33.75,"term":"P1Y"},{"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","monthlyUnitPrice":54.75}],"tenantKind":"commercial","mayBuy":[]}`,
		Response: priceListBody{}, Errors: errs[:2]}, h.putPrices)
	s.Route("GET /allot/v1/position", openapi.Op{ID: "getPosition", Tag: "position", Summary: "The effective license position (JSON)",
		Description: "Allotment owners get the position of their allotments (scopedToAllotments). One position is computed at a time per server: 429 with Retry-After while another is being computed.",
		Params:      posParams, Response: position.Position{}, Errors: errs}, h.getJSON)
	s.RouteBrowsable("GET /allot/v1/position.csv", openapi.Op{ID: "getPositionCSV", Tag: "position", Summary: "The effective license position's findings (CSV, one row each)",
		Params: posParams, Response: openapi.Schema{Schema: map[string]any{"type": "string"}}, ResponseType: "text/csv", Errors: errs}, h.getCSV)
	s.RouteBrowsable("GET /allot/v1/position.html", openapi.Op{ID: "getPositionHTML", Tag: "position", Summary: "The effective license position (printable HTML)",
		Params: posParams, Response: openapi.Schema{Schema: map[string]any{"type": "string"}}, ResponseType: "text/html", Errors: errs}, h.getHTML)
	s.Route("POST /allot/v1/position/snapshots", openapi.Op{ID: "createPositionSnapshot", Tag: "position", Summary: "Keep a snapshot of today's position",
		Params: tp, Status: http.StatusCreated, Response: snapshotInfo{}, Errors: errs}, h.postSnapshot)
	s.Route("GET /allot/v1/position/snapshots", openapi.Op{ID: "listPositionSnapshots", Tag: "position", Summary: "List position snapshots (oldest first)",
		Params: tp, Response: snapshotList{}, Errors: errs[:2]}, h.listSnapshots)
	s.Route("GET /allot/v1/position/snapshots/{id}", openapi.Op{ID: "getPositionSnapshot", Tag: "position", Summary: "Get a position snapshot",
		Params: tp, Response: snapshotInfo{}, Errors: errs[:2]}, h.getSnapshot)
	s.Route("GET /allot/v1/position/diff", openapi.Op{ID: "diffPosition", Tag: "position", Summary: "Compare two positions (drift)",
		Params: append([]openapi.Param{{Name: "from", Required: true, Description: "A snapshot id, a date (YYYY-MM-DD: the last snapshot as of that day) or now"},
			{Name: "to", Description: "As from (default now: the live position)"}}, posParams...),
		Response: position.Diff{}, Errors: errs}, h.diff)
	s.Route("POST /allot/v1/whatif", openapi.Op{ID: "whatIf", Tag: "position",
		Summary: "Try commands on a snapshot of the tenant (nothing changes) and answer the difference",
		Description: "Gains, losses, users who start waiting, errors that appear, seats and monthly cost before and after. " +
			"Commands: setGroupLicenses (groupId, addLicenses, removeLicenses), setUserLicenses (userId, …), changeUnits (sku, by), " +
			"putAllotment (allotment), setMembershipRule (groupId, membershipRule), applyFixes (kinds: the position's fixes).",
		Params: posParams, Body: whatIfRequest{},
		Example:  `{"commands":[{"op":"changeUnits","sku":"SPE_E3","by":-5},{"op":"setGroupLicenses","groupId":"5f2c1a7e-0d1b-4a3e-9a40-2a6e0c0f4b11","addLicenses":[{"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","disabledPlans":[]}],"removeLicenses":[]}]}`,
		Response: whatif.Result{}, Errors: errs}, h.whatIf)
	if o.Daily {
		go h.daily(o.Interval, s.Log)
	}
}

type handler struct {
	s   *server.Server
	now func() time.Time
}

// access resolves the tenant. Principals who may not perform the action
// get 403, except allotment owners when owners is true (scoped) — otherwise
// they get 404.
func (h *handler) access(w http.ResponseWriter, r *http.Request, a auth.Action, owners bool) (*tenant.Tenant, *auth.Principal, bool) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if auth.Can(p, a, t.ID) {
		return t, p, true
	}
	if owners && scope.Limited(p) {
		return t, p, true
	}
	scope.Deny(w, r, p)
	return nil, nil, false
}

// params reads asOf (YYYY-MM-DD, default today, not in the future) and
// windowDays (1–90, default 30).
func (h *handler) params(r *http.Request) (position.Options, error) {
	now := h.now().UTC()
	o := position.Options{AsOf: usage.DayOf(now), Now: now}
	q := r.URL.Query()
	for k := range q {
		if k != "asOf" && k != "windowDays" && k != "from" && k != "to" {
			return o, allot.Errorf(allot.EINVALID, "Unknown query parameter %q: use asOf=YYYY-MM-DD or windowDays.", k)
		}
	}
	if v := q.Get("asOf"); v != "" {
		d, err := position.ParseDay(v)
		if err != nil {
			return o, err
		}
		if d > usage.DayOf(now)+1 {
			return o, allot.Errorf(allot.EINVALID, "asOf %s is in the future.", v)
		}
		o.AsOf = d
	}
	if v := q.Get("windowDays"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 90 {
			return o, allot.Errorf(allot.EINVALID, "windowDays must be a number of days from 1 to 90, not %q.", v)
		}
		o.WindowDays = n
	}
	return o, nil
}

// compute answers the position for the request's principal.
func (h *handler) compute(w http.ResponseWriter, r *http.Request) (*position.Position, *tenant.Tenant, bool) {
	t, p, ok := h.access(w, r, auth.ReadLicenseUsage, true)
	if !ok {
		return nil, nil, false
	}
	o, err := h.params(r)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if !acquire(w, r) {
		return nil, nil, false
	}
	defer release()
	snap, err := t.Snapshot(r.Context())
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if !auth.Can(p, auth.ReadLicenseUsage, t.ID) { // an allotment owner
		sc := scope.Of(p, snap.Engine)
		ps := &position.Scope{User: sc.User, License: sc.Licenses, SKU: func(id string) bool { return sc.SKU(snap.Engine, id) }}
		for _, id := range p.AllotmentIDs {
			if a, ok := snap.Engine.AllotmentByID(id); ok {
				ps.Allotments = append(ps.Allotments, a)
			}
		}
		o.Scope = ps
	}
	pos, err := snapshotstore.Position(snap, o)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	computed.Add(1)
	if o.Scope == nil {
		lastPosition.put(t, snap.Commit(), o, pos)
	}
	if h.s.Alerts != nil && o.Scope == nil && len(r.URL.Query()) == 0 {
		// The tenant-wide position of today with the default window: the findings rules' facts.
		if err := h.s.Alerts.ReportComputed(r.Context(), t, pos); err != nil {
			h.s.Log.Error("alert evaluation of the position failed", "tenant", t.ID, "err", err)
		}
	}
	return pos, t, true
}

// A position is computed on a snapshot of the tenant (Tenant.Snapshot),
// not inside Tenant.Read: it takes seconds at a million users, and a long
// read holds up commits and, behind them, other readers. One position at a time is computed by the API (each takes
// every core, and a snapshot costs about an engine's memory while it
// lives); the others wait for their turn or for their client to give up.
var computing = make(chan struct{}, 1)

// acquire waits for the turn to compute a position; false (with the
// response written) if the request ended first.
func acquire(w http.ResponseWriter, r *http.Request) bool {
	select {
	case computing <- struct{}{}:
		return true
	case <-r.Context().Done():
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "The request was cancelled while it waited for another license position to finish."))
		return false
	}
}

func release() { <-computing }

// getJSON: GET /allot/v1/position[?asOf=YYYY-MM-DD][&windowDays=N].
func (h *handler) getJSON(w http.ResponseWriter, r *http.Request) {
	pos, _, ok := h.compute(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := pos.WriteJSON(w); err != nil {
		h.s.Log.Warn("writing position JSON", "err", err)
	}
}

// getCSV: GET /allot/v1/position.csv — the findings, one row each.
func (h *handler) getCSV(w http.ResponseWriter, r *http.Request) {
	pos, _, ok := h.compute(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="position-`+pos.AsOf+`.csv"`)
	if err := position.WriteCSV(w, pos); err != nil {
		h.s.Log.Warn("writing position CSV", "err", err)
	}
}

// getHTML: GET /allot/v1/position.html — the printable report.
func (h *handler) getHTML(w http.ResponseWriter, r *http.Request) {
	pos, t, ok := h.compute(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := position.WriteHTML(w, pos, position.HTMLOptions{Tenant: t.Info().CompanyName}); err != nil {
		h.s.Log.Warn("writing position HTML", "err", err)
	}
}

// daily takes the daily snapshots until the runtime shuts down.
func (h *handler) daily(every time.Duration, log *slog.Logger) {
	timer := time.NewTimer(time.Minute)
	for range timer.C {
		n, err := snapshotstore.TakeDaily(context.Background(), h.s.RT, h.now().UTC())
		if errors.Is(err, tenant.ErrClosed) {
			return
		}
		if err != nil {
			log.Error("daily position snapshot", "err", err)
		} else if n > 0 {
			log.Info("daily position snapshots taken", "tenants", n)
		}
		timer.Reset(every)
	}
}
