package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"allot/internal/memtune"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/tenant"
	"allot/usage"
)

// The findings page shows the latest license position computed for the
// tenant. A position takes seconds at a million users, so no page request
// ever computes one: a request that finds no position, or one older than
// the tenant's last commit, starts a computation in the background (one at
// a time per tenant, at most one every findingsMinInterval unless someone
// asks with the "Compute again now" form) and answers at once with the
// position it has, its "computed at" time and a "computing…" state. The
// computation runs on a snapshot of one commit (tenant.Tenant.Snapshot),
// made by the tenant's writer between batches: readers never wait for it,
// and commands wait only while the snapshot is made (about a second at a
// million users), not for the seconds the position takes.

// findingsMinInterval is the least time between two computations that
// page views start because the tenant changed: a busy tenant changes every
// second, and each computation takes seconds of CPU, a snapshot's memory
// and, while the snapshot is made, the tenant's writer at a million users.
const findingsMinInterval = 5 * time.Minute

// findingsMaxAge is how long a position serves while the tenant does not
// change (usage ages: a user becomes idle without any commit).
const findingsMaxAge = 30 * time.Minute

// findingsWait is how long a page request waits for a computation that is
// running (a small tenant's takes milliseconds: its page shows the result
// at once) before it answers with what it has.
const findingsWait = 150 * time.Millisecond

// positionCache keeps each tenant's latest computed position and its
// computation in progress.
type positionCache struct {
	mu sync.Mutex
	m  map[string]*positionSlot
	// sem lets one computation run at a time in the process: each takes
	// the CPUs it can get and a few hundred MB at a million users.
	sem chan struct{}
}

type positionSlot struct {
	last    *computedPosition // nil until the first computation ends
	err     error             // of the last computation, if it failed
	running chan struct{}     // closed when the running computation ends; nil when none runs
	started time.Time         // of the running or last computation
}

// computedPosition is a position and what the page needs of it in every
// request, counted once when it was computed.
type computedPosition struct {
	p      *position.Position
	at     time.Time     // when the computation read the tenant
	took   time.Duration // how long the computation took, snapshot included
	locked time.Duration // how long the snapshot took (the tenant's writer waited)
	commit uint64        // the commit it is the position of (tenant.State.Commit)
	asOf   usage.Day
	kinds  []kindCount // in the order of EachFinding
	total  int
	// rows are the first findingsCachedRows rows of each kind, and of all
	// kinds under "": EachFinding cannot seek, so a page further on walks
	// the findings before it.
	rows map[string][]findingRow
	// reported: its figures were given to the alert rules (reportComputed;
	// a pointer: a copy of the position shares it).
	reported *atomic.Bool
}

// findingsCachedRows is how many rows of each kind are kept ready: the
// first pages, which are those people open. (A variable so that tests can
// take both paths.)
var findingsCachedRows = 5 * findingsPageSize

var positions = positionCache{m: map[string]*positionSlot{}, sem: make(chan struct{}, 1)}

// positionState is what the findings page shows: the latest position (nil
// when none was computed yet), whether a newer one is being computed, and
// whether the tenant changed since the one shown.
type positionState struct {
	cur       *computedPosition
	computing bool
	stale     bool
	err       error
}

// state returns the tenant's latest position, starting a computation when
// there is none, when the tenant changed since (commit count or day), or
// when force is set; it waits up to wait for a computation that runs.
// snapshot takes a snapshot of the tenant (Tenant.Snapshot); commit is the
// tenant's commit now.
func (c *positionCache) state(id string, snapshot snapshotFunc, commit uint64, now time.Time, force bool, wait time.Duration) positionState {
	c.mu.Lock()
	sl := c.m[id]
	if sl == nil {
		sl = &positionSlot{}
		c.m[id] = sl
	}
	stale := sl.last == nil || sl.last.commit != commit || sl.last.asOf != usage.DayOf(now) || now.Sub(sl.last.at) >= findingsMaxAge
	if sl.running == nil && (force || sl.last == nil && sl.err == nil || stale && now.Sub(sl.started) >= findingsMinInterval) {
		sl.running, sl.started = make(chan struct{}), now
		go c.compute(id, sl, snapshot, now)
	}
	running := sl.running
	c.mu.Unlock()
	if running != nil && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-running:
		case <-t.C:
		}
		t.Stop()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := positionState{cur: sl.last, computing: sl.running != nil, err: sl.err}
	st.stale = st.cur != nil && (st.cur.commit != commit || st.cur.asOf != usage.DayOf(now))
	return st
}

// of returns the tenant's latest computed position if it is of the given
// commit and day (nil otherwise).
func (c *positionCache) of(id string, commit uint64, asOf usage.Day) *position.Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sl := c.m[id]; sl != nil && sl.last != nil && sl.last.commit == commit && sl.last.asOf == asOf {
		return sl.last.p
	}
	return nil
}

// compute computes a tenant's position and keeps it (run in its own
// goroutine; sl.running is set).
func (c *positionCache) compute(id string, sl *positionSlot, snapshot snapshotFunc, now time.Time) {
	c.sem <- struct{}{}
	cp, err := computePosition(snapshot, now)
	<-c.sem
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		sl.last = cp
	}
	sl.err = err
	close(sl.running)
	sl.running = nil
}

// snapshotFunc returns a snapshot of a tenant: Tenant.Snapshot.
type snapshotFunc func() (*tenant.State, error)

// computePosition computes the position of a snapshot of the tenant as of
// the day of now, and counts its findings by kind.
func computePosition(snapshot snapshotFunc, now time.Time) (*computedPosition, error) {
	cp := &computedPosition{asOf: usage.DayOf(now), reported: new(atomic.Bool)}
	memtune.CollectBeforeSnapshot()
	start := time.Now()
	snap, err := snapshot()
	if err != nil {
		return nil, err
	}
	cp.locked = time.Since(start)
	cp.commit = snap.Commit()
	cp.p, err = positionOf(snap, position.Options{AsOf: cp.asOf, Now: now})
	cp.took = time.Since(start)
	if err != nil {
		return nil, err
	}
	cp.at = now
	cur := ""
	if cp.p.Currency != nil {
		cur = *cp.p.Currency
	}
	cp.rows = map[string][]findingRow{}
	cp.p.EachFinding(func(f *position.Finding) bool {
		if n := len(cp.kinds); n == 0 || cp.kinds[n-1].Kind != f.Kind {
			cp.kinds = append(cp.kinds, kindCount{Kind: f.Kind, Title: position.KindTitle(f.Kind)})
		}
		k := &cp.kinds[len(cp.kinds)-1]
		if cp.total < findingsCachedRows {
			cp.rows[""] = append(cp.rows[""], findingRowOf(f, cur))
		}
		if k.Count < findingsCachedRows {
			cp.rows[f.Kind] = append(cp.rows[f.Kind], findingRowOf(f, cur))
		}
		k.Count++
		cp.total++
		return true
	})
	return cp, nil
}

// positionOf computes a position (a variable so that a test can hold it).
var positionOf = snapshotstore.Position

// snapshotOf is a tenant's snapshotFunc (the computation outlives the
// request, so it does not take the request's context).
func snapshotOf(t *tenant.Tenant) snapshotFunc {
	return func() (*tenant.State, error) { return t.Snapshot(context.Background()) }
}

// commit returns the tenant's commit now (tenant.State.Commit).
func commit(t *tenant.Tenant) uint64 {
	var c uint64
	t.Read(func(s *tenant.State) { c = s.Commit() })
	return c
}

type findingRow struct {
	Kind, Title, User, UserID, Product, ProductName, Evidence, Fix string
	Delta                                                          string
	Saving                                                         bool
	// Basis and Period: what the finding rests on and the days its
	// evidence covers.
	Basis, Period string
	OnLeave       bool
}

// basisWords names a finding's basis for people.
var basisWords = map[string]string{
	position.BasisUsage:   "usage in the window",
	position.BasisGrant:   "no use since the grant",
	position.BasisLicense: "license state",
	position.BasisTrend:   "seat trend",
}

func findingRowOf(f *position.Finding, currency string) findingRow {
	row := findingRow{Kind: f.Kind, Title: f.Title, User: f.UserPrincipalName, UserID: f.UserID, Product: f.SKUPartNumber, ProductName: f.SKUDisplayName,
		Evidence: position.EvidenceText(f.Evidence), Fix: f.Fix.Description, Basis: basisWords[f.Basis], OnLeave: f.OnLeave}
	switch {
	case f.EvidenceFrom == "":
	case f.EvidenceFrom == f.EvidenceTo:
		row.Period = "on " + f.EvidenceTo
	default:
		row.Period = f.EvidenceFrom + " to " + f.EvidenceTo
	}
	if f.Fix.MonthlyDelta != nil {
		row.Delta = fmt.Sprintf("%+.2f %s", *f.Fix.MonthlyDelta, currency)
		row.Saving = *f.Fix.MonthlyDelta < 0
	}
	return row
}

type kindCount struct {
	Kind, Title string
	Count       int
}

type findingsData struct {
	Ready      bool // a position was computed
	Computing  bool // a (newer) one is being computed
	Stale      bool // the tenant changed since the one shown
	Problem    string
	ComputedAt time.Time
	Took       string
	Currency   string
	Kind       string
	Kinds      []kindCount
	Total      int
	Rows       []findingRow
	Pager      pager
	Notes      []string
}

const findingsPageSize = 100

// findingsPage shows the findings of the license position with their
// evidence and fixes, by kind, 100 a page.
func (h *handler) findingsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	st := positions.state(v.T.ID, snapshotOf(v.T), commit(v.T), h.now().UTC(), false, findingsWait)
	h.reportComputed(r, v, st)
	d := findingsPageData(r, st)
	h.render(w, r, v, http.StatusOK, "findings", pageData{Title: "Findings", Nav: "findings", Data: d})
}

// reportComputed gives the alert rules on the position's findings
// (idleSeatsCost, underLicensedUsers: alert.Service.ReportComputed) the
// figures of a tenant-wide position the page computed, once per
// computation — as GET /allot/v1/position does with the one it computes.
// The page's position is of today with the default window, what the
// API's plain request computes.
func (h *handler) reportComputed(r *http.Request, v *viewer, st positionState) {
	cp := st.cur
	if cp == nil || cp.reported == nil || h.s.Alerts == nil || !cp.reported.CompareAndSwap(false, true) {
		return
	}
	if err := h.s.Alerts.ReportComputed(context.WithoutCancel(r.Context()), v.T, cp.p); err != nil {
		h.s.Log.Error("alert evaluation of the position failed", "tenant", v.T.ID, "err", err)
	}
}

// findingsPageData is the page of findings the request asks for.
func findingsPageData(r *http.Request, st positionState) findingsData {
	d := findingsData{Computing: st.computing, Stale: st.stale}
	if st.err != nil {
		d.Problem = "The last computation failed: " + st.err.Error()
	}
	cp := st.cur
	if cp == nil {
		return d
	}
	qs := r.URL.Query()
	offset, _ := strconv.Atoi(qs.Get("offset"))
	offset = max(0, offset)
	d.Kind = qs.Get("kind")
	p := cp.p
	d.Ready, d.ComputedAt, d.Took, d.Notes, d.Kinds = true, cp.at, cp.took.Round(time.Millisecond).String(), p.Notes, cp.kinds
	if p.Currency != nil {
		d.Currency = *p.Currency
	}
	// Findings come grouped by kind: skip to the kind's first, then to
	// the page.
	skip := offset
	d.Total = cp.total
	if d.Kind != "" {
		d.Total = 0
		before := 0
		for _, k := range cp.kinds {
			if k.Kind == d.Kind {
				d.Total = k.Count
				break
			}
			before += k.Count
		}
		skip += before
	}
	if end := min(offset+findingsPageSize, d.Total); offset < end && end <= len(cp.rows[d.Kind]) {
		d.Rows = cp.rows[d.Kind][offset:end]
	} else if offset < d.Total {
		i := 0
		p.EachFinding(func(f *position.Finding) bool {
			if i < skip {
				i++
				return true
			}
			if len(d.Rows) == findingsPageSize || d.Kind != "" && f.Kind != d.Kind {
				return false
			}
			d.Rows = append(d.Rows, findingRowOf(f, d.Currency))
			i++
			return true
		})
	}
	d.Pager = pager{Total: d.Total, One: "finding", Many: "findings"}
	if offset > 0 {
		d.Pager.First = withQuery(r.URL, "offset", "")
		d.Pager.Prev = withQuery(r.URL, "offset", strconv.Itoa(max(0, offset-findingsPageSize)))
	}
	if offset+findingsPageSize < d.Total {
		d.Pager.Next = withQuery(r.URL, "offset", strconv.Itoa(offset+findingsPageSize))
	}
	return d
}

// refreshFindings starts computing the position again now (unless a
// computation runs already).
func (h *handler) refreshFindings(w http.ResponseWriter, r *http.Request, v *viewer) {
	st := positions.state(v.T.ID, snapshotOf(v.T), commit(v.T), h.now().UTC(), true, findingsWait)
	h.reportComputed(r, v, st)
	msg := "The license position was computed again."
	if st.computing {
		msg = "The license position is being computed again; this page shows it when it is done."
	}
	h.done(w, r, "/admin/findings", st.err, msg)
}
