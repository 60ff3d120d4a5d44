package positionapi

import (
	"net/http"

	"allot"
	"allot/api/respond"
	"allot/auth"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
)

// snapshotInfo is a snapshot as listed.
type snapshotInfo struct {
	ID       string                 `json:"id"`
	AsOf     string                 `json:"asOf"`
	TakenAt  string                 `json:"takenDateTime"`
	Origin   string                 `json:"origin"`
	Currency *string                `json:"currency"`
	Totals   position.SnapTotals    `json:"totals"`
	SKUs     []position.SnapshotSKU `json:"skus,omitempty"`
}

// snapshotList answers GET /allot/v1/position/snapshots.
type snapshotList struct {
	Value []snapshotInfo `json:"value"`
}

func info(s position.Snapshot, full bool) snapshotInfo {
	out := snapshotInfo{ID: s.ID, AsOf: s.AsOf, TakenAt: s.TakenAt.Format("2006-01-02T15:04:05Z"), Origin: s.Origin, Currency: s.Currency, Totals: s.Totals}
	if full {
		out.SKUs = s.SKUs
	}
	return out
}

// postSnapshot: POST /allot/v1/position/snapshots — saves the position as
// of today; 201 with the snapshot's id and asOf.
func (h *handler) postSnapshot(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.access(w, r, auth.ManageLicensing, false)
	if !ok {
		return
	}
	if !acquire(w, r) {
		return
	}
	snap, _, err := snapshotstore.Take(r.Context(), t, auth.NewID(), position.OriginOnDemand, p.Actor(), h.now().UTC())
	release()
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.Header().Set("Location", "/allot/v1/position/snapshots/"+snap.ID)
	respond.JSON(w, http.StatusCreated, info(snap, true))
}

// listSnapshots: GET /allot/v1/position/snapshots — oldest first.
func (h *handler) listSnapshots(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.access(w, r, auth.ReadLicenseUsage, false)
	if !ok {
		return
	}
	var snaps []position.Snapshot
	t.Read(func(s *tenant.State) { snaps = snapshotstore.List(s) })
	out := make([]snapshotInfo, len(snaps))
	for i, s := range snaps {
		out[i] = info(s, false)
	}
	respond.JSON(w, http.StatusOK, snapshotList{Value: out})
}

// getSnapshot: GET /allot/v1/position/snapshots/{id}.
func (h *handler) getSnapshot(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.access(w, r, auth.ReadLicenseUsage, false)
	if !ok {
		return
	}
	id := r.PathValue("id")
	var snaps []position.Snapshot
	t.Read(func(s *tenant.State) { snaps = snapshotstore.List(s) })
	for _, s := range snaps {
		if s.ID == id {
			respond.JSON(w, http.StatusOK, info(s, true))
			return
		}
	}
	respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "Snapshot %s does not exist.", id))
}

// diff: GET /allot/v1/position/diff?from=<id|date>&to=<id|date|now> —
// what changed between two snapshots, or a snapshot and the live position
// (to defaults to now). A date names the last snapshot as of that day.
func (h *handler) diff(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.access(w, r, auth.ReadLicenseUsage, false)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "from is required: a snapshot id or a date (YYYY-MM-DD)."))
		return
	}
	if to == "" {
		to = "now"
	}
	o, err := h.params(r)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var snaps []position.Snapshot
	var live *position.Position
	if to == "now" || from == "now" {
		if !acquire(w, r) {
			return
		}
		defer release()
		snap, serr := t.Snapshot(r.Context())
		if serr != nil {
			respond.Error(w, r, serr)
			return
		}
		o.AsOf = usage.DayOf(o.Now)
		live, err = snapshotstore.Position(snap, o)
		snaps = snapshotstore.List(snap)
	} else {
		t.Read(func(s *tenant.State) { snaps = snapshotstore.List(s) })
	}
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	side := func(ref string) (position.Snapshot, []position.FindingRef, error) {
		if ref == "now" {
			return position.NewSnapshot("now", "live", o.Now, live), position.Refs(live), nil
		}
		s, ok := position.Find(snaps, ref)
		if !ok {
			return position.Snapshot{}, nil, allot.Errorf(allot.ENOTFOUND, "No snapshot %q (give a snapshot id, or a date on or after the first snapshot's).", ref)
		}
		fs, err := snapshotstore.LoadFindings(r.Context(), h.s.Store, t.ID, s.ID)
		return s, fs, err
	}
	a, af, err := side(from)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	b, bf, err := side(to)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, position.Compare(a, af, b, bf))
}
