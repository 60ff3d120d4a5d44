package rules

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// NowProperty is the pseudo-property that Index.Affected accepts for "time
// has passed": it selects the rules that use system.now.
const NowProperty = "system.now"

// An atom is a condition the index can look up by a subject's value: the
// folded value of src equals key (atomEq), begins with it (atomPrefix) or
// ends with it (atomSuffix). For a collection source the atom holds when it
// holds for some item.
type atom struct {
	src  source
	kind atomKind
	key  string
}

type atomKind uint8

const (
	atomEq atomKind = iota
	atomPrefix
	atomSuffix
)

// source is a value of the subject the index looks up: a single-valued
// property (srcUser), the items of a string collection (srcMulti) or one field
// of each assigned plan (srcPlans).
type source struct {
	kind  srcKind
	prop  string
	field planField
}

// need computes a necessary condition of n (of "not n" when neg is set) as a
// set of atoms: whenever the condition holds, at least one atom holds. ok is
// false when there is none the index can use (-contains, -match, negations,
// -all …). An empty set with ok=true means the condition can never hold.
//
// A conjunction needs any one of its operands' conditions, and need picks the
// most selective; a disjunction needs the union of all of them. Negation is
// pushed inwards (De Morgan), so -not (x -ne "a") indexes like x -eq "a".
func need(n *node, neg bool) ([]atom, bool) {
	switch n.kind {
	case kindNot:
		return need(n.kids[0], !neg)
	case kindAnd, kindOr:
		if (n.kind == kindAnd) != neg {
			var best []atom
			found, bestScore := false, 0.0
			for _, k := range n.kids {
				a, ok := need(k, neg)
				if !ok {
					continue
				}
				if s := score(a); !found || s < bestScore {
					best, bestScore, found = a, s, true
				}
			}
			return best, found
		}
		var all []atom
		for _, k := range n.kids {
			a, ok := need(k, neg)
			if !ok {
				return nil, false
			}
			all = append(all, a...)
		}
		return all, true
	case kindAny:
		// Some item satisfies the condition, so some item satisfies one of
		// its atoms. "not -any" holds for an empty collection: no atom.
		if neg {
			return nil, false
		}
		return need(n.kids[0], false)
	case kindAll:
		// "-all" holds for an empty collection; "not -all" means some item
		// fails the condition.
		if !neg {
			return nil, false
		}
		return need(n.kids[0], true)
	case kindCmp:
		if n.neg != neg {
			return nil, false // a negative comparison: true for most values
		}
		return n.atoms()
	}
	return nil, false
}

// atoms returns the atoms of a positive comparison.
func (n *node) atoms() ([]atom, bool) {
	var src source
	switch n.src {
	case srcUser:
		src = source{kind: srcUser, prop: n.prop}
	case srcMulti, srcItem:
		src = source{kind: srcMulti, prop: n.prop}
	case srcPlanField:
		src = source{kind: srcPlans, prop: n.prop, field: n.field}
	default:
		return nil, false
	}
	v := &n.val
	switch n.op {
	case opEq:
		switch v.kind {
		case valNull:
			if n.src == srcMulti {
				return nil, false // "the collection is empty": no item to look up
			}
			return []atom{{src, atomEq, ""}}, true
		case valString, valNumber, valBool:
			return []atom{{src, atomEq, v.key}}, true
		}
	case opIn:
		a := make([]atom, len(v.keys))
		for i, k := range v.keys {
			a[i] = atom{src, atomEq, k}
		}
		return a, true
	case opStartsWith:
		if v.key != "" {
			return []atom{{src, atomPrefix, v.key}}, true
		}
	case opEndsWith:
		if v.key != "" {
			return []atom{{src, atomSuffix, v.key}}, true
		}
	case opMatch:
		if v.pre != "" {
			return []atom{{src, atomPrefix, foldKey(v.pre)}}, true
		}
		if v.suf != "" {
			return []atom{{src, atomSuffix, foldKey(v.suf)}}, true
		}
	}
	return nil, false
}

// score estimates how many subjects a set of atoms lets through (lower is
// more selective), without statistics: equality beats a prefix beats a
// suffix; null, short prefixes and properties with few distinct values in a
// typical directory (booleans, userType, companyName …) match many.
func score(atoms []atom) float64 {
	s := 0.0
	for _, a := range atoms {
		w := 1.0
		switch a.kind {
		case atomPrefix:
			w = 2 + 4/float64(len(a.key))
		case atomSuffix:
			w = 4 + 4/float64(len(a.key))
		}
		if a.key == "" {
			w *= 20
		}
		switch a.src.kind {
		case srcUser:
			if userProperties[a.src.prop].typ == typeBool {
				w *= 50
			} else if f, ok := lowCardinality[a.src.prop]; ok {
				w *= f
			}
		case srcMulti:
			w *= 1.5
		case srcPlans:
			// Plans repeat across users: most users hold the same few.
			w *= [...]float64{planServicePlanID: 5, planCapabilityStatus: 30, planService: 10}[a.src.field]
		}
		s += w
	}
	return s
}

// lowCardinality weighs single-valued properties that usually have few
// distinct values in a directory, so that need prefers other conditions.
var lowCardinality = map[string]float64{
	"usertype":          30,
	"passwordpolicies":  20,
	"companyname":       10,
	"employeetype":      10,
	"preferredlanguage": 5,
	"country":           3,
	"usagelocation":     3,
	"state":             2,
}

func dedupeAtoms(a []atom) []atom {
	seen := make(map[atom]bool, len(a))
	out := a[:0]
	for _, x := range a {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Index holds many compiled rules, keyed by a string id (e.g. a group id), for
// incremental and bulk evaluation. MatchAll looks candidate rules up by the
// subject's values through each rule's indexable necessary condition (see
// need) and fully evaluates only those and the rules without one. An Index is
// safe for concurrent use; MatchAll, Affected and Evaluate run in parallel
// with each other.
type Index struct {
	mu       sync.RWMutex
	slots    []slot // by slot number; a free slot has a nil rule
	byID     map[string]int32
	free     []int32
	always   []int32 // slots whose rule has no index condition
	sources  []*sourceIndex
	bySource map[source]*sourceIndex
	byProp   map[string][]int32 // property (or NowProperty) → slots of rules reading it

	// rank[slot] orders slots by id, so that MatchAll sorts numbers rather
	// than strings. A new id invalidates it; the next MatchAll recomputes it
	// (O(n log n)), so bulk evaluation should follow bulk loading.
	rank   []int32
	ranked bool
}

type slot struct {
	id   string
	rule *Rule
}

// sourceIndex maps the folded values of one source to the slots of the rules
// with an atom on it.
type sourceIndex struct {
	src      source
	eq       map[string][]int32
	prefix   []lenIndex // ascending key length
	suffix   []lenIndex
	postings int
}

// lenIndex holds the prefix (or suffix) atoms whose keys have n bytes.
type lenIndex struct {
	n int
	m map[string][]int32
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byID: map[string]int32{}, bySource: map[source]*sourceIndex{}, byProp: map[string][]int32{}}
}

// Len returns the number of rules in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byID)
}

// Get returns the rule stored under id, or nil.
func (x *Index) Get(id string) *Rule {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if s, ok := x.byID[id]; ok {
		return x.slots[s].rule
	}
	return nil
}

// Set adds the rule under id, replacing any rule stored under it. A nil rule
// deletes id.
func (x *Index) Set(id string, r *Rule) {
	if r == nil {
		x.Delete(id)
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.byID[id]
	switch {
	case ok:
		x.unregister(s)
	case len(x.free) > 0:
		s, x.free = x.free[len(x.free)-1], x.free[:len(x.free)-1]
	default:
		s = int32(len(x.slots))
		x.slots = append(x.slots, slot{})
	}
	if !ok {
		x.ranked = false
	}
	x.byID[id] = s
	x.slots[s] = slot{id: id, rule: r}
	x.register(s)
}

// Delete removes the rule stored under id, if any.
func (x *Index) Delete(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	s, ok := x.byID[id]
	if !ok {
		return
	}
	x.unregister(s)
	delete(x.byID, id)
	x.slots[s] = slot{}
	x.free = append(x.free, s)
}

func (x *Index) register(s int32) {
	r := x.slots[s].rule
	for _, p := range r.props {
		x.byProp[p] = append(x.byProp[p], s)
	}
	if r.usesNow {
		x.byProp[NowProperty] = append(x.byProp[NowProperty], s)
	}
	if !r.indexed {
		x.always = append(x.always, s)
		return
	}
	for _, a := range r.atoms {
		si := x.bySource[a.src]
		if si == nil {
			si = &sourceIndex{src: a.src}
			x.bySource[a.src] = si
			x.sources = append(x.sources, si)
		}
		si.add(a, s)
	}
}

func (x *Index) unregister(s int32) {
	r := x.slots[s].rule
	for _, p := range r.props {
		x.byProp[p] = removeSlot(x.byProp[p], s)
		if len(x.byProp[p]) == 0 {
			delete(x.byProp, p)
		}
	}
	if r.usesNow {
		if x.byProp[NowProperty] = removeSlot(x.byProp[NowProperty], s); len(x.byProp[NowProperty]) == 0 {
			delete(x.byProp, NowProperty)
		}
	}
	if !r.indexed {
		x.always = removeSlot(x.always, s)
		return
	}
	for _, a := range r.atoms {
		si := x.bySource[a.src]
		si.remove(a, s)
		if si.postings == 0 {
			delete(x.bySource, a.src)
			x.sources = slices.DeleteFunc(x.sources, func(o *sourceIndex) bool { return o == si })
		}
	}
}

// rerank recomputes rank; the caller holds the write lock.
func (x *Index) rerank() {
	live := make([]int32, 0, len(x.byID))
	for _, s := range x.byID {
		live = append(live, s)
	}
	slices.SortFunc(live, func(a, b int32) int { return strings.Compare(x.slots[a].id, x.slots[b].id) })
	x.rank = slices.Grow(x.rank[:0], len(x.slots))[:len(x.slots)]
	for i, s := range live {
		x.rank[s] = int32(i)
	}
	x.ranked = true
}

// rlockRanked takes the read lock with rank up to date.
func (x *Index) rlockRanked() {
	x.mu.RLock()
	for !x.ranked {
		x.mu.RUnlock()
		x.mu.Lock()
		if !x.ranked {
			x.rerank()
		}
		x.mu.Unlock()
		x.mu.RLock()
	}
}

// removeSlot removes one occurrence of s from l; order is not kept.
func removeSlot(l []int32, s int32) []int32 {
	for i, v := range l {
		if v == s {
			l[i] = l[len(l)-1]
			return l[:len(l)-1]
		}
	}
	return l
}

func (si *sourceIndex) lenMaps(kind atomKind) *[]lenIndex {
	if kind == atomPrefix {
		return &si.prefix
	}
	return &si.suffix
}

func (si *sourceIndex) add(a atom, s int32) {
	si.postings++
	if a.kind == atomEq {
		if si.eq == nil {
			si.eq = map[string][]int32{}
		}
		si.eq[a.key] = append(si.eq[a.key], s)
		return
	}
	lm := si.lenMaps(a.kind)
	i, found := slices.BinarySearchFunc(*lm, len(a.key), func(l lenIndex, n int) int { return l.n - n })
	if !found {
		*lm = slices.Insert(*lm, i, lenIndex{n: len(a.key), m: map[string][]int32{}})
	}
	m := (*lm)[i].m
	m[a.key] = append(m[a.key], s)
}

func (si *sourceIndex) remove(a atom, s int32) {
	si.postings--
	if a.kind == atomEq {
		if l := removeSlot(si.eq[a.key], s); len(l) > 0 {
			si.eq[a.key] = l
		} else {
			delete(si.eq, a.key)
		}
		return
	}
	lm := si.lenMaps(a.kind)
	i, found := slices.BinarySearchFunc(*lm, len(a.key), func(l lenIndex, n int) int { return l.n - n })
	if !found {
		return
	}
	m := (*lm)[i].m
	if l := removeSlot(m[a.key], s); len(l) > 0 {
		m[a.key] = l
	} else {
		delete(m, a.key)
		if len(m) == 0 {
			*lm = slices.Delete(*lm, i, i+1)
		}
	}
}

// probe adds the slots whose atoms hold for the folded value key.
func (si *sourceIndex) probe(key []byte, sc *scratch) {
	if si.eq != nil {
		if l, ok := si.eq[string(key)]; ok {
			sc.add(l)
		}
	}
	for _, li := range si.prefix {
		if li.n > len(key) {
			break
		}
		if l, ok := li.m[string(key[:li.n])]; ok {
			sc.add(l)
		}
	}
	for _, li := range si.suffix {
		if li.n > len(key) {
			break
		}
		if l, ok := li.m[string(key[len(key)-li.n:])]; ok {
			sc.add(l)
		}
	}
}

// scratch is the per-call working memory of MatchAll, pooled so that a call
// allocates nothing in the steady state.
type scratch struct {
	mark []uint32 // mark[slot] == gen: slot is already a candidate
	gen  uint32
	cand []int32
	hits []uint64 // matched rules: rank<<32 | slot
	key  []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func (sc *scratch) reset(slots int) {
	if len(sc.mark) < slots {
		sc.mark = make([]uint32, slots+slots/4)
		sc.gen = 0
	}
	if sc.gen++; sc.gen == 0 {
		clear(sc.mark)
		sc.gen = 1
	}
	sc.cand = sc.cand[:0]
}

func (sc *scratch) add(l []int32) {
	for _, s := range l {
		if sc.mark[s] != sc.gen {
			sc.mark[s] = sc.gen
			sc.cand = append(sc.cand, s)
		}
	}
}

// MatchAll appends to dst the ids of every rule that s matches at time now,
// sorted, and returns the extended slice. It evaluates only the rules whose
// index condition s's values satisfy, plus the rules without one; with a
// reused dst it allocates nothing in the common case.
func (x *Index) MatchAll(s Subject, now time.Time, dst []string) []string {
	x.rlockRanked()
	defer x.mu.RUnlock()
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.reset(len(x.slots))
	var plans []AssignedPlan // fetched once, for the first assignedPlans source
	plansFetched := false
	for _, si := range x.sources {
		switch si.src.kind {
		case srcUser:
			v, _ := s.Value(si.src.prop)
			sc.key = appendFoldKey(sc.key[:0], v)
			si.probe(sc.key, sc)
		case srcMulti:
			for _, v := range s.Values(si.src.prop) {
				sc.key = appendFoldKey(sc.key[:0], v)
				si.probe(sc.key, sc)
			}
		case srcPlans:
			if !plansFetched {
				plans, plansFetched = s.AssignedPlans(), true
			}
			for i := range plans {
				sc.key = appendFoldKey(sc.key[:0], si.src.field.get(&plans[i]))
				si.probe(sc.key, sc)
			}
		}
	}
	c := evalCtx{s: s, now: now}
	sc.hits = sc.hits[:0]
	for _, l := range [2][]int32{sc.cand, x.always} {
		for _, sl := range l {
			if x.slots[sl].rule.root.eval(&c) {
				sc.hits = append(sc.hits, uint64(x.rank[sl])<<32|uint64(sl))
			}
		}
	}
	slices.Sort(sc.hits)
	for _, h := range sc.hits {
		dst = append(dst, x.slots[uint32(h)].id)
	}
	return dst
}

// Affected returns the ids, sorted, of the rules that read any of the given
// properties: the only rules whose result for a user can change when those of
// the user's properties change. Names are as in Rule.Properties (lower-case,
// without "user."; other spellings are normalised); NowProperty selects the
// rules that use system.now.
func (x *Index) Affected(changedProps []string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var slots []int32
	for _, p := range changedProps {
		p = strings.ToLower(p)
		if p != NowProperty {
			p = strings.TrimPrefix(p, "user.")
		}
		slots = append(slots, x.byProp[p]...)
	}
	slices.Sort(slots)
	slots = slices.Compact(slots)
	ids := make([]string, len(slots))
	for i, s := range slots {
		ids[i] = x.slots[s].id
	}
	slices.Sort(ids)
	return ids
}

// Evaluate appends to dst the ids among ids whose rule s matches at time now,
// in the order given, and returns the extended slice; unknown ids are
// skipped. Use it with Affected to re-evaluate a user after a change.
func (x *Index) Evaluate(s Subject, now time.Time, ids []string, dst []string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	c := evalCtx{s: s, now: now}
	for _, id := range ids {
		if sl, ok := x.byID[id]; ok && x.slots[sl].rule.root.eval(&c) {
			dst = append(dst, id)
		}
	}
	return dst
}
