package position

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"time"

	"allot"
	"allot/store"
	"allot/tenant"
	"allot/usage"
)

// How snapshots are stored: each is two tenant objects with the snapshot's
// id — KindSnapshot, the summary (kept in memory by the tenant extension,
// a few kilobytes), and KindSnapshotFindings, the packed finding
// references (EncodeFindings), which stay in the store and are read only
// to compare (LoadFindings). At most MaxSnapshots are kept: saving one
// more deletes the oldest.
const (
	KindSnapshot         store.Kind = "positionSnapshot"
	KindSnapshotFindings store.Kind = "positionSnapshotFindings"
	MaxSnapshots                    = 400
	extName                         = "position-snapshots"
)

type snapshots struct{ list []Snapshot } // by TakenAt, then id

func init() {
	tenant.RegisterExtension(tenant.ExtensionType{
		Name:  extName,
		Kinds: []store.Kind{KindSnapshot, KindSnapshotFindings},
		New:   func() any { return &snapshots{} },
		Load: func(v any, o store.Object) error {
			if o.Kind != KindSnapshot {
				return nil // findings stay in the store
			}
			var s Snapshot
			if err := json.Unmarshal(o.Body, &s); err != nil {
				return err
			}
			v.(*snapshots).put(s)
			return nil
		},
		// Snapshots are replaced whole, never changed in place.
		Clone: func(v any) any { return &snapshots{list: slices.Clone(v.(*snapshots).list)} },
	})
}

func (ss *snapshots) put(s Snapshot) {
	ss.list = slices.DeleteFunc(ss.list, func(x Snapshot) bool { return x.ID == s.ID })
	ss.list = append(ss.list, s)
	sort.SliceStable(ss.list, func(i, j int) bool {
		a, b := &ss.list[i], &ss.list[j]
		if !a.TakenAt.Equal(b.TakenAt) {
			return a.TakenAt.Before(b.TakenAt)
		}
		return a.ID < b.ID
	})
}

// Snapshots returns the tenant's snapshots, oldest first. Call inside
// Tenant.Read; the slice is the caller's.
func Snapshots(s *tenant.State) []Snapshot {
	return slices.Clone(s.Ext(extName).(*snapshots).list)
}

type storedFindings struct {
	Encoding string `json:"encoding"` // "gzip+tsv"
	Count    int    `json:"count"`
	Data     []byte `json:"data"`
}

// SaveSnapshot stores a snapshot and its packed findings (EncodeFindings);
// run it inside Tenant.Do with values computed before. A snapshot with the
// same id is replaced; beyond MaxSnapshots the oldest are deleted.
func SaveSnapshot(tx *tenant.Tx, snap Snapshot, findings []byte, count int) error {
	ss := tx.Ext(extName).(*snapshots)
	ss.put(snap)
	if err := tx.Persist(KindSnapshot, snap.ID, snap); err != nil {
		return err
	}
	if err := tx.Persist(KindSnapshotFindings, snap.ID, storedFindings{Encoding: "gzip+tsv", Count: count, Data: findings}); err != nil {
		return err
	}
	for len(ss.list) > MaxSnapshots {
		old := ss.list[0]
		ss.list = ss.list[1:]
		tx.Unpersist(KindSnapshot, old.ID)
		tx.Unpersist(KindSnapshotFindings, old.ID)
	}
	return nil
}

// LoadFindings reads a snapshot's finding references from the store
// (ENOTFOUND if it has none).
func LoadFindings(ctx context.Context, st store.Store, tenantID, id string) ([]FindingRef, error) {
	o, err := st.GetObject(ctx, tenantID, KindSnapshotFindings, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, allot.Errorf(allot.ENOTFOUND, "Snapshot %s has no stored findings.", id)
	}
	if err != nil {
		return nil, err
	}
	var sf storedFindings
	if err := json.Unmarshal(o.Body, &sf); err != nil {
		return nil, err
	}
	return DecodeFindings(sf.Data)
}

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
