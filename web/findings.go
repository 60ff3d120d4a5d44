package web

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"allot/position"
	"allot/tenant"
	"allot/usage"
)

// findingsMaxAge is how long a computed position serves the findings page
// before it is computed again: a position takes seconds at a million users,
// so the page keeps the latest one per tenant and says when it was made.
const findingsMaxAge = 5 * time.Minute

// positionCache keeps the latest computed position per tenant.
type positionCache struct {
	mu sync.Mutex
	m  map[string]cachedPosition
}

type cachedPosition struct {
	p  *position.Position
	at time.Time
}

var positions = positionCache{m: map[string]cachedPosition{}}

// latest returns the tenant's cached position, computing it when missing,
// older than findingsMaxAge, or when fresh is set.
func (c *positionCache) latest(t *tenant.Tenant, now time.Time, fresh bool) (*position.Position, time.Time, error) {
	c.mu.Lock()
	cp, ok := c.m[t.ID]
	c.mu.Unlock()
	if ok && !fresh && now.Sub(cp.at) < findingsMaxAge {
		return cp.p, cp.at, nil
	}
	var p *position.Position
	var err error
	t.Read(func(s *tenant.State) {
		p, err = position.Of(s, position.Options{AsOf: usage.DayOf(now), Now: now})
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	c.mu.Lock()
	c.m[t.ID] = cachedPosition{p, now}
	c.mu.Unlock()
	return p, now, nil
}

type findingRow struct {
	Kind, User, UserID, Product, Evidence, Fix string
	Delta                                      string
	Saving                                     bool
}

type kindCount struct {
	Kind  string
	Count int
}

type findingsData struct {
	ComputedAt time.Time
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
	qs := r.URL.Query()
	offset, _ := strconv.Atoi(qs.Get("offset"))
	offset = max(0, offset)
	kind := qs.Get("kind")
	p, at, err := positions.latest(v.T, h.now().UTC(), false)
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	d := findingsData{ComputedAt: at, Kind: kind, Notes: p.Notes}
	if p.Currency != nil {
		d.Currency = *p.Currency
	}
	counts := map[string]int{}
	i := 0
	p.EachFinding(func(f *position.Finding) bool {
		counts[f.Kind]++
		if kind != "" && f.Kind != kind {
			return true
		}
		if i >= offset && i < offset+findingsPageSize {
			row := findingRow{Kind: f.Kind, User: f.UserPrincipalName, UserID: f.UserID, Product: f.SKUPartNumber,
				Evidence: position.EvidenceText(f.Evidence), Fix: f.Fix.Description}
			if f.Fix.MonthlyDelta != nil {
				row.Delta = fmt.Sprintf("%+.2f %s", *f.Fix.MonthlyDelta, d.Currency)
				row.Saving = *f.Fix.MonthlyDelta < 0
			}
			d.Rows = append(d.Rows, row)
		}
		i++
		return true
	})
	d.Total = i
	for k, n := range counts {
		d.Kinds = append(d.Kinds, kindCount{k, n})
	}
	sort.Slice(d.Kinds, func(a, b int) bool { return d.Kinds[a].Kind < d.Kinds[b].Kind })
	d.Pager = pager{Total: d.Total, One: "finding", Many: "findings"}
	if offset > 0 {
		d.Pager.First = withQuery(r.URL, "offset", "")
		d.Pager.Prev = withQuery(r.URL, "offset", strconv.Itoa(max(0, offset-findingsPageSize)))
	}
	if offset+findingsPageSize < d.Total {
		d.Pager.Next = withQuery(r.URL, "offset", strconv.Itoa(offset+findingsPageSize))
	}
	h.render(w, r, v, http.StatusOK, "findings", pageData{Title: "Findings", Nav: "findings", Data: d})
}

// refreshFindings computes the position again now.
func (h *handler) refreshFindings(w http.ResponseWriter, r *http.Request, v *viewer) {
	_, _, err := positions.latest(v.T, h.now().UTC(), true)
	h.done(w, r, "/admin/findings", err, "The license position was computed again.")
}
