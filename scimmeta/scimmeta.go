// Package scimmeta is the tenant state SCIM keeps beside the engine's: when
// a user or a group was last changed through SCIM (meta.lastModified) and a
// group's externalId (a user's lives in User.Attributes), stored as the
// objects of kinds scimUser and scimGroup in a tenant extension. api/scim
// reads and writes it; it is persisted tenant state, so it lives outside
// the API package.
package scimmeta

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"time"

	"allot/store"
	"allot/tenant"
)

// SCIM keeps what the engine has no field for in a tenant extension,
// in both copies of the tenant like everything else: when a user or a
// group was last changed through SCIM (meta.lastModified), and a group's
// externalId (a user's lives in User.Attributes). An object changed only
// through Graph keeps the time of its last SCIM change (or its creation).
const (
	extName              = "scim"
	UserKind  store.Kind = "scimUser"
	GroupKind store.Kind = "scimGroup"
)

// Meta is the stored SCIM data of one user or group.
type Meta struct {
	ExternalID   string    `json:"externalId,omitempty"`
	LastModified time.Time `json:"lastModified"`
}

// Store is the extension's value in one copy of a tenant. It is
// changed only inside Tenant.Do and read inside Tenant.Read.
type Store struct {
	objs  map[store.Kind]map[string]Meta
	byExt map[string][]string // group externalId -> group ids, sorted
}

// Extension is the SCIM data as a tenant extension; a runtime that serves
// SCIM lists it in tenant.Options.Extensions.
var Extension = tenant.NewExtension(tenant.ExtensionType[*Store]{
	Name:  extName,
	Kinds: []store.Kind{UserKind, GroupKind},
	New:   newStore,
	Load: func(v *Store, o store.Object) error {
		var m Meta
		if err := json.Unmarshal(o.Body, &m); err != nil {
			return err
		}
		v.set(o.Kind, o.ID, m)
		return nil
	},
	Remove: (*Store).forget,
	Clone:  (*Store).clone,
})

// clone copies the store for a tenant snapshot (the id lists of byExt are
// changed in place, so they are copied too).
func (m *Store) clone() *Store {
	c := &Store{objs: make(map[store.Kind]map[string]Meta, len(m.objs)), byExt: make(map[string][]string, len(m.byExt))}
	for k, objs := range m.objs {
		c.objs[k] = maps.Clone(objs)
	}
	for k, ids := range m.byExt {
		c.byExt[k] = slices.Clone(ids)
	}
	return c
}

func newStore() *Store {
	return &Store{objs: map[store.Kind]map[string]Meta{UserKind: {}, GroupKind: {}}, byExt: map[string][]string{}}
}

// Of is the extension's value in a copy of the tenant.
func Of(s *tenant.State) *Store { return tenant.Ext(s, Extension) }

// Get is an object's SCIM data (zero when it has none).
func (m *Store) Get(kind store.Kind, id string) Meta { return m.objs[kind][id] }

func (m *Store) set(kind store.Kind, id string, v Meta) {
	if kind == GroupKind {
		m.unindex(id, m.objs[kind][id].ExternalID)
		if v.ExternalID != "" {
			ids := m.byExt[v.ExternalID]
			i := sort.SearchStrings(ids, id)
			m.byExt[v.ExternalID] = append(ids[:i], append([]string{id}, ids[i:]...)...)
		}
	}
	m.objs[kind][id] = v
}

func (m *Store) unindex(id, ext string) {
	if ext == "" {
		return
	}
	ids := m.byExt[ext]
	if i := sort.SearchStrings(ids, id); i < len(ids) && ids[i] == id {
		ids = append(ids[:i:i], ids[i+1:]...)
	}
	if len(ids) == 0 {
		delete(m.byExt, ext)
	} else {
		m.byExt[ext] = ids
	}
}

// Put records an object's SCIM data in the copy and in the store.
func (m *Store) Put(tx *tenant.Tx, kind store.Kind, id string, v Meta) error {
	m.set(kind, id, v)
	return tx.Persist(kind, id, v)
}

// Drop forgets a deleted object.
func (m *Store) Drop(tx *tenant.Tx, kind store.Kind, id string) {
	if _, ok := m.objs[kind][id]; ok {
		m.forget(kind, id)
		tx.Unpersist(kind, id)
	}
}

// forget removes an object's SCIM data from the copy.
func (m *Store) forget(kind store.Kind, id string) {
	if old, ok := m.objs[kind][id]; ok {
		if kind == GroupKind {
			m.unindex(id, old.ExternalID)
		}
		delete(m.objs[kind], id)
	}
}

// LastModified is an object's last SCIM change, or its creation.
func (m *Store) LastModified(kind store.Kind, id string, created time.Time) time.Time {
	if t := m.objs[kind][id].LastModified; t.After(created) {
		return t
	}
	return created
}

// GroupsByExternalID returns the groups with an externalId (exact match;
// externalId is caseExact).
func (m *Store) GroupsByExternalID(ext string) []string { return m.byExt[ext] }
