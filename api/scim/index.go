package scim

import (
	"slices"
	"sync"

	"allot/licensing"
	"allot/scimmeta"
	"allot/tenant"
)

// usersByExternalID is a read-side index (tenant.Index) of users by
// externalId, so that the existence check identity providers make before
// every create (filter=externalId eq "...") is a map lookup, not a scan.
// It lives on the readers' copy and follows each committed batch's delta;
// it needs no lock of its own (tenant.Index contract).
type usersByExternalID struct {
	ids map[string][]string // externalId -> user ids, sorted
	of  map[string]string   // user id -> externalId
}

var extIndexKey = tenant.NewIndexKey("scim/usersByExternalId", func(s *tenant.State) *usersByExternalID {
	x := &usersByExternalID{ids: map[string][]string{}, of: map[string]string{}}
	s.Engine.ForEachUser(func(u *licensing.User) bool {
		x.add(u.ID, u.Attributes[keyExternalID])
		return true
	})
	return x
})

func userExtIndex(s *tenant.State) *usersByExternalID { return tenant.IndexOf(s, extIndexKey) }

func (x *usersByExternalID) add(id, ext string) {
	if ext == "" {
		return
	}
	ids := x.ids[ext]
	if i, found := slices.BinarySearch(ids, id); !found {
		x.ids[ext] = slices.Insert(ids, i, id)
	}
	x.of[id] = ext
}

func (x *usersByExternalID) remove(id string) {
	ext, ok := x.of[id]
	if !ok {
		return
	}
	delete(x.of, id)
	ids := x.ids[ext]
	if i, found := slices.BinarySearch(ids, id); found {
		ids = slices.Delete(slices.Clone(ids), i, i+1)
	}
	if len(ids) == 0 {
		delete(x.ids, ext)
	} else {
		x.ids[ext] = ids
	}
}

// Update follows the users a committed batch wrote or deleted.
func (x *usersByExternalID) Update(s *tenant.State, d licensing.Delta) {
	for id := range d.Users {
		u, ok := s.Engine.User(id)
		if ok && u.Attributes[keyExternalID] == x.of[id] {
			continue
		}
		x.remove(id)
		if ok {
			x.add(id, u.Attributes[keyExternalID])
		}
	}
}

// lookup returns the users with an externalId (exact match).
func (x *usersByExternalID) lookup(ext string) []string { return x.ids[ext] }

// groupVersions caches group versions on the readers' copy: computing one
// reads every member id, so it is done once per change rather than once
// per request. A committed batch drops the versions of the groups it
// wrote (displayName, externalId — SCIM writes the group when externalId
// changes — and members). Concurrent readers fill the cache; the mutex is
// held while computing so that a burst of requests after a change (a
// provisioning run adding members) computes a version once.
type groupVersions struct {
	mu sync.Mutex
	v  map[string]string
}

var versionIndexKey = tenant.NewIndexKey("scim/groupVersions", func(*tenant.State) *groupVersions {
	return &groupVersions{v: map[string]string{}}
})

func groupVersionCache(s *tenant.State) *groupVersions { return tenant.IndexOf(s, versionIndexKey) }

// of returns the version of a group of the readers' copy.
func (x *groupVersions) of(s *tenant.State, g *licensing.Group) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	v, ok := x.v[g.ID]
	if !ok {
		v = groupVersion(s.Engine, g, scimmeta.Of(s).Get(scimmeta.GroupKind, g.ID).ExternalID)
		x.v[g.ID] = v
	}
	return v
}

// Update drops the versions of the groups a committed batch changed.
func (x *groupVersions) Update(_ *tenant.State, d licensing.Delta) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for id := range d.Groups {
		delete(x.v, id)
	}
	for k := range d.Members {
		delete(x.v, k[0])
	}
}
