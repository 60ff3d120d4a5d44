package tenant

import (
	"encoding/json"
	"fmt"

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
//
// An extension is declared once, as a package variable
// (NewExtension returns its key), and a runtime has it only when it is
// listed in Options.Extensions: which stored objects load as typed state
// is what the process passes, not which packages it links. Ext reads the
// value with the key, so its type is checked by the compiler.
type ExtensionType[T any] struct {
	// Name identifies the extension in errors and logs; unique in a
	// runtime.
	Name string
	// Kinds are the store kinds whose objects belong to the extension;
	// no two extensions of a runtime share one.
	Kinds []store.Kind
	// New returns an empty value of the extension for one copy.
	New func() T
	// Load adds one stored object to a value made by New, or replaces
	// the object of that kind and id that the value holds.
	Load func(v T, o store.Object) error
	// Remove forgets a deleted object (nil: the extension keeps nothing
	// of deleted objects in memory).
	Remove func(v T, kind store.Kind, id string)
	// Clone returns an independent copy of a value, for State.Snapshot:
	// nothing either changes afterwards may show in the other.
	Clone func(v T) T
}

// ExtensionKey is a declared extension of type T: what Options.Extensions
// lists and what Ext reads a state's value with.
type ExtensionKey[T any] struct{ t *extType }

// Extension is a declared extension of any type (an *ExtensionKey), the
// element of Options.Extensions.
type Extension interface{ extType() *extType }

func (k *ExtensionKey[T]) extType() *extType { return k.t }

// Name is the extension's name.
func (k *ExtensionKey[T]) Name() string { return k.t.name }

// extType is an extension with its value's type erased: what the runtime
// routes objects and copies states with.
type extType struct {
	name   string
	kinds  []store.Kind
	new    func() any
	load   func(v any, o store.Object) error
	remove func(v any, kind store.Kind, id string) // nil: nothing to forget
	clone  func(v any) any
}

// NewExtension declares an extension and returns its key; declare it once,
// as a package variable. It panics when New, Load or Clone is missing (a
// programming error). Declaring registers nothing: a runtime has the
// extension when Options.Extensions lists the key.
func NewExtension[T any](t ExtensionType[T]) *ExtensionKey[T] {
	if t.Name == "" || t.New == nil || t.Load == nil || t.Clone == nil {
		panic("tenant: extension " + t.Name + " lacks a name, New, Load or Clone")
	}
	et := &extType{
		name:  t.Name,
		kinds: t.Kinds,
		new:   func() any { return t.New() },
		load:  func(v any, o store.Object) error { return t.Load(v.(T), o) },
		clone: func(v any) any { return t.Clone(v.(T)) },
	}
	if t.Remove != nil {
		et.remove = func(v any, kind store.Kind, id string) { t.Remove(v.(T), kind, id) }
	}
	return &ExtensionKey[T]{t: et}
}

// Ext returns the state's value of extension k (created empty on first
// use). Change it only inside Tenant.Do. On a state of a runtime it panics
// when the runtime was not opened with k in Options.Extensions (a wiring
// error: the extension's stored objects were not loaded into it); on a
// state made outside a runtime (a test's) any extension is created empty.
func Ext[T any](s *State, k *ExtensionKey[T]) T {
	return s.ext(k.t).(T) // values under k.t are made by k.t.new, of type T
}

// ext returns the value of an extension, creating it on first use.
func (s *State) ext(t *extType) any {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if v, ok := s.exts[t]; ok {
		return v
	}
	if s.reg != nil && s.reg.byName[t.name] != t {
		panic("tenant: extension " + t.name + " is not in the runtime's Options.Extensions")
	}
	if s.exts == nil {
		s.exts = make(map[*extType]any)
	}
	v := t.new()
	s.exts[t] = v
	return v
}

// loadExtObject routes a stored object to its extension; false if no
// extension of the state's runtime owns the kind.
func (s *State) loadExtObject(o store.Object) (bool, error) {
	t := s.reg.owner(o.Kind)
	if t == nil {
		return false, nil
	}
	return true, t.load(s.ext(t), o)
}

// registry is what a runtime was opened with (Options.Extensions,
// Options.Indexes, Options.Maintenance), checked; every state of the
// runtime points to it.
type registry struct {
	byName      map[string]*extType
	byKind      map[store.Kind]*extType
	indexes     []*indexType
	maintenance []MaintenanceTask
}

// newRegistry checks the options' declarations: no two extensions share a
// name or a kind, no index is listed twice or shares a name.
func newRegistry(o Options) (*registry, error) {
	r := &registry{byName: map[string]*extType{}, byKind: map[store.Kind]*extType{}, maintenance: o.Maintenance}
	for _, e := range o.Extensions {
		t := e.extType()
		if _, dup := r.byName[t.name]; dup {
			return nil, fmt.Errorf("tenant: extension %s listed twice", t.name)
		}
		r.byName[t.name] = t
		for _, k := range t.kinds {
			if other, dup := r.byKind[k]; dup {
				return nil, fmt.Errorf("tenant: kind %s claimed by extensions %s and %s", k, other.name, t.name)
			}
			r.byKind[k] = t
		}
	}
	names := map[string]bool{}
	for _, x := range o.Indexes {
		t := x.indexType()
		if names[t.name] {
			return nil, fmt.Errorf("tenant: index %s listed twice", t.name)
		}
		names[t.name] = true
		r.indexes = append(r.indexes, t)
	}
	return r, nil
}

// owner is the extension that owns a kind (nil: none, or no registry).
func (r *registry) owner(k store.Kind) *extType {
	if r == nil {
		return nil
	}
	return r.byKind[k]
}

// hasIndex reports whether the runtime keeps index t (true outside a
// runtime, where every index is built on first use).
func (r *registry) hasIndex(t *indexType) bool {
	if r == nil {
		return true
	}
	for _, x := range r.indexes {
		if x == t {
			return true
		}
	}
	return false
}

// Persist writes an extension's object to the store without keeping its
// JSON in memory (the extension holds the typed value); the readers' copy
// loads it from the committed change (ExtensionType.Load).
func (tx *Tx) Persist(kind store.Kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.State.undo.noteExt()
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Body: b})
	return nil
}

// Unpersist deletes an extension's object from the store.
func (tx *Tx) Unpersist(kind store.Kind, id string) {
	tx.State.undo.noteExt()
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Delete: true})
}
