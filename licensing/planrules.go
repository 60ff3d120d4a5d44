package licensing

import (
	"strings"
	"time"

	"allot/catalog"
)

// planRules is the catalog's plan rules compiled for the engine's hot path.
// Plans that any rule mentions are interned to small integers (rel), so the
// state phase counts enabled plans in a flat array instead of a map.
type planRules struct {
	deps       map[string][]catalog.Dependency // by dependent plan id
	excl       [][2]string
	exclPlans  map[string]bool
	prohibited map[string]map[string]bool // skuId -> upper-case country

	rel      map[string]int32 // plan id -> interned index
	relDeps  [][][]int32      // by interned dependent plan: alternatives required
	relExcl  [][2]int32
	relNames []string // interned index -> plan id
	// exclBySKU lists, per SKU id, the exclusions the SKU has a side of.
	exclBySKU map[string][]skuExcl
}

// skuExcl is one exclusion (index into relExcl) as a SKU sees it: the
// plan ids of the sides the SKU contains ("" for a side it lacks).
type skuExcl struct {
	pair   int32
	p0, p1 string
}

func compilePlanRules(cat *catalog.Catalog) *planRules {
	r := cat.Rules()
	pr := &planRules{
		deps:       make(map[string][]catalog.Dependency),
		exclPlans:  make(map[string]bool),
		prohibited: make(map[string]map[string]bool),
		rel:        make(map[string]int32),
	}
	intern := func(id string) int32 {
		if i, ok := pr.rel[id]; ok {
			return i
		}
		i := int32(len(pr.relNames))
		pr.rel[id] = i
		pr.relNames = append(pr.relNames, id)
		pr.relDeps = append(pr.relDeps, nil)
		return i
	}
	for _, d := range r.Dependencies {
		pr.deps[d.Plan] = append(pr.deps[d.Plan], d)
		a := intern(d.Plan)
		req := make([]int32, len(d.RequiresAnyOf))
		for k, q := range d.RequiresAnyOf {
			req[k] = intern(q)
		}
		pr.relDeps[a] = append(pr.relDeps[a], req)
	}
	for _, x := range r.Exclusions {
		pr.excl = append(pr.excl, x.Plans)
		pr.exclPlans[x.Plans[0]] = true
		pr.exclPlans[x.Plans[1]] = true
		pr.relExcl = append(pr.relExcl, [2]int32{intern(x.Plans[0]), intern(x.Plans[1])})
	}
	pr.exclBySKU = make(map[string][]skuExcl)
	for _, sku := range cat.SKUs() {
		for k, x := range r.Exclusions {
			se := skuExcl{pair: int32(k)}
			if sku.HasPlan(x.Plans[0]) {
				se.p0 = x.Plans[0]
			}
			if sku.HasPlan(x.Plans[1]) {
				se.p1 = x.Plans[1]
			}
			if se.p0 != "" || se.p1 != "" {
				pr.exclBySKU[sku.ID] = append(pr.exclBySKU[sku.ID], se)
			}
		}
	}
	for _, lr := range r.LocationRestrictions {
		m := pr.prohibited[lr.SKU]
		if m == nil {
			m = make(map[string]bool)
			pr.prohibited[lr.SKU] = m
		}
		for _, c := range lr.Countries {
			m[strings.ToUpper(c)] = true
		}
	}
	return pr
}

// relPlan is a plan of a SKU that a rule mentions.
type relPlan struct {
	idx int32
	id  string
}

// relevantPlans lists the SKU's plans that any rule mentions.
func (pr *planRules) relevantPlans(s *catalog.SKU) []relPlan {
	var out []relPlan
	for _, p := range s.Plans {
		if i, ok := pr.rel[p.ID]; ok {
			out = append(out, relPlan{i, p.ID})
		}
	}
	return out
}

// ruledSKU reports whether any plan of the SKU takes part in a dependency or
// exclusion, so that users without such plans skip the checks.
func (pr *planRules) ruledSKU(s *catalog.SKU) bool {
	for _, p := range s.Plans {
		if len(pr.deps[p.ID]) > 0 || pr.exclPlans[p.ID] {
			return true
		}
	}
	return false
}

// prohibited reports whether the SKU may not be used in the country.
func (e *Engine) prohibited(skuID, country string) bool {
	m := e.plan.prohibited[skuID]
	return m != nil && m[strings.ToUpper(country)]
}

// planSet is a set of plan ids with the number of sources enabling each,
// for the checks made by commands (not on the hot path).
type planSet map[string]int

func enabledBy(sku *catalog.SKU, s *SourceState, fn func(planID string)) {
	for _, p := range sku.Plans {
		if !containsString(s.DisabledPlans, p.ID) {
			fn(p.ID)
		}
	}
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// applyPlanRules turns Active sources into errors, to a fixed point: a
// source enabling a plan whose prerequisites are not enabled gets
// DependencyViolation; with an all-or-none group, one source of the group
// in error puts the group's sources that began to apply with it or after
// it in the same error. Each step only turns sources off, so the loop
// ends. (Mutual exclusions are settled before, from the sources alone: see
// block.)
func (w *worker) applyPlanRules(u *user, rows [][]SourceState) {
	e := w.e
	if cap(w.scratch.counts) < len(e.plan.relNames) {
		w.scratch.counts = make([]uint16, len(e.plan.relNames))
	}
	counts := w.scratch.counts[:len(e.plan.relNames)]
	for {
		for _, i := range w.scratch.dirty {
			counts[i] = 0
		}
		w.scratch.dirty = w.scratch.dirty[:0]
		for i, l := range u.licenses {
			for k := range rows[i] {
				s := &rows[i][k]
				if !s.Usable() {
					continue
				}
				for _, rp := range l.pool.relevant {
					if !containsString(s.DisabledPlans, rp.id) {
						if counts[rp.idx] == 0 {
							w.scratch.dirty = append(w.scratch.dirty, rp.idx)
						}
						counts[rp.idx]++
					}
				}
			}
		}
		if e.dependencyStep(u, rows, counts) || e.allOrNoneStep(u, rows) {
			continue
		}
		return
	}
}

func (e *Engine) dependencyStep(u *user, rows [][]SourceState, counts []uint16) bool {
	for i, l := range u.licenses {
		if !l.pool.ruled {
			continue
		}
		for k := range rows[i] {
			s := &rows[i][k]
			if s.State != StateActive {
				continue
			}
			for _, rp := range l.pool.relevant {
				deps := e.plan.relDeps[rp.idx]
				if len(deps) == 0 || containsString(s.DisabledPlans, rp.id) {
					continue
				}
				for _, alts := range deps {
					met := false
					for _, q := range alts {
						if counts[q] > 0 {
							met = true
							break
						}
					}
					if !met {
						s.State, s.Error = StateError, ErrDependency
						return true
					}
				}
			}
		}
	}
	return false
}

func (e *Engine) allOrNoneStep(u *user, rows [][]SourceState) bool {
	changed := false
	gs := u.groups
	if e.settings.NestedGroups {
		gs = e.effectiveGroups(u, nil)
	}
	for _, g := range gs {
		if g.AssignmentMode == ModeAllOrNone {
			e.allOrNoneGroup(g.ID, rows, &changed)
		}
	}
	return changed
}

func (e *Engine) allOrNoneGroup(gid string, rows [][]SourceState, changed *bool) {
	failed, at, found := ErrUnset, time.Time{}, false
	for i := range rows {
		for k := range rows[i] {
			s := &rows[i][k]
			if s.AssignedByGroup == gid && s.KeptReason() == "" && s.State == StateError && (!found || s.Precedence().Before(at)) {
				failed, at, found = s.Error, s.Precedence(), true
			}
		}
	}
	if !found {
		return
	}
	for i := range rows {
		for k := range rows[i] {
			s := &rows[i][k]
			if s.AssignedByGroup == gid && s.KeptReason() == "" && s.State == StateActive && !s.Precedence().Before(at) {
				s.State, s.Error = StateError, failed
				*changed = true
			}
		}
	}
}

func anyPlan(ids []string, plans planSet) bool {
	for _, id := range ids {
		if plans[id] > 0 {
			return true
		}
	}
	return false
}
