package position

import (
	"sort"
	"time"

	"allot"
	"allot/usage"
)

// Find returns the snapshot named by ref: a snapshot id, or a date
// (YYYY-MM-DD: the last snapshot taken as of that day or earlier).
func Find(snaps []Snapshot, ref string) (Snapshot, bool) {
	for _, s := range snaps {
		if s.ID == ref {
			return s, true
		}
	}
	if _, err := ParseDay(ref); err != nil {
		return Snapshot{}, false
	}
	best := -1
	for i, s := range snaps {
		if s.AsOf <= ref && (best < 0 || s.AsOf >= snaps[best].AsOf) {
			best = i
		}
	}
	if best < 0 {
		return Snapshot{}, false
	}
	return snaps[best], true
}

// History returns the seats assigned per product by day (the last
// snapshot of each day), oldest first, for Input.History.
func History(snaps []Snapshot) []HistoryPoint {
	byDay := map[string]Snapshot{}
	for _, s := range snaps {
		byDay[s.AsOf] = s // snaps are in time order: the last wins
	}
	var out []HistoryPoint
	for day, s := range byDay {
		d, err := ParseDay(day)
		if err != nil {
			continue
		}
		h := HistoryPoint{Day: d, Assigned: map[string]int{}}
		for _, r := range s.SKUs {
			h.Assigned[r.SKUID] = r.Assigned
		}
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day < out[j].Day })
	return out
}

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (usage.Day, error) {
	t, err := parseDate(s)
	if err != nil {
		return 0, err
	}
	return usage.DayOf(t), nil
}

func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, allot.Errorf(allot.EINVALID, "%q is not a date (YYYY-MM-DD).", s)
	}
	return t, nil
}
