package chargeback

import (
	"slices"
	"strings"
	"time"

	"allot"
	"allot/position"
	"allot/prices"
	"allot/store"
	"allot/tenant"
)

// The trend of the chargeback over time is kept in the position snapshots
// (package position/snapshotstore): each snapshot taken with a price list
// stores, for each of the tenant's trend groupings, the monthly cost and
// seats per group (position.SnapshotCosts) — at most MaxTrendGroups
// groups a grouping, the costliest, the rest summed in Other. The trend
// groupings are the tenant's Settings.TrendBy, by default DefaultTrendBy.
// Snapshots taken before, or without a price list, have no chargeback and
// add no point to a trend.

// Settings are a tenant's chargeback settings, stored as one tenant object
// (SettingsKind, SettingsID) through Tx.Put.
type Settings struct {
	// TrendBy are the groupings whose cost per group each snapshot keeps
	// (1 to MaxTrendBy; empty: DefaultTrendBy).
	TrendBy []string `json:"trendBy"`
}

// Limits and defaults of the trend.
const (
	SettingsKind   store.Kind = "chargebackSettings"
	SettingsID     string     = "current"
	MaxTrendBy                = 5
	MaxTrendGroups            = 50
	Other                     = "(other)"
)

// DefaultTrendBy are the trend groupings of a tenant that chose none.
var DefaultTrendBy = []string{"department", "companyName", "allotment"}

// SettingsOf returns the tenant's settings, the defaults filled in. Call
// inside Tenant.Read or a command.
func SettingsOf(s *tenant.State) (Settings, error) {
	var st Settings
	if _, err := s.Decode(SettingsKind, SettingsID, &st); err != nil {
		return Settings{}, err
	}
	if len(st.TrendBy) == 0 {
		st.TrendBy = slices.Clone(DefaultTrendBy)
	}
	return st, nil
}

// CheckSettings checks settings from a client: each grouping as CheckBy
// checks it, at most MaxTrendBy, no duplicates.
func CheckSettings(st Settings) error {
	if len(st.TrendBy) > MaxTrendBy {
		return allot.Errorf(allot.EINVALID, "trendBy has %d groupings; at most %d.", len(st.TrendBy), MaxTrendBy)
	}
	seen := map[string]bool{}
	for _, by := range st.TrendBy {
		if err := CheckBy(by); err != nil {
			return err
		}
		if seen[strings.ToLower(by)] {
			return allot.Errorf(allot.EINVALID, "trendBy lists %q twice.", by)
		}
		seen[strings.ToLower(by)] = true
	}
	return nil
}

// PutSettings replaces the tenant's settings with st, which CheckSettings
// has accepted. Run it inside Tenant.Do.
func PutSettings(tx *tenant.Tx, st Settings) error {
	if st.TrendBy == nil {
		st.TrendBy = []string{}
	}
	return tx.Put(SettingsKind, SettingsID, st)
}

// SnapshotCosts computes what a snapshot keeps of the chargeback: the
// cost per group of each trend grouping of the tenant. Nil without a
// price list. Call on a tenant snapshot (it walks every user once per
// grouping).
func SnapshotCosts(s *tenant.State) ([]position.SnapshotCosts, error) {
	if _, ok, err := prices.Of(s); err != nil || !ok {
		return nil, err
	}
	st, err := SettingsOf(s)
	if err != nil {
		return nil, err
	}
	out := make([]position.SnapshotCosts, 0, len(st.TrendBy))
	for _, by := range st.TrendBy {
		r, err := Compute(s, by)
		if err != nil {
			return nil, err
		}
		out = append(out, Keep(r))
	}
	return out, nil
}

// Keep reduces a report to what a snapshot keeps: the MaxTrendGroups-1
// costliest groups and Other summing the rest (all of them when they fit).
func Keep(r *Report) position.SnapshotCosts {
	c := position.SnapshotCosts{Version: position.SnapshotCostsVersion, By: r.By, Currency: r.Currency, Total: r.Total,
		Groups: make([]position.GroupCost, 0, min(len(r.Rows), MaxTrendGroups))}
	var other position.GroupCost
	var otherUnits int64
	for i, row := range r.Rows { // costliest first
		if len(r.Rows) > MaxTrendGroups && i >= MaxTrendGroups-1 {
			other.Seats += row.Seats
			otherUnits += prices.ToUnits(row.MonthlyCost)
			continue
		}
		c.Groups = append(c.Groups, position.GroupCost{Key: row.Key, Seats: row.Seats, MonthlyCost: row.MonthlyCost})
	}
	if other.Seats > 0 {
		other.Key, other.MonthlyCost = Other, prices.FromUnits(otherUnits)
		c.Groups = append(c.Groups, other)
	}
	return c
}

// TrendReport is the chargeback of one grouping over the snapshots that
// kept it: Points oldest first, and each group's seats and cost at each
// point (the same index; 0 where the group had no cost then).
type TrendReport struct {
	By     string       `json:"by"`
	Points []TrendPoint `json:"points"`
	Groups []TrendGroup `json:"groups"`
}

// TrendPoint is a snapshot's total.
type TrendPoint struct {
	SnapshotID  string    `json:"snapshotId"`
	AsOf        string    `json:"asOf"`
	TakenAt     time.Time `json:"takenDateTime"`
	Currency    string    `json:"currency"`
	MonthlyCost float64   `json:"monthlyCost"`
}

// TrendGroup is a group's seats and monthly cost at each point.
type TrendGroup struct {
	Key         string    `json:"key"`
	Seats       []int     `json:"seats"`
	MonthlyCost []float64 `json:"monthlyCost"`
}

// Trend returns the trend of grouping by over snapshots (oldest first, as
// snapshotstore.List returns them). Groups are ordered by their cost at
// the latest point, costliest first.
func Trend(snaps []position.Snapshot, by string) TrendReport {
	t := TrendReport{By: by, Points: []TrendPoint{}, Groups: []TrendGroup{}}
	var kept []*position.SnapshotCosts
	for i := range snaps {
		s := &snaps[i]
		for j := range s.Chargeback {
			c := &s.Chargeback[j]
			if c.Version != position.SnapshotCostsVersion || c.By != by {
				continue
			}
			t.Points = append(t.Points, TrendPoint{SnapshotID: s.ID, AsOf: s.AsOf, TakenAt: s.TakenAt, Currency: c.Currency, MonthlyCost: c.Total})
			kept = append(kept, c)
			break
		}
	}
	ix := map[string]int{}
	for p, c := range kept {
		for _, g := range c.Groups {
			i, ok := ix[g.Key]
			if !ok {
				i = len(t.Groups)
				ix[g.Key] = i
				t.Groups = append(t.Groups, TrendGroup{Key: g.Key, Seats: make([]int, len(kept)), MonthlyCost: make([]float64, len(kept))})
			}
			t.Groups[i].Seats[p] = g.Seats
			t.Groups[i].MonthlyCost[p] = g.MonthlyCost
		}
	}
	last := len(kept) - 1
	slices.SortStableFunc(t.Groups, func(a, b TrendGroup) int {
		if a.MonthlyCost[last] != b.MonthlyCost[last] {
			if a.MonthlyCost[last] > b.MonthlyCost[last] {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Key, b.Key)
	})
	return t
}

// Kept reports whether any snapshot keeps grouping by.
func Kept(snaps []position.Snapshot, by string) bool {
	for _, s := range snaps {
		for _, c := range s.Chargeback {
			if c.By == by {
				return true
			}
		}
	}
	return false
}
