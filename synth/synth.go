// Package synth generates synthetic tenants with a realistic shape, for
// benchmarks, load tests and demos: Zipf-sized groups, users in several
// groups, overlapping SKUs from the real catalog, add-ons with their
// prerequisites in the same group, and some SKUs short of seats. The same
// Config always generates the same tenant.
package synth

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"time"

	"allot/catalog"
	"allot/licensing"
	"allot/userprop"
)

// Config sizes a tenant.
type Config struct {
	Users              int     // default 1000
	Groups             int     // default Users/100, at least 10
	SKUs               int     // distinct products with units, default 50
	GroupLicenses      int     // default Groups/2
	MembershipsPerUser float64 // average groups per user, default 2.5
	DirectShare        float64 // share of users with one direct license, default 0.05
	ShortShare         float64 // share of SKUs short of seats, default 0.2
	Seed               int64
	Start              time.Time // first AssignedAt; default 2025-01-01
}

// Tenant is a generated tenant, ready to load into an engine or a store.
type Tenant struct {
	Users          []licensing.User
	Groups         []licensing.Group
	Members        [][2]string // (groupId, userId)
	GroupLicenses  map[string][]licensing.LicenseSource
	DirectLicenses map[string][]licensing.LicenseSource
	Units          map[string]licensing.Units // by skuId
	SKUs           []*catalog.SKU
}

// Common products first: the shape of a real Microsoft 365 estate.
var preferred = []string{
	"SPE_E3", "SPE_E5", "ENTERPRISEPACK", "ENTERPRISEPREMIUM", "EMS", "EMSPREMIUM", "SPB",
	"O365_BUSINESS_PREMIUM", "O365_BUSINESS_ESSENTIALS", "STANDARDPACK", "DESKLESSPACK", "SPE_F1",
	"EXCHANGESTANDARD", "EXCHANGEENTERPRISE", "EXCHANGEARCHIVE_ADDON", "POWER_BI_PRO", "MCOEV",
	"MCOMEETADV", "PROJECTPREMIUM", "VISIOCLIENT", "PROJECTPROFESSIONAL", "AAD_PREMIUM",
	"AAD_PREMIUM_P2", "ATP_ENTERPRISE", "THREAT_INTELLIGENCE", "WORKPLACE_ANALYTICS",
	"Microsoft_365_Copilot", "INTUNE_A", "WIN10_VDA_E3", "WIN_DEF_ATP", "IDENTITY_THREAT_PROTECTION",
	"INFORMATION_PROTECTION_COMPLIANCE", "Microsoft_Teams_Premium", "PBI_PREMIUM_PER_USER",
	"VISIOONLINE_PLAN1", "PROJECT_P1", "DEFENDER_ENDPOINT_P1", "ADALLOM_STANDALONE", "RIGHTSMANAGEMENT",
	"SHAREPOINTSTANDARD", "EXCHANGEDESKLESS", "M365_F1", "MCOPSTN1", "POWER_BI_STANDARD",
	"DYN365_ENTERPRISE_PLAN1", "MCOCAP", "Microsoft_365_E3_(no_Teams)", "Office_365_E3_(no_Teams)",
	"FLOW_FREE", "STREAM",
}

var (
	departments = []string{"Sales", "Marketing", "Engineering", "Finance", "HR", "Legal", "Support", "Operations", "IT", "Research", "Procurement", "Facilities"}
	countries   = []string{"US", "US", "US", "GB", "DE", "FR", "CA", "IN", "JP", "AU", "NL", "BR"}
	titles      = []string{"Engineer", "Manager", "Analyst", "Director", "Intern", "Consultant", "Specialist", "Associate"}
)

// GUID returns a deterministic GUID for (kind, n).
func GUID(kind byte, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8%03x-%012x", n, kind, n)
}

func (c *Config) defaults() {
	if c.Users <= 0 {
		c.Users = 1000
	}
	if c.Groups <= 0 {
		c.Groups = max(10, c.Users/100)
	}
	if c.SKUs <= 0 {
		c.SKUs = 50
	}
	if c.GroupLicenses <= 0 {
		c.GroupLicenses = c.Groups / 2
	}
	if c.MembershipsPerUser <= 0 {
		c.MembershipsPerUser = 2.5
	}
	if c.DirectShare == 0 {
		c.DirectShare = 0.05
	}
	if c.ShortShare == 0 {
		c.ShortShare = 0.2
	}
	if c.Start.IsZero() {
		c.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
}

// Generate builds a tenant from the catalog: its products, users, groups
// and memberships, group and direct licenses, and units, in that order
// (each step draws from the one random source, so a seed gives one
// tenant).
func Generate(cat *catalog.Catalog, cfg Config) *Tenant {
	cfg.defaults()
	g := &generator{cat: cat, cfg: cfg, rnd: rand.New(rand.NewSource(cfg.Seed)), at: cfg.Start,
		t: &Tenant{GroupLicenses: map[string][]licensing.LicenseSource{}, DirectLicenses: map[string][]licensing.LicenseSource{}, Units: map[string]licensing.Units{}}}
	g.products()
	g.users()
	g.groups()
	g.memberships()
	g.groupLicenses()
	g.directLicenses()
	g.units()
	return g.t
}

// generator is one run of Generate.
type generator struct {
	cat *catalog.Catalog
	cfg Config
	rnd *rand.Rand
	t   *Tenant
	at  time.Time // the last license's AssignedAt
}

func (gen *generator) products() {
	cat, cfg, t := gen.cat, gen.cfg, gen.t
	// Products: preferred ones, then others in catalog order.
	seen := map[string]bool{}
	for _, p := range preferred {
		if s, ok := cat.SKU(p); ok && !seen[s.ID] && len(t.SKUs) < cfg.SKUs {
			t.SKUs = append(t.SKUs, s)
			seen[s.ID] = true
		}
	}
	for _, s := range cat.SKUs() {
		if len(t.SKUs) >= cfg.SKUs {
			break
		}
		if !seen[s.ID] && len(s.Plans) > 0 {
			t.SKUs = append(t.SKUs, s)
			seen[s.ID] = true
		}
	}
}

func (gen *generator) users() {
	cfg, rnd, t := gen.cfg, gen.rnd, gen.t
	t.Users = make([]licensing.User, cfg.Users)
	for i := range t.Users {
		dep := departments[rnd.Intn(len(departments))]
		c := countries[rnd.Intn(len(countries))]
		u := licensing.User{
			ID: GUID('u', i+1), UserPrincipalName: fmt.Sprintf("user%07d@contoso.example", i+1),
			DisplayName: fmt.Sprintf("User %07d", i+1), AccountEnabled: rnd.Intn(50) != 0, UserType: "Member",
			Kind: licensing.KindPerson,
		}
		u.SetTexts(&userprop.Texts{userprop.Department: dep, userprop.Country: c, userprop.JobTitle: titles[rnd.Intn(len(titles))],
			userprop.City: "City " + c, userprop.CompanyName: "Contoso", userprop.EmployeeID: fmt.Sprintf("E%07d", i+1)})
		if rnd.Intn(10) != 0 {
			u.UsageLocation = c
		}
		if rnd.Intn(100) == 0 {
			u.UserType = "Guest"
		}
		if rnd.Intn(200) == 0 {
			u.Kind = licensing.KindSharedMailbox
		}
		t.Users[i] = u
	}
}

func (gen *generator) groups() {
	cfg, t := gen.cfg, gen.t
	t.Groups = make([]licensing.Group, cfg.Groups)
	for i := range t.Groups {
		t.Groups[i] = licensing.Group{ID: GUID('g', i+1), DisplayName: fmt.Sprintf("Group %05d", i+1), SecurityEnabled: true, AssignmentMode: licensing.ModePerProduct}
		if i%50 == 49 {
			t.Groups[i].AssignmentMode = licensing.ModeAllOrNone
		}
	}
}

func (gen *generator) memberships() {
	cfg, rnd, t := gen.cfg, gen.rnd, gen.t
	// Zipf-sized groups: group k gets weight 1/(k+1)^s; memberships are drawn
	// so that the total is Users × MembershipsPerUser and no user is in one
	// group twice.
	total := int(float64(cfg.Users) * cfg.MembershipsPerUser)
	weights := make([]float64, cfg.Groups)
	sum := 0.0
	for k := range weights {
		weights[k] = 1 / math.Pow(float64(k+1), 0.9)
		sum += weights[k]
	}
	userOrder := rnd.Perm(cfg.Users)
	cursor := 0
	for k := range weights {
		size := int(math.Round(weights[k] / sum * float64(total)))
		size = min(max(size, 1), cfg.Users)
		// A contiguous window of a shuffled user order: distinct users,
		// overlapping windows between groups.
		start := cursor
		cursor = (cursor + size/3 + 1) % cfg.Users
		for j := 0; j < size; j++ {
			t.Members = append(t.Members, [2]string{t.Groups[k].ID, t.Users[userOrder[(start+j)%cfg.Users]].ID})
		}
	}
}

func (gen *generator) groupLicenses() {
	cat, cfg, rnd, t := gen.cat, gen.cfg, gen.rnd, gen.t
	// Group licenses: base products on the big groups, add-ons with their
	// prerequisite (an Exchange plan) in the same group.
	exchange, _ := cat.SKU("EXCHANGESTANDARD")
	assigned := 0
	for k := 0; assigned < cfg.GroupLicenses && k < 10*cfg.Groups; k++ {
		g := t.Groups[k%cfg.Groups].ID
		s := t.SKUs[zipfIndex(rnd, len(t.SKUs))]
		if hasSKU(t.GroupLicenses[g], s.ID) {
			continue
		}
		gen.at = gen.at.Add(time.Minute)
		t.GroupLicenses[g] = append(t.GroupLicenses[g], licensing.LicenseSource{SKUID: s.ID, AssignedAt: gen.at})
		assigned++
		if needsExchange(cat, s) && exchange != nil && !hasSKU(t.GroupLicenses[g], exchange.ID) && assigned < cfg.GroupLicenses {
			t.GroupLicenses[g] = append(t.GroupLicenses[g], licensing.LicenseSource{SKUID: exchange.ID, AssignedAt: gen.at})
			assigned++
		}
	}
	for g := range t.GroupLicenses {
		ls := t.GroupLicenses[g]
		sort.Slice(ls, func(i, j int) bool { return ls[i].SKUID < ls[j].SKUID })
	}
}

func (gen *generator) directLicenses() {
	cat, cfg, rnd, t := gen.cat, gen.cfg, gen.rnd, gen.t
	for i := range t.Users {
		if rnd.Float64() < cfg.DirectShare && t.Users[i].UsageLocation != "" {
			s := t.SKUs[zipfIndex(rnd, len(t.SKUs))]
			if needsExchange(cat, s) {
				continue
			}
			gen.at = gen.at.Add(time.Second)
			t.DirectLicenses[t.Users[i].ID] = []licensing.LicenseSource{{SKUID: s.ID, AssignedAt: gen.at}}
		}
	}
}

func (gen *generator) units() {
	cfg, rnd, t := gen.cfg, gen.rnd, gen.t
	// Units: demand per SKU, some SKUs 5% short.
	demand := map[string]map[string]bool{}
	add := func(sku, user string) {
		m := demand[sku]
		if m == nil {
			m = map[string]bool{}
			demand[sku] = m
		}
		m[user] = true
	}
	for _, m := range t.Members {
		for _, gl := range t.GroupLicenses[m[0]] {
			add(gl.SKUID, m[1])
		}
	}
	for u, ls := range t.DirectLicenses {
		for _, l := range ls {
			add(l.SKUID, u)
		}
	}
	for _, s := range t.SKUs {
		n := len(demand[s.ID])
		units := n + n/10 + 5
		if rnd.Float64() < cfg.ShortShare {
			units = n - n/20
		}
		t.Units[s.ID] = licensing.Units{Enabled: units, Status: "Enabled"}
	}
}

func zipfIndex(rnd *rand.Rand, n int) int {
	// P(k) ∝ 1/(k+1): inverse transform on a harmonic-ish distribution.
	x := math.Exp(rnd.Float64()*math.Log(float64(n)+1)) - 1
	return min(int(x), n-1)
}

func hasSKU(ls []licensing.LicenseSource, id string) bool {
	for _, l := range ls {
		if l.SKUID == id {
			return true
		}
	}
	return false
}

// needsExchange reports whether a product has a plan with a dependency rule
// (an add-on), so that the generator pairs it with its prerequisite.
func needsExchange(cat *catalog.Catalog, s *catalog.SKU) bool {
	for _, p := range s.Plans {
		for _, d := range cat.Rules().Dependencies {
			if d.Plan == p.ID {
				return true
			}
		}
	}
	return false
}

// LoadInto loads the tenant into an empty engine (without recomputing).
func (t *Tenant) LoadInto(e *licensing.Engine) error {
	for _, s := range t.SKUs {
		if err := e.LoadUnits(s.ID, t.Units[s.ID]); err != nil {
			return err
		}
	}
	for _, u := range t.Users {
		if err := e.LoadUser(u); err != nil {
			return err
		}
	}
	for _, g := range t.Groups {
		if err := e.LoadGroup(g); err != nil {
			return err
		}
	}
	for _, m := range t.Members {
		if err := e.LoadMember(m[0], m[1]); err != nil {
			return err
		}
	}
	for g, ls := range t.GroupLicenses {
		for _, l := range ls {
			if err := e.LoadGroupLicense(g, l); err != nil {
				return err
			}
		}
	}
	for u, ls := range t.DirectLicenses {
		for _, l := range ls {
			if err := e.LoadDirectLicense(u, l); err != nil {
				return err
			}
		}
	}
	return nil
}
