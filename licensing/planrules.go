package licensing

import (
	"strings"

	"allot/catalog"
)

// planRules is the catalog's plan rules compiled for the engine's hot path.
type planRules struct {
	deps       map[string][]catalog.Dependency // by dependent plan id
	excl       [][2]string
	exclPlans  map[string]bool
	prohibited map[string]map[string]bool // skuId -> upper-case country
}

func compilePlanRules(cat *catalog.Catalog) *planRules {
	r := cat.Rules()
	pr := &planRules{
		deps:       make(map[string][]catalog.Dependency),
		exclPlans:  make(map[string]bool),
		prohibited: make(map[string]map[string]bool),
	}
	for _, d := range r.Dependencies {
		pr.deps[d.Plan] = append(pr.deps[d.Plan], d)
	}
	for _, x := range r.Exclusions {
		pr.excl = append(pr.excl, x.Plans)
		pr.exclPlans[x.Plans[0]] = true
		pr.exclPlans[x.Plans[1]] = true
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

// planSet is the set of plans enabled for a user, with the number of
// sources enabling each.
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

// later orders sources for exclusions: the later source is the one that
// loses.
func later(a *SourceState, askuID string, b *SourceState, bskuID string) bool {
	if !a.AssignedAt.Equal(b.AssignedAt) {
		return a.AssignedAt.After(b.AssignedAt)
	}
	if askuID != bskuID {
		return askuID > bskuID
	}
	return a.AssignedByGroup > b.AssignedByGroup
}

// applyPlanRules turns Active sources into errors, to a fixed point: a
// source enabling a plan whose prerequisites are not enabled gets
// DependencyViolation; of two sources enabling mutually exclusive plans the
// later gets MutuallyExclusiveViolation; with an all-or-none group, one
// source of the group in error puts the group's other sources in the same
// error. Each step only removes plans, so the loop ends.
func (e *Engine) applyPlanRules(u *user, next [][]SourceState) {
	for {
		plans := planSet{}
		for i, l := range u.licenses {
			for k := range next[i] {
				if next[i][k].State == StateActive {
					enabledBy(l.pool.sku, &next[i][k], func(id string) { plans[id]++ })
				}
			}
		}
		if e.dependencyStep(u, next, plans) || e.exclusionStep(u, next, plans) || e.allOrNoneStep(u, next) {
			continue
		}
		return
	}
}

func (e *Engine) dependencyStep(u *user, next [][]SourceState, plans planSet) bool {
	for i, l := range u.licenses {
		if !l.pool.ruled {
			continue
		}
		for k := range next[i] {
			s := &next[i][k]
			if s.State != StateActive {
				continue
			}
			for _, p := range l.pool.sku.Plans {
				if containsString(s.DisabledPlans, p.ID) {
					continue
				}
				for _, d := range e.plan.deps[p.ID] {
					if !anyPlan(d.RequiresAnyOf, plans) {
						s.State, s.Error = StateError, ErrDependency
						return true
					}
				}
			}
		}
	}
	return false
}

func anyPlan(ids []string, plans planSet) bool {
	for _, id := range ids {
		if plans[id] > 0 {
			return true
		}
	}
	return false
}

func (e *Engine) exclusionStep(u *user, next [][]SourceState, plans planSet) bool {
	for _, pair := range e.plan.excl {
		if plans[pair[0]] == 0 || plans[pair[1]] == 0 {
			continue
		}
		// The sources that enable exactly one side of the pair; a product
		// that contains both plans does not conflict with itself.
		var loser *SourceState
		loserSKU := ""
		for i, l := range u.licenses {
			for k := range next[i] {
				s := &next[i][k]
				if s.State != StateActive {
					continue
				}
				a, b := false, false
				enabledBy(l.pool.sku, s, func(id string) {
					if id == pair[0] {
						a = true
					}
					if id == pair[1] {
						b = true
					}
				})
				if a == b {
					continue
				}
				if loser == nil || later(s, l.SKUID, loser, loserSKU) {
					loser, loserSKU = s, l.SKUID
				}
			}
		}
		if loser != nil && plans[pair[0]] > 0 && plans[pair[1]] > 0 {
			loser.State, loser.Error = StateError, ErrMutuallyExclusive
			return true
		}
	}
	return false
}

func (e *Engine) allOrNoneStep(u *user, next [][]SourceState) bool {
	changed := false
	for _, g := range e.effectiveGroups(u, nil) {
		if g.AssignmentMode == ModeAllOrNone {
			e.allOrNoneGroup(g.ID, next, &changed)
		}
	}
	return changed
}

func (e *Engine) allOrNoneGroup(gid string, next [][]SourceState, changed *bool) {
	failed := ""
	for i := range next {
		for k := range next[i] {
			s := &next[i][k]
			if s.AssignedByGroup == gid && s.State == StateError && failed == "" {
				failed = s.Error
			}
		}
	}
	if failed == "" {
		return
	}
	for i := range next {
		for k := range next[i] {
			s := &next[i][k]
			if s.AssignedByGroup == gid && s.State == StateActive {
				s.State, s.Error = StateError, failed
				*changed = true
			}
		}
	}
}
