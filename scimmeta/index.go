package scimmeta

import (
	"hash/fnv"
	"slices"
	"strconv"
	"sync"

	"allot/licensing"
	"allot/tenant"
)

// ExternalIDAttribute is the key of licensing.User.Attributes under which
// SCIM keeps a user's externalId (Graph property names are lower case).
const ExternalIDAttribute = "externalid"

// UsersWithExternalID returns the users whose externalId is ext (exact
// match), sorted; the slice is the caller's. Call it inside Tenant.Read.
func UsersWithExternalID(s *tenant.State, ext string) []string {
	return slices.Clone(tenant.IndexOf(s, UserIndex).lookup(ext))
}

// CachedGroupVersion is GroupVersion of a group of the readers' copy,
// computed once per change of the group (the groupVersions cache).
func CachedGroupVersion(s *tenant.State, g *licensing.Group) string {
	return tenant.IndexOf(s, GroupVersionIndex).of(s, g)
}

// GroupVersion hashes what a group's SCIM representation is made of:
// displayName, externalId and member ids (cheaper than rendering the
// members), so any change through SCIM or Graph changes it.
func GroupVersion(e *licensing.Engine, g *licensing.Group, externalID string) string {
	h := fnv.New64a()
	h.Write([]byte(g.DisplayName))
	h.Write([]byte{0})
	h.Write([]byte(externalID))
	users, groups := e.Members(g.ID)
	for _, id := range users {
		h.Write([]byte{0, 'u'})
		h.Write([]byte(id))
	}
	for _, id := range groups {
		h.Write([]byte{0, 'g'})
		h.Write([]byte(id))
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// usersByExternalID is a read-side index (tenant.Index) of users by
// externalId, so that the existence check identity providers make before
// every create (filter=externalId eq "...") is a map lookup, not a scan.
// It lives on the readers' copy and follows each committed batch's delta;
// it needs no lock of its own (tenant.Index contract).
type usersByExternalID struct {
	ids map[string][]string // externalId -> user ids, sorted
	of  map[string]string   // user id -> externalId
}

// UserIndex is the index of users by externalId; a runtime that serves
// SCIM lists it in tenant.Options.Indexes.
var UserIndex = tenant.NewIndexKey("scim/usersByExternalId", func(s *tenant.State) *usersByExternalID {
	x := &usersByExternalID{ids: map[string][]string{}, of: map[string]string{}}
	s.Engine.ForEachUser(func(u *licensing.User) bool {
		x.add(u.ID, u.Attributes[ExternalIDAttribute])
		return true
	})
	return x
})

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
		if ok && u.Attributes[ExternalIDAttribute] == x.of[id] {
			continue
		}
		x.remove(id)
		if ok {
			x.add(id, u.Attributes[ExternalIDAttribute])
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

// GroupVersionIndex is the cache of group versions; a runtime that serves
// SCIM lists it in tenant.Options.Indexes.
var GroupVersionIndex = tenant.NewIndexKey("scim/groupVersions", func(*tenant.State) *groupVersions {
	return &groupVersions{v: map[string]string{}}
})

// of returns the version of a group of the readers' copy.
func (x *groupVersions) of(s *tenant.State, g *licensing.Group) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	v, ok := x.v[g.ID]
	if !ok {
		v = GroupVersion(s.Engine, g, Of(s).Get(GroupKind, g.ID).ExternalID)
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
