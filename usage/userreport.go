package usage

import (
	"sort"
	"strings"
	"time"

	"allot/catalog"
	"allot/tenant"
)

// LicenseUsage is a seat a user holds: when it was granted (the engine's
// HeldSince) and when it was activated — the user's first activity (sign-in,
// feature event or report activity date) at or after the grant; nil if none
// yet.
type LicenseUsage struct {
	SKUID             string     `json:"skuId"`
	SKUPartNumber     string     `json:"skuPartNumber"`
	AssignedDateTime  time.Time  `json:"assignedDateTime"`
	ActivatedDateTime *time.Time `json:"activatedDateTime"`
}

// Licenses returns the seats a user holds with their activation, by SKU
// id. Call inside Tenant.Read.
func Licenses(s *tenant.State, userID string) []LicenseUsage {
	u, _ := Of(s).User(userID)
	return licenses(s, userID, u)
}

func licenses(s *tenant.State, userID string, u UserUsage) []LicenseUsage {
	out := []LicenseUsage{}
	earliest := u.Earliest()
	for _, l := range s.Engine.Licenses(userID) {
		if !l.Held {
			continue
		}
		lu := LicenseUsage{SKUID: l.SKUID, AssignedDateTime: l.GrantDate().UTC()}
		if sku, ok := s.Engine.Catalog().SKU(l.SKUID); ok {
			lu.SKUPartNumber = sku.PartNumber
		}
		held := l.HeldSince.Time().Truncate(time.Second)
		for _, a := range u.Activations {
			if a.SKUID == l.SKUID && a.Granted.Equal(held) {
				t := a.Activated
				lu.ActivatedDateTime = &t
			}
		}
		// Activity recorded before the seat was granted cannot say when it
		// was first used after; but when all of it came after the grant,
		// the earliest is the activation (a grant backdated at load).
		if lu.ActivatedDateTime == nil && !earliest.IsZero() && !earliest.Before(l.GrantDate().Truncate(time.Second)) {
			t := earliest
			lu.ActivatedDateTime = &t
		}
		out = append(out, lu)
	}
	return out
}

// UserReport is the usage of one user as GET /allot/v1/usage/users/{id}
// shows it, with the windows counted as of AsOf.
type UserReport struct {
	ID                string            `json:"id"`
	UserPrincipalName string            `json:"userPrincipalName,omitempty"`
	AsOf              string            `json:"asOf"`
	SignIns           SignInReport      `json:"signIns"`
	Licenses          []LicenseUsage    `json:"licenses"`
	ServicePlans      []PlanReport      `json:"servicePlans"`
	Features          []FeatureReport   `json:"features"`
	Workloads         map[string]string `json:"workloads"` // workload → last activity date
	// WorkloadEvidence is, per workload of Workloads, where its uses were
	// seen: usage reports (by type) and/or feature events.
	WorkloadEvidence map[string][]EvidenceSource `json:"workloadEvidence"`
	Mailbox          *MailboxReport              `json:"mailbox"`
}

// SignInReport summarises sign-ins.
type SignInReport struct {
	FirstDateTime           *time.Time `json:"firstDateTime"`
	LastDateTime            *time.Time `json:"lastDateTime"`
	LastInteractiveDateTime *time.Time `json:"lastInteractiveDateTime"`
	ActiveDays30            int        `json:"activeDays30"`
	ActiveDays90            int        `json:"activeDays90"`
}

// PlanReport is the use of a service plan the user holds (or named
// directly by events): Enabled says whether the user has it.
type PlanReport struct {
	ServicePlanID   string     `json:"servicePlanId"`
	ServicePlanName string     `json:"servicePlanName"`
	Enabled         bool       `json:"enabled"`
	FirstUse        *time.Time `json:"firstUse"`
	LastUse         *time.Time `json:"lastUse"`
	ActiveDays30    int        `json:"activeDays30"`
	ActiveDays90    int        `json:"activeDays90"`
	// Evidence is where the plan's uses were seen (empty when unused):
	// {"source":"report","report":TYPE} per usage report type and/or
	// {"source":"event"} for feature events.
	Evidence []EvidenceSource `json:"evidence"`
}

// FeatureReport is the use of a feature; Licensed says whether one of the
// plans that grant it is enabled for the user.
type FeatureReport struct {
	Feature      string     `json:"feature"`
	Workload     string     `json:"workload,omitempty"`
	Licensed     bool       `json:"licensed"`
	FirstUse     *time.Time `json:"firstUse"`
	LastUse      *time.Time `json:"lastUse"`
	ActiveDays30 int        `json:"activeDays30"`
	ActiveDays90 int        `json:"activeDays90"`
	// Evidence is where the feature's uses were seen (see PlanReport).
	Evidence []EvidenceSource `json:"evidence"`
}

// MailboxReport is the mailbox facts.
type MailboxReport struct {
	RecipientType      string  `json:"recipientType,omitempty"`
	StorageUsedInBytes *int64  `json:"storageUsedInBytes"`
	HasArchive         *bool   `json:"hasArchive"`
	LitigationHold     *bool   `json:"litigationHold"`
	ReportRefreshDate  *string `json:"reportRefreshDate"`
	// DirectSignIns are sign-ins to a shared mailbox's own account (a shared
	// mailbox signed into directly needs its own license).
	DirectSignIns *SignInReport `json:"directSignIns,omitempty"`
}

// measurable is every servicePlanId some curated feature names.
var measurable = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range ft.tab[1:] {
		for _, p := range f.plans {
			m[p] = true
		}
	}
	return m
}()

// UserReportOf returns a user's usage (by id or userPrincipalName) as of day
// asOf; false if the tenant has no such user and no usage for that id.
// Call inside Tenant.Read.
func UserReportOf(s *tenant.State, idOrUPN string, asOf Day) (UserReport, bool) {
	e := s.Engine
	user, ok := e.User(idOrUPN)
	if !ok {
		user, ok = e.UserByUPN(idOrUPN)
	}
	if !ok {
		user, ok = e.User(strings.ToLower(idOrUPN))
	}
	id := user.ID
	a := Of(s)
	u, _ := a.User(id)
	if !ok { // a user no longer in the tenant: the usage alone
		var has bool
		if u, has = a.User(idOrUPN); !has {
			return UserReport{}, false
		}
		id = idOrUPN
	}
	rep := UserReport{ID: id, UserPrincipalName: user.UserPrincipalName, AsOf: asOf.String(),
		Licenses: licenses(s, id, u), ServicePlans: []PlanReport{}, Features: []FeatureReport{}, Workloads: map[string]string{},
		WorkloadEvidence: map[string][]EvidenceSource{}}
	rep.SignIns = signInReport(u.SignIns, asOf)

	// Enabled plans of the seats held.
	enabled := map[string]bool{}
	var planOrder []string
	for _, l := range rep.Licenses {
		for _, p := range e.EnabledPlans(id, l.SKUID) {
			if !enabled[p] {
				enabled[p] = true
				planOrder = append(planOrder, p)
			}
		}
	}
	listed := map[string]bool{}
	addPlan := func(p string) {
		if listed[p] {
			return
		}
		listed[p] = true
		pr := PlanReport{ServicePlanID: p, Enabled: enabled[p], Evidence: []EvidenceSource{}}
		if cp, ok := catalog.Default().Plan(p); ok {
			pr.ServicePlanName = cp.Name
		}
		if use, ok := u.Plan(p); ok {
			pr.FirstUse, pr.LastUse = timePtr(use.First), timePtr(use.Last)
			pr.ActiveDays30, pr.ActiveDays90 = use.Days.Count(asOf, 30), use.Days.Count(asOf, 90)
			pr.Evidence = use.Evidence.Sources()
		}
		rep.ServicePlans = append(rep.ServicePlans, pr)
	}
	for _, p := range planOrder {
		if measurable[p] {
			addPlan(p)
		}
	}
	workloadEvidence := map[string]Evidence{}
	for _, f := range u.Features {
		fr := FeatureReport{Feature: f.Feature, Workload: f.Workload, FirstUse: timePtr(f.First), LastUse: timePtr(f.Last),
			ActiveDays30: f.Days.Count(asOf, 30), ActiveDays90: f.Days.Count(asOf, 90), Evidence: f.Evidence.Sources()}
		for _, p := range f.Plans {
			if enabled[p] {
				fr.Licensed = true
			}
		}
		if f.Workload == "" { // an event named the plan: list it even if not held
			for _, p := range f.Plans {
				addPlan(p)
			}
		}
		rep.Features = append(rep.Features, fr)
		if f.Workload != "" {
			d := DayOf(f.Last).String()
			if d > rep.Workloads[f.Workload] {
				rep.Workloads[f.Workload] = d
			}
			workloadEvidence[f.Workload] |= f.Evidence
		}
	}
	for w, ev := range workloadEvidence {
		rep.WorkloadEvidence[w] = ev.Sources()
	}
	sort.SliceStable(rep.ServicePlans, func(i, j int) bool { return rep.ServicePlans[i].ServicePlanName < rep.ServicePlans[j].ServicePlanName })

	m := u.Mailbox
	shared := m.RecipientType == "SharedMailbox" || user.Kind == "sharedMailbox"
	if m.Known || m.HoldKnown || shared {
		mr := &MailboxReport{RecipientType: m.RecipientType}
		if m.Known {
			n, arch, d := m.StorageUsedBytes, m.HasArchive, m.ReportDate.String()
			mr.StorageUsedInBytes, mr.HasArchive, mr.ReportRefreshDate = &n, &arch, &d
		}
		if m.HoldKnown {
			h := m.LitigationHold
			mr.LitigationHold = &h
		}
		if shared {
			if mr.RecipientType == "" {
				mr.RecipientType = "SharedMailbox"
			}
			si := signInReport(u.SignIns, asOf)
			mr.DirectSignIns = &si
		}
		rep.Mailbox = mr
	}
	return rep, true
}

func signInReport(s SignInFacts, asOf Day) SignInReport {
	return SignInReport{FirstDateTime: timePtr(s.First), LastDateTime: timePtr(s.Last),
		LastInteractiveDateTime: timePtr(s.LastInteractive), ActiveDays30: s.Days.Count(asOf, 30), ActiveDays90: s.Days.Count(asOf, 90)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
