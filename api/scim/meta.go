package scim

import (
	"encoding/json"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// SCIM keeps what the engine has no field for in a tenant extension,
// in both copies of the tenant like everything else: when a user or a
// group was last changed through SCIM (meta.lastModified), and a group's
// externalId (a user's lives in User.Attributes). An object changed only
// through Graph keeps the time of its last SCIM change (or its creation).
const (
	extName             = "scim"
	userKind store.Kind = "scimUser"
	grpKind  store.Kind = "scimGroup"
)

// objMeta is the stored SCIM data of one user or group.
type objMeta struct {
	ExternalID   string    `json:"externalId,omitempty"`
	LastModified time.Time `json:"lastModified"`
}

// metaStore is the extension's value in one copy of a tenant. It is
// changed only inside Tenant.Do and read inside Tenant.Read.
type metaStore struct {
	objs  map[store.Kind]map[string]objMeta
	byExt map[string][]string // group externalId -> group ids, sorted
}

func init() {
	tenant.RegisterExtension(tenant.ExtensionType{
		Name:  extName,
		Kinds: []store.Kind{userKind, grpKind},
		New:   func() any { return newMetaStore() },
		Load: func(v any, o store.Object) error {
			var m objMeta
			if err := json.Unmarshal(o.Body, &m); err != nil {
				return err
			}
			v.(*metaStore).set(o.Kind, o.ID, m)
			return nil
		},
		Clone: func(v any) any { return v.(*metaStore).clone() },
	})
}

// clone copies the store for a tenant snapshot (the id lists of byExt are
// changed in place, so they are copied too).
func (m *metaStore) clone() *metaStore {
	c := &metaStore{objs: make(map[store.Kind]map[string]objMeta, len(m.objs)), byExt: make(map[string][]string, len(m.byExt))}
	for k, objs := range m.objs {
		c.objs[k] = maps.Clone(objs)
	}
	for k, ids := range m.byExt {
		c.byExt[k] = slices.Clone(ids)
	}
	return c
}

func newMetaStore() *metaStore {
	return &metaStore{objs: map[store.Kind]map[string]objMeta{userKind: {}, grpKind: {}}, byExt: map[string][]string{}}
}

func metaOf(s *tenant.State) *metaStore { return s.Ext(extName).(*metaStore) }

func (m *metaStore) get(kind store.Kind, id string) objMeta { return m.objs[kind][id] }

func (m *metaStore) set(kind store.Kind, id string, v objMeta) {
	if kind == grpKind {
		m.unindex(id, m.objs[kind][id].ExternalID)
		if v.ExternalID != "" {
			ids := m.byExt[v.ExternalID]
			i := sort.SearchStrings(ids, id)
			m.byExt[v.ExternalID] = append(ids[:i], append([]string{id}, ids[i:]...)...)
		}
	}
	m.objs[kind][id] = v
}

func (m *metaStore) unindex(id, ext string) {
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

// put records an object's SCIM data in the copy and, on the writer's copy,
// in the store.
func (m *metaStore) put(tx *tenant.Tx, kind store.Kind, id string, v objMeta) error {
	m.set(kind, id, v)
	return tx.Persist(kind, id, v)
}

// drop forgets a deleted object.
func (m *metaStore) drop(tx *tenant.Tx, kind store.Kind, id string) {
	if old, ok := m.objs[kind][id]; ok {
		if kind == grpKind {
			m.unindex(id, old.ExternalID)
		}
		delete(m.objs[kind], id)
		tx.Unpersist(kind, id)
	}
}

// lastModified is an object's last SCIM change, or its creation.
func (m *metaStore) lastModified(kind store.Kind, id string, created time.Time) time.Time {
	if t := m.objs[kind][id].LastModified; t.After(created) {
		return t
	}
	return created
}

// groupsByExternalID returns the groups with an externalId (exact match;
// externalId is caseExact).
func (m *metaStore) groupsByExternalID(ext string) []string { return m.byExt[ext] }

// Versions are weak entity tags (RFC 7644 §3.14) derived from content, so
// that any change — through SCIM or Graph — changes them and an unchanged
// resource keeps its tag.

// userVersion hashes a user's representation (without meta).
func userVersion(d doc) string {
	b, _ := json.Marshal(d) // maps marshal with sorted keys: deterministic
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 16)
}

// groupVersion hashes what a group's representation is made of:
// displayName, externalId and member ids (cheaper than rendering the
// members).
func groupVersion(e *licensing.Engine, g *licensing.Group, externalID string) string {
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

func etag(version string) string { return `W/"` + version + `"` }

// etagMatches reports whether an If-Match or If-None-Match header value
// ("*" or a list of entity tags) matches a version, comparing weakly.
func etagMatches(header, version string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == version {
			return true
		}
	}
	return false
}
