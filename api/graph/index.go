package graph

import (
	"strings"

	"allot/licensing"
	"allot/tenant"
)

// dirIndex is the Graph surface's read-side index of a tenant's directory:
// users ordered by id, userPrincipalName and displayName, users by mail,
// users holding each SKU, and groups by id and displayName. It lives on
// the readers' copy of the state (tenant.State.Index) and is updated from
// each committed batch's delta, so listing stays fast at a million users:
// a page is a seek plus a short walk, never a sort of the whole directory.
//
// It is read under the tenant's read lock and updated under its write lock
// (tenant.Index contract), so it needs no lock of its own.
type dirIndex struct {
	usersByID   *sortedSet // K = id
	usersByUPN  *sortedSet // K = lower(userPrincipalName)
	usersByName *sortedSet // K = lower(displayName)
	usersByMail map[string][]string
	users       map[string]userKeys   // what each user is indexed under
	bySKU       map[string]*sortedSet // skuId -> K = userId of users holding a usable seat (License.Usable)

	groupsByID   *sortedSet
	groupsByName *sortedSet
	groups       map[string]string // id -> name key
	// members: groupId -> its direct members (users and groups), K =
	// member id, so that a page of a large group's members is a seek.
	members map[string]*sortedSet
}

type userKeys struct{ upn, name, mail string }

const dirIndexName = "graph/directory"

// directory returns the tenant's index, building it on first use. Call it
// inside Tenant.Read only.
func directory(s *tenant.State) *dirIndex {
	return s.Index(dirIndexName, buildDirIndex).(*dirIndex)
}

func userKeysOf(u *licensing.User) userKeys {
	return userKeys{upn: strings.ToLower(u.UserPrincipalName), name: strings.ToLower(u.DisplayName), mail: strings.ToLower(u.Mail)}
}

func buildDirIndex(s *tenant.State) tenant.Index {
	e := s.Engine
	n := e.UserCount()
	ids := make([]key, 0, n)
	upns := make([]key, 0, n)
	names := make([]key, 0, n)
	x := &dirIndex{usersByMail: map[string][]string{}, users: make(map[string]userKeys, n), bySKU: map[string]*sortedSet{},
		groups: map[string]string{}, members: map[string]*sortedSet{}}
	skus := map[string][]key{}
	e.ForEachUser(func(u *licensing.User) bool {
		k := userKeysOf(u)
		x.users[u.ID] = k
		ids = append(ids, key{K: u.ID})
		upns = append(upns, key{K: k.upn, ID: u.ID})
		names = append(names, key{K: k.name, ID: u.ID})
		if k.mail != "" {
			x.usersByMail[k.mail] = append(x.usersByMail[k.mail], u.ID)
		}
		for _, l := range e.Licenses(u.ID) {
			if l.Usable() {
				skus[l.SKUID] = append(skus[l.SKUID], key{K: u.ID}) // duplicates are dropped by newSortedSet
			}
		}
		return true
	})
	x.usersByID, x.usersByUPN, x.usersByName = newSortedSet(ids), newSortedSet(upns), newSortedSet(names)
	for sku, ks := range skus {
		x.bySKU[sku] = newSortedSet(ks)
	}
	var gids, gnames []key
	for _, id := range e.GroupIDs() {
		g, _ := e.Group(id)
		nk := strings.ToLower(g.DisplayName)
		x.groups[id] = nk
		gids = append(gids, key{K: id})
		gnames = append(gnames, key{K: nk, ID: id})
		us, gs := e.Members(id)
		if len(us)+len(gs) > 0 {
			ks := make([]key, 0, len(us)+len(gs))
			for _, m := range us {
				ks = append(ks, key{K: m})
			}
			for _, m := range gs {
				ks = append(ks, key{K: m})
			}
			x.members[id] = newSortedSet(ks)
		}
	}
	x.groupsByID, x.groupsByName = newSortedSet(gids), newSortedSet(gnames)
	return x
}

// Update applies a committed delta.
func (x *dirIndex) Update(s *tenant.State, d licensing.Delta) {
	e := s.Engine
	for id := range d.Users {
		if old, ok := x.users[id]; ok {
			x.usersByUPN.Delete(key{K: old.upn, ID: id})
			x.usersByName.Delete(key{K: old.name, ID: id})
			x.removeMail(old.mail, id)
			delete(x.users, id)
			x.usersByID.Delete(key{K: id})
		}
		if u, ok := e.User(id); ok {
			k := userKeysOf(&u)
			x.users[id] = k
			x.usersByID.Insert(key{K: id})
			x.usersByUPN.Insert(key{K: k.upn, ID: id})
			x.usersByName.Insert(key{K: k.name, ID: id})
			if k.mail != "" {
				x.usersByMail[k.mail] = append(x.usersByMail[k.mail], id)
			}
		}
	}
	for _, lk := range d.Licenses {
		// The key is (userId, pool key): skuId, or skuId/allotmentId.
		userID := lk[0]
		skuID, _, _ := strings.Cut(lk[1], "/")
		set := x.bySKU[skuID]
		if holds(s, userID, skuID) {
			if set == nil {
				set = newSortedSet(nil)
				x.bySKU[skuID] = set
			}
			set.Insert(key{K: userID})
		} else if set != nil {
			set.Delete(key{K: userID})
		}
	}
	x.updateMembers(d)
	for id := range d.Groups {
		if old, ok := x.groups[id]; ok {
			x.groupsByName.Delete(key{K: old, ID: id})
			x.groupsByID.Delete(key{K: id})
			delete(x.groups, id)
		}
		if g, ok := e.Group(id); ok {
			nk := strings.ToLower(g.DisplayName)
			x.groups[id] = nk
			x.groupsByID.Insert(key{K: id})
			x.groupsByName.Insert(key{K: nk, ID: id})
		}
	}
}

// updateMembers applies membership changes: (groupId, memberId) -> kept.
func (x *dirIndex) updateMembers(d licensing.Delta) {
	for k, put := range d.Members {
		set := x.members[k[0]]
		if put {
			if set == nil {
				set = newSortedSet(nil)
				x.members[k[0]] = set
			}
			set.Insert(key{K: k[1]})
		} else if set != nil {
			set.Delete(key{K: k[1]})
			if set.Len() == 0 {
				delete(x.members, k[0])
			}
		}
	}
}

func (x *dirIndex) removeMail(mail, id string) {
	if mail == "" {
		return
	}
	ids := x.usersByMail[mail]
	for i, v := range ids {
		if v == id {
			ids = append(ids[:i], ids[i+1:]...)
			break
		}
	}
	if len(ids) == 0 {
		delete(x.usersByMail, mail)
	} else {
		x.usersByMail[mail] = ids
	}
}
