package usage

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"allot/catalog"
)

//go:embed data/features.json
var featuresJSON []byte

// PlanRef names a service plan as the catalog does.
type PlanRef struct {
	Name string `json:"servicePlanName"`
	ID   string `json:"servicePlanId"`
}

// Feature is one entry of the curated feature map: a capability a user can
// be seen using, and the service plans that grant it (any one of them is
// enough).
type Feature struct {
	ID          string    `json:"id"` // camelCase, e.g. attackSimulation
	DisplayName string    `json:"displayName"`
	Workload    string    `json:"workload"` // Exchange, Teams, OneDrive, SharePoint, …
	Plans       []PlanRef `json:"plans"`
	Source      string    `json:"source"` // the Microsoft documentation the entry follows
	Note        string    `json:"note,omitempty"`
}

// Workloads that usage reports name (Office365ActiveUserDetail columns and
// the per-workload reports).
const (
	WorkloadExchange   = "Exchange"
	WorkloadOneDrive   = "OneDrive"
	WorkloadSharePoint = "SharePoint"
	WorkloadTeams      = "Teams"
	WorkloadVivaEngage = "VivaEngage" // Yammer
	WorkloadSkype      = "Skype"
	WorkloadOfficeApps = "OfficeApps"
)

// planFeaturePrefix marks the pseudo-feature of an event that names a
// service plan directly; its key is "plan:" + servicePlanId.
const planFeaturePrefix = "plan:"

// featureIdx is an interned feature: an index into the feature tables (0 =
// none): the curated features in the order of the data file (ft), then one
// pseudo-feature per service plan of Microsoft's catalog (planFeatures).
// Both tables are built once from embedded data and never change, so they
// are the same in every tenant and grow with nothing a tenant sends.
// Indexes are never persisted (stored aggregates name features by key).
type featureIdx uint16

type featureInfo struct {
	key      string // curated id, or "plan:"+servicePlanId
	name     string // curated id, or the servicePlanName
	workload string
	plans    []string  // lower-case servicePlanIds that grant it
	pix      []planIdx // the same plans, interned (walk.go)
}

// planIdx is an interned servicePlanId (never persisted): the curated map's
// plans first (ft.planIDs), then the catalog's other plans
// (planFeatures().extra); fixed like featureIdx.
type planIdx uint16

// ft is the curated feature map, built during package initialisation (a
// variable initialiser, so that other initialisers may use it).
var ft = buildFeatureTables()

type featureTables struct {
	planIDs  []string           // the curated plans by planIdx; immutable
	planIdx  map[string]planIdx // lower-case servicePlanId → planIdx; immutable
	list     []Feature
	tab      []featureInfo         // index 0 unused; immutable
	key      map[string]featureIdx // curated ids; immutable
	fold     map[string]featureIdx // lower-case curated ids; immutable
	workload map[string]featureIdx // the feature a report's workload activity counts as
}

// planFeatureTable is the pseudo-features of Microsoft's service plans
// (catalog.Default()), one per plan: an event may name a plan instead of a
// curated feature.
type planFeatureTable struct {
	tab   []featureInfo         // index i is featureIdx(len(ft.tab)+i)
	byID  map[string]featureIdx // lower-case servicePlanId
	exact map[string]featureIdx // servicePlanName and servicePlanId as the catalog spells them
	extra []string              // servicePlanIds of planIdx len(ft.planIDs)+i
}

// planFeatures returns the plan pseudo-features, built on first use (the
// catalog is parsed then) and immutable afterwards: no lock, no growth.
var planFeatures = sync.OnceValue(func() *planFeatureTable {
	t, err := buildPlanFeatures(catalog.Default())
	if err != nil {
		panic("usage: " + err.Error()) // the embedded catalog is a defect; TestPlanFeaturesFit
	}
	return t
})

// buildPlanFeatures interns every plan as a pseudo-feature; an error when
// the features or plans do not fit their 16-bit indexes.
func buildPlanFeatures(cat *catalog.Catalog) (*planFeatureTable, error) {
	plans := cat.Plans()
	if n := len(ft.tab) + len(plans); n > 1<<16 || len(ft.planIDs)+len(plans) > 1<<16 {
		return nil, fmt.Errorf("%d features and plans do not fit a 16-bit index", n)
	}
	t := &planFeatureTable{byID: make(map[string]featureIdx, len(plans)), exact: make(map[string]featureIdx, 2*len(plans))}
	for _, p := range plans {
		id := strings.ToLower(p.ID)
		if _, dup := t.byID[id]; dup {
			continue
		}
		pi, ok := ft.planIdx[id]
		if !ok {
			pi = planIdx(len(ft.planIDs) + len(t.extra))
			t.extra = append(t.extra, id)
		}
		t.tab = append(t.tab, featureInfo{key: planFeaturePrefix + p.ID, name: p.Name, plans: []string{id}, pix: []planIdx{pi}})
		i := featureIdx(len(ft.tab) + len(t.tab) - 1)
		t.byID[id] = i
		// A spelling that names a curated feature in another case is that
		// feature (lookupFeature); a name two plans share is the plan the
		// catalog resolves it to.
		if _, curated := ft.fold[id]; !curated {
			t.exact[p.ID] = i
		}
		if _, curated := ft.fold[strings.ToLower(p.Name)]; !curated {
			if cp, ok := cat.Plan(p.Name); ok && cp == p {
				t.exact[p.Name] = i
			}
		}
	}
	return t, nil
}

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

func buildFeatureTables() *featureTables {
	fs, err := parseFeatures(featuresJSON)
	if err != nil {
		panic("usage: embedded feature map: " + err.Error())
	}
	t := &featureTables{list: fs, tab: []featureInfo{{}}, key: map[string]featureIdx{},
		fold: map[string]featureIdx{}, workload: map[string]featureIdx{}, planIdx: map[string]planIdx{}}
	for _, f := range fs {
		info := featureInfo{key: f.ID, name: f.ID, workload: f.Workload}
		for _, p := range f.Plans {
			id := strings.ToLower(p.ID)
			pi, ok := t.planIdx[id]
			if !ok {
				pi = planIdx(len(t.planIDs))
				t.planIDs = append(t.planIDs, id)
				t.planIdx[id] = pi
			}
			info.plans = append(info.plans, t.planIDs[pi]) // one string per plan
			info.pix = append(info.pix, pi)
		}
		t.tab = append(t.tab, info)
		i := featureIdx(len(t.tab) - 1)
		t.key[f.ID] = i
		t.fold[strings.ToLower(f.ID)] = i
	}
	for w, id := range map[string]string{
		WorkloadExchange: "exchangeMailbox", WorkloadOneDrive: "oneDriveFiles", WorkloadSharePoint: "sharePointSites",
		WorkloadTeams: "teams", WorkloadVivaEngage: "vivaEngage", WorkloadSkype: "skypeForBusiness", WorkloadOfficeApps: "officeDesktopApps",
	} {
		i, ok := t.key[id]
		if !ok {
			panic("usage: feature map lacks " + id)
		}
		t.workload[w] = i
	}
	return t
}

// parseFeatures reads and checks the feature map's shape (the catalog check
// is CheckFeatures).
func parseFeatures(data []byte) ([]Feature, error) {
	var doc struct {
		Features []Feature `json:"features"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range doc.Features {
		switch {
		case !camelCase.MatchString(f.ID):
			return nil, fmt.Errorf("feature id %q is not camelCase", f.ID)
		case seen[f.ID]:
			return nil, fmt.Errorf("feature %s listed twice", f.ID)
		case len(f.Plans) == 0:
			return nil, fmt.Errorf("feature %s names no plan", f.ID)
		case !strings.HasPrefix(f.Source, "https://"):
			return nil, fmt.Errorf("feature %s has no documentation source", f.ID)
		case f.Workload == "":
			return nil, fmt.Errorf("feature %s has no workload", f.ID)
		}
		seen[f.ID] = true
	}
	return doc.Features, nil
}

// Features returns the curated feature map in file order. The slice is
// shared: do not modify it.
func Features() []Feature { return ft.list }

// CheckFeatures verifies that every plan of the feature map exists in cat
// with the same servicePlanName.
func CheckFeatures(cat *catalog.Catalog) error {
	for _, f := range ft.list {
		for _, p := range f.Plans {
			cp, ok := cat.Plan(p.ID)
			if !ok {
				return fmt.Errorf("feature %s: plan %s (%s) is not in the catalog", f.ID, p.Name, p.ID)
			}
			if !strings.EqualFold(cp.Name, p.Name) || !strings.EqualFold(cp.ID, p.ID) {
				return fmt.Errorf("feature %s: plan %s is %s in the catalog, not %s", f.ID, p.ID, cp.Name, p.Name)
			}
		}
	}
	return nil
}

// lookupFeature resolves what an event names: a curated feature id (any
// case) or a service plan of the catalog (servicePlanName or
// servicePlanId, any case). name may alias a reused buffer; nothing keeps
// it.
func lookupFeature(name []byte) (featureIdx, bool) {
	if i, ok := ft.key[string(name)]; ok {
		return i, true
	}
	pf := planFeatures()
	if i, ok := pf.exact[string(name)]; ok {
		return i, true
	}
	s := string(name)
	if i, ok := ft.fold[strings.ToLower(s)]; ok {
		return i, true
	}
	return planFeature(pf, s)
}

// planFeature returns the pseudo-feature of a catalog plan named by id or
// name (any case).
func planFeature(pf *planFeatureTable, idOrName string) (featureIdx, bool) {
	p, ok := catalog.Default().Plan(idOrName)
	if !ok {
		return 0, false
	}
	i, ok := pf.byID[strings.ToLower(p.ID)]
	return i, ok
}

// featureByKey resolves a stored feature key; false if it is no longer
// known (a feature removed from the map, a plan removed from the catalog).
func featureByKey(key string) (featureIdx, bool) {
	if i, ok := ft.key[key]; ok {
		return i, true
	}
	if id, found := strings.CutPrefix(key, planFeaturePrefix); found {
		return planFeature(planFeatures(), id)
	}
	return 0, false
}

func (i featureIdx) info() featureInfo {
	if int(i) < len(ft.tab) {
		return ft.tab[i]
	}
	return planFeatures().tab[int(i)-len(ft.tab)]
}

// isPlanFeature reports whether the feature is an event naming a plan.
func (i featureIdx) isPlanFeature() bool { return int(i) >= len(ft.tab) }

// featureNamed returns the interned index of a curated feature id (for the
// report column mappings); it panics on an id missing from the map, which
// is a defect.
func featureNamed(id string) featureIdx {
	i, ok := ft.key[id]
	if !ok {
		panic("usage: feature map lacks " + id)
	}
	return i
}
