package usage

import (
	"slices"
	"strings"
	"time"
)

// Read API: what other packages (Graph, explain, the license position)
// read. Call inside Tenant.Read; the values returned are copies.

// UserUsage is one user's usage aggregates.
type UserUsage struct {
	UserID      string
	SignIns     SignInFacts
	Features    []FeatureUse // by feature, in feature-map order (plan features after)
	Mailbox     MailboxFacts
	Activations []Activation // by SKU
}

// SignInFacts are a user's sign-ins; zero times when none.
type SignInFacts struct {
	First, Last     time.Time
	LastInteractive time.Time
	Days            DaySet // the days with a sign-in
}

// FeatureUse is a user's use of one feature.
type FeatureUse struct {
	// Feature is the feature-map id (e.g. attackSimulation), or the
	// servicePlanName for events that named a service plan.
	Feature  string
	Workload string   // empty for a named service plan
	Plans    []string // servicePlanIds that grant the feature (any one)
	First    time.Time
	Last     time.Time
	Days     DaySet
	// Evidence is where the uses were seen: feature events, usage reports
	// (by type), or both.
	Evidence Evidence
}

// MailboxFacts are the latest mailbox facts (zero when no mailbox report
// or litigation-hold event named the user).
type MailboxFacts struct {
	Known            bool   // a mailbox report gave storage, type and archive
	RecipientType    string // UserMailbox, SharedMailbox, … ("" if not reported)
	StorageUsedBytes int64
	HasArchive       bool
	ReportDate       Day // refresh date of the report the facts come from
	HoldKnown        bool
	LitigationHold   bool
	HoldDate         Day
}

// Activation is when a seat the user held was first used: SKUID, the grant
// (HeldSince, to the second) it refers to, and the activity.
type Activation struct {
	SKUID     string
	Granted   time.Time
	Activated time.Time
}

// Users returns the number of users with aggregates.
func (a *Aggregates) Users() int { return a.users.len() }

// User returns a user's aggregates; false if nothing was ever recorded.
func (a *Aggregates) User(userID string) (UserUsage, bool) {
	i, ok := a.byID[userID]
	if !ok {
		return UserUsage{}, false
	}
	return a.users.at(i).view(a.skus), true
}

// ForEachUser calls fn with every user's aggregates, in no particular
// order, until fn returns false.
func (a *Aggregates) ForEachUser(fn func(UserUsage) bool) {
	for i := int32(0); i < int32(a.users.len()); i++ {
		if !fn(a.users.at(i).view(a.skus)) {
			return
		}
	}
}

// Reports returns the usage reports imported, in the order they were
// imported.
func (a *Aggregates) Reports() []ImportedReport {
	out := slices.Clone(a.meta.Reports)
	slices.SortStableFunc(out, func(x, y ImportedReport) int {
		if c := x.ImportedDateTime.Compare(y.ImportedDateTime); c != 0 {
			return c
		}
		return strings.Compare(x.Report+x.ReportRefreshDate, y.Report+y.ReportRefreshDate)
	})
	return out
}

func (u *userAgg) view(skus *skuTable) UserUsage {
	v := UserUsage{UserID: u.id}
	s := &u.signIn
	v.SignIns = SignInFacts{First: s.first.Time(), Last: s.last.Time(), LastInteractive: s.interactive.Time(), Days: s.days()}
	v.Features = make([]FeatureUse, len(u.feats))
	for i := range u.feats {
		v.Features[i] = u.feats[i].use()
	}
	v.Mailbox = u.mbx.facts()
	v.Activations = make([]Activation, len(u.acts))
	for i, a := range u.acts {
		v.Activations[i] = Activation{SKUID: skus.id(a.sku), Granted: a.held.Time(), Activated: a.at.Time()}
	}
	return v
}

// Feature returns the use of one feature (a feature-map id, or a
// servicePlanName for a named plan).
func (u UserUsage) Feature(id string) (FeatureUse, bool) {
	for _, f := range u.Features {
		if f.Feature == id {
			return f, true
		}
	}
	return FeatureUse{}, false
}

// PlanUse is a service plan's use: the union of the uses of the features
// the plan grants (through the feature map or named directly).
type PlanUse struct {
	PlanID      string // servicePlanId, lower case
	First, Last time.Time
	Days        DaySet
	Evidence    Evidence // the union of the features' evidence
}

// Plan returns the use of a service plan (servicePlanId, lower case); false
// if no feature it grants was used.
func (u UserUsage) Plan(planID string) (PlanUse, bool) {
	p := PlanUse{PlanID: planID}
	found := false
	for _, f := range u.Features {
		if !slices.Contains(f.Plans, planID) {
			continue
		}
		if !found || f.First.Before(p.First) {
			p.First = f.First
		}
		if f.Last.After(p.Last) {
			p.Last = f.Last
		}
		p.Days.Union(f.Days)
		p.Evidence |= f.Evidence
		found = true
	}
	return p, found
}

// WorkloadLastActivity returns the last day any feature of a workload
// (Exchange, OneDrive, SharePoint, Teams, VivaEngage, Skype, OfficeApps,
// EntraID, …) was used.
func (u UserUsage) WorkloadLastActivity(workload string) (Day, bool) {
	var last Day
	found := false
	for _, f := range u.Features {
		if f.Workload == workload {
			if d := DayOf(f.Last); !found || d > last {
				last = d
			}
			found = true
		}
	}
	return last, found
}

// Earliest returns the earliest activity of any kind (sign-in or feature
// use); zero if none.
func (u UserUsage) Earliest() time.Time {
	e := u.SignIns.First
	for _, f := range u.Features {
		if e.IsZero() || f.First.Before(e) {
			e = f.First
		}
	}
	return e
}
