package tenant

import (
	"encoding/json"
	"fmt"
	"sync"

	"allot/store"
)

// An extension is typed tenant state owned by another package (usage
// aggregates, SCIM metadata, position snapshots): changed only by commands
// (on the writer's copy), persisted as store objects of the kinds it
// declares, and rebuilt from them: at load, object by object (Load), and
// on the readers' copy from each committed change's objects (Load for an
// object written, Remove for one deleted). So what a command persists
// must be all a reader needs: an extension's value built from its stored
// objects must answer every query as the value the commands changed.
type ExtensionType struct {
	// Name identifies the extension (State.Ext(name)).
	Name string
	// Kinds are the store kinds whose objects belong to the extension.
	Kinds []store.Kind
	// New returns an empty value of the extension for one copy.
	New func() any
	// Load adds one stored object to a value made by New, or replaces
	// the object of that kind and id that the value holds.
	Load func(v any, o store.Object) error
	// Remove forgets a deleted object (nil: the extension keeps nothing
	// of deleted objects in memory).
	Remove func(v any, kind store.Kind, id string)
	// Clone returns an independent copy of a value, for State.Snapshot:
	// nothing either changes afterwards may show in the other.
	Clone func(v any) any
}

var (
	extMu     sync.RWMutex
	extTypes  = map[string]ExtensionType{}
	extByKind = map[store.Kind]string{}
)

// RegisterExtension declares an extension; call it from an init function.
// It panics on a duplicate name or kind (a programming error).
func RegisterExtension(t ExtensionType) {
	extMu.Lock()
	defer extMu.Unlock()
	if t.New == nil || t.Load == nil || t.Clone == nil {
		panic("tenant: extension " + t.Name + " lacks New, Load or Clone")
	}
	if _, dup := extTypes[t.Name]; dup {
		panic("tenant: extension registered twice: " + t.Name)
	}
	for _, k := range t.Kinds {
		if other, dup := extByKind[k]; dup {
			panic(fmt.Sprintf("tenant: kind %s claimed by %s and %s", k, other, t.Name))
		}
		extByKind[k] = t.Name
	}
	extTypes[t.Name] = t
}

// Ext returns the tenant's value of a registered extension (created empty
// on first use). Change it only inside Tenant.Do.
func (s *State) Ext(name string) any {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if v, ok := s.exts[name]; ok {
		return v
	}
	extMu.RLock()
	t, ok := extTypes[name]
	extMu.RUnlock()
	if !ok {
		panic("tenant: unknown extension " + name)
	}
	if s.exts == nil {
		s.exts = make(map[string]any)
	}
	v := t.New()
	s.exts[name] = v
	return v
}

// loadExtObject routes a stored object to its extension; false if no
// extension owns the kind.
func (s *State) loadExtObject(o store.Object) (bool, error) {
	extMu.RLock()
	name, ok := extByKind[o.Kind]
	t := extTypes[name]
	extMu.RUnlock()
	if !ok {
		return false, nil
	}
	return true, t.Load(s.Ext(name), o)
}

// Persist writes an extension's object to the store without keeping its
// JSON in memory (the extension holds the typed value); the readers' copy
// loads it from the committed change (ExtensionType.Load).
func (tx *Tx) Persist(kind store.Kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Body: b})
	return nil
}

// Unpersist deletes an extension's object from the store.
func (tx *Tx) Unpersist(kind store.Kind, id string) {
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Delete: true})
}
