package catalog

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// The workload Graph reports for a service plan in
// user.assignedPlans[].service ("exchange", "SharePoint", …), from the
// curated data file data/plan-services.json (its "about" and "source" say
// where the values come from and which are inferred).

//go:embed data/plan-services.json
var planServicesJSON []byte

type planServices struct {
	byID     map[string]string // plan id -> service (observed)
	names    map[string]string // plan id -> the plan's name as the file writes it
	prefixes []prefixService   // longest prefix first (inferred)
}

type prefixService struct{ prefix, service string }

var (
	servicesOnce sync.Once
	services     *planServices
	servicesErr  error
)

func parsePlanServices(b []byte) (*planServices, error) {
	var doc struct {
		Plans    map[string]string `json:"plans"`
		Prefixes map[string]string `json:"prefixes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	ps := &planServices{byID: make(map[string]string, len(doc.Plans)), names: make(map[string]string, len(doc.Plans))}
	for k, v := range doc.Plans {
		name, id, err := parseNamedID(k)
		if err != nil {
			return nil, fmt.Errorf("plan-services.json: %w", err)
		}
		ps.byID[id] = v
		ps.names[id] = name
	}
	for p, v := range doc.Prefixes {
		ps.prefixes = append(ps.prefixes, prefixService{strings.ToUpper(p), v})
	}
	sort.Slice(ps.prefixes, func(i, j int) bool {
		a, b := ps.prefixes[i].prefix, ps.prefixes[j].prefix
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	return ps, nil
}

// parseNamedID splits "NAME (GUID)".
func parseNamedID(s string) (name, id string, err error) {
	i := strings.LastIndex(s, " (")
	if i < 0 || !strings.HasSuffix(s, ")") {
		return "", "", fmt.Errorf("%q is not \"NAME (GUID)\"", s)
	}
	name, id = s[:i], strings.ToLower(s[i+2:len(s)-1])
	if !IsGUID(id) {
		return "", "", fmt.Errorf("%q: %q is not a GUID", s, id)
	}
	return name, id, nil
}

func loadedServices() *planServices {
	servicesOnce.Do(func() {
		services, servicesErr = parsePlanServices(planServicesJSON)
		if servicesErr != nil {
			panic(fmt.Sprintf("catalog: embedded plan services: %v", servicesErr))
		}
	})
	return services
}

// Service returns the workload Graph names for the plan in
// assignedPlans[].service: the value observed for the plan, else the
// value of its plan family (by name prefix), else the plan's name.
func (p *Plan) Service() string {
	ps := loadedServices()
	if s, ok := ps.byID[p.ID]; ok {
		return s
	}
	name := strings.ToUpper(p.Name)
	for _, x := range ps.prefixes {
		if strings.HasPrefix(name, x.prefix) {
			return x.service
		}
	}
	return p.Name
}

// PlanService returns the workload of a plan of the catalog (Plan.Service)
// by servicePlanId; a plan that only custom products contain keeps its
// name (Microsoft's workloads say nothing of a tenant's own plans), and an
// unknown id is returned as it is.
func (c *Catalog) PlanService(planID string) string {
	p, ok := c.Plan(planID)
	if !ok {
		return planID
	}
	for _, s := range c.SKUsWithPlan(p.ID) {
		if !s.Custom {
			return p.Service()
		}
	}
	return p.Name
}
