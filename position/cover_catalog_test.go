package position

import (
	"math"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"allot/catalog"
	"allot/prices"
	"allot/usage"
)

// fullCatalogPrices prices every per-user product of Microsoft's catalog:
// list prices (testdata/prices-usd.csv) where known, otherwise a price that
// grows with the product's plans (bundles cost more), and nothing for the
// free and trial products.
func fullCatalogPrices(tb testing.TB) *prices.List {
	tb.Helper()
	f, err := os.Open("testdata/prices-usd.csv")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	l, _, err := prices.ParseCSV(f)
	if err != nil {
		tb.Fatal(err)
	}
	cat := catalog.Default()
	if err := l.Check(cat); err != nil {
		tb.Fatal(err)
	}
	known := map[string]bool{}
	for _, p := range l.Prices {
		known[p.SKUID] = true
	}
	for _, s := range cat.SKUs() {
		if known[s.ID] || strings.EqualFold(s.AppliesTo, "Company") {
			continue
		}
		price := 1.0 + 1.25*float64(len(s.Plans))
		up := strings.ToUpper(s.PartNumber)
		if strings.Contains(up, "FREE") || strings.Contains(up, "TRIAL") {
			price = 0
		}
		l.Prices = append(l.Prices, prices.Price{SKUID: s.ID, MonthlyUnitPrice: math.Round(price*100) / 100})
		known[s.ID] = true
	}
	if err := l.Check(cat); err != nil {
		tb.Fatal(err)
	}
	return &l
}

// randomNeeds draws up to k features of the feature map (with their
// prerequisites) that some priced product meets.
func randomNeeds(m *model, rnd *rand.Rand, k int) []int32 {
	fs := usage.Features()
	var out []int32
	for n := 1 + rnd.Intn(k); n > 0; n-- {
		q := m.featureReq(fs[rnd.Intn(len(fs))].ID, nil)
		for q >= 0 {
			if len(m.reqs[q].cands) > 0 && !slices.Contains(out, q) {
				out = append(out, q)
			}
			q = m.reqs[q].prereq
		}
	}
	slices.Sort(out)
	return out
}

// bruteOnUndominated finds the cheapest cover by enumerating the families
// of candidate products that no other candidate dominates (covers a
// superset of requirements for no more money) — dropping dominated sets
// never loses the optimum. ok is false when too many remain.
func bruteOnUndominated(m *model, reqs []int32) (int64, bool) {
	type cand struct {
		mask  uint64
		price int64
	}
	var cs []cand
	seen := map[int32]bool{}
	for _, q := range reqs {
		for _, s := range m.reqs[q].cands {
			if seen[s] {
				continue
			}
			seen[s] = true
			var mk uint64
			for e2, q2 := range reqs {
				if m.skus[s].plans.intersects(m.reqs[q2].plans) {
					mk |= 1 << uint(e2)
				}
			}
			cs = append(cs, cand{mk, m.skus[s].price})
		}
	}
	var keep []cand
	for i, a := range cs {
		dominated := false
		for j, b := range cs {
			if i != j && a.mask&^b.mask == 0 && (b.price < a.price || b.price == a.price && (b.mask != a.mask || j < i)) {
				dominated = true
				break
			}
		}
		if !dominated {
			keep = append(keep, a)
		}
	}
	if len(keep) > 16 {
		return 0, false
	}
	full := uint64(1)<<uint(len(reqs)) - 1
	best := int64(math.MaxInt64)
	for f := 0; f < 1<<len(keep); f++ {
		var mk uint64
		var p int64
		for i := range keep {
			if f&(1<<i) != 0 {
				mk |= keep[i].mask
				p += keep[i].price
			}
		}
		if mk == full && p < best {
			best = p
		}
	}
	return best, true
}

func TestCoverOnTheFullCatalogIsExact(t *testing.T) {
	m := newModel(catalog.Default(), fullCatalogPrices(t), false, newSharedMemo(0, 0))
	m.withCaps = true // every priced product a candidate
	rnd := rand.New(rand.NewSource(3))
	checked := 0
	for k := 0; k < 400; k++ {
		reqs := randomNeeds(m, rnd, 8)
		x := m.solve(m.classesOf(reqs), nil)
		if !x.exact {
			t.Fatalf("instance %d: search not exact", k)
		}
		// The mix meets every requirement.
		for _, q := range reqs {
			met := false
			for _, s := range x.skus {
				met = met || m.skus[s].plans.intersects(m.reqs[q].plans)
			}
			if !met {
				t.Fatalf("instance %d: %s unmet by %v", k, m.reqs[q].label, m.partList(x.skus))
			}
		}
		want, ok := bruteOnUndominated(m, reqs)
		if !ok {
			continue
		}
		checked++
		if x.cost != want {
			t.Fatalf("instance %d (%d requirements): cost %d by %v, brute force %d", k, len(reqs), x.cost, m.partList(x.skus), want)
		}
		// The memoised path (class dominance, forced products) agrees.
		if y := m.cover(slices.Clone(reqs), nil); y.cost != want {
			t.Fatalf("instance %d: cover() costs %d by %v, brute force %d", k, y.cost, m.partList(y.skus), want)
		}
	}
	if checked < 200 {
		t.Fatalf("only %d instances small enough for brute force", checked)
	}
}

// BenchmarkCoverFullCatalog solves distinct requirement sets (no memo)
// against every per-user product of Microsoft's catalog priced:
//
//	go test ./position -run '^$' -bench CoverFullCatalog -benchtime 3x
func BenchmarkCoverFullCatalog(b *testing.B) {
	m := newModel(catalog.Default(), fullCatalogPrices(b), false, newSharedMemo(0, 0))
	m.withCaps = true // every priced product a candidate
	rnd := rand.New(rand.NewSource(1))
	var sets [][]int32
	keys := map[string]bool{}
	for len(sets) < 2000 {
		r := randomNeeds(m, rnd, 10)
		k := m.setKeyReqs(r)
		if !keys[k] {
			keys[k] = true
			sets = append(sets, r)
		}
	}
	maxNodes, maxReqs := 0, 0
	for b.Loop() {
		for _, r := range sets {
			x := m.solve(m.classesOf(r), nil)
			if !x.exact {
				b.Fatal("not exact")
			}
			maxReqs = max(maxReqs, len(r))
		}
	}
	for _, r := range sets[:200] {
		res := m.problem(r)
		maxNodes = max(maxNodes, SolveCover(res).Nodes)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
	b.ReportMetric(float64(maxNodes), "max-nodes")
	b.ReportMetric(float64(len(m.priced)), "priced-products")
}

func (m *model) setKeyReqs(r []int32) string {
	var b strings.Builder
	for _, q := range r {
		b.WriteString(string(rune(q + 1)))
	}
	return b.String()
}

// problem is the cover problem solve builds (for statistics).
func (m *model) problem(reqs []int32) CoverProblem {
	local := map[int32]int{}
	p := CoverProblem{Elements: len(reqs)}
	for e, r := range reqs {
		for _, s := range m.reqs[r].cands {
			i, ok := local[s]
			if !ok {
				i = len(p.Sets)
				local[s] = i
				p.Sets = append(p.Sets, nil)
				p.Weights = append(p.Weights, m.skus[s].price*coverScale+2)
			}
			p.Sets[i] = append(p.Sets[i], e)
		}
	}
	return p
}

func (m *model) classesOf(reqs []int32) []int32 {
	var out []int32
	for _, r := range reqs {
		if c := m.reqs[r].class; c >= 0 && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// BenchmarkCoverListPrices solves distinct requirement sets against the
// list prices of testdata/prices-usd.csv (a tenant's price list).
func BenchmarkCoverListPrices(b *testing.B) {
	f, _ := os.Open("testdata/prices-usd.csv")
	l, _, _ := prices.ParseCSV(f)
	f.Close()
	if err := l.Check(catalog.Default()); err != nil {
		b.Fatal(err)
	}
	m := newModel(catalog.Default(), &l, false, newSharedMemo(0, 0))
	m.withCaps = true // every priced product a candidate
	rnd := rand.New(rand.NewSource(1))
	var sets [][]int32
	keys := map[string]bool{}
	for len(sets) < 2000 {
		r := m.classesOf(randomNeeds(m, rnd, 10))
		k := m.setKeyReqs(r)
		if !keys[k] && len(r) > 0 {
			keys[k] = true
			sets = append(sets, r)
		}
	}
	for b.Loop() {
		for _, r := range sets {
			m.solve(r, nil)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sets)), "ns/set")
}

// BenchmarkCoverMemoised is what the position pays per distinct
// requirement set and held products: cover's reductions, keys and the
// solving of the rest, against the list prices, with and without the
// dynamic programme for small problems (no memo hits: the memos are
// emptied for every round).
func BenchmarkCoverMemoised(b *testing.B) {
	f, _ := os.Open("testdata/prices-usd.csv")
	l, _, _ := prices.ParseCSV(f)
	f.Close()
	if err := l.Check(catalog.Default()); err != nil {
		b.Fatal(err)
	}
	for _, small := range []int{0, 6, 8, 10, 12} {
		b.Run("small"+strconv.Itoa(small), func(b *testing.B) {
			defer func(s int) { smallMaxElements = s }(smallMaxElements)
			smallMaxElements = small
			m := newModel(catalog.Default(), &l, false, newSharedMemo(0, 0))
			m.withCaps = true // every priced product a candidate
			rnd := rand.New(rand.NewSource(1))
			type problem struct{ reqs, held []int32 }
			var ps []problem
			for len(ps) < 5000 {
				r := randomNeeds(m, rnd, 12)
				var held []int32
				for nh := rnd.Intn(3); len(held) < nh; {
					held = append(held, m.priced[rnd.Intn(len(m.priced))])
				}
				slices.Sort(held)
				ps = append(ps, problem{r, slices.Compact(held)})
			}
			for b.Loop() {
				m.memo, m.memoFixed, m.shared = map[string]*memoEntry{}, map[memoKey]*memoEntry{}, newSharedMemo(0, 0)
				for _, p := range ps {
					m.cover(p.reqs, p.held)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ps)), "ns/set")
		})
	}
}
