package tenant

import (
	"encoding/json"
	"maps"
	"sort"
	"sync"
	"time"

	"allot/audit"
	"allot/licensing"
	"allot/store"
)

// State is one copy of a tenant's state: the licensing engine plus the
// tenant's other objects (subscriptions, allotments, prices, …) kept as
// JSON by kind and id. A tenant has two copies (see Tenant).
type State struct {
	Engine  *licensing.Engine
	objects map[store.Kind]map[string][]byte

	idxMu   sync.Mutex
	indexes map[*indexType]Index
	exts    map[*extType]any

	// reg is what the state's runtime was opened with (nil for a state
	// made outside a runtime).
	reg *registry

	// commit is the number of batches the tenant had published when this
	// state was that of its readers, or when the snapshot was made.
	commit uint64
	// undo, while a what-if runs on this copy (Tenant.Try), records the
	// objects it changes; nil otherwise.
	undo *undoLog

	// logSeq is the log number of the last committed change this state
	// includes (store.ChangeLog; 0: none), -1 if unknown (the store keeps
	// no numbered log). Set at load, by apply, and on the writer's copy
	// after each commit (follow.go).
	logSeq int64
	// adopted: the load adopted the stored license records instead of
	// recomputing them (derivation.go).
	adopted bool
}

// Commit says which of the tenant's commits this state is: the number of
// batches published since the tenant was loaded. It is meaningful for the
// readers' copy (inside Tenant.Read) and for a Tenant.Snapshot.
func (s *State) Commit() uint64 { return s.commit }

// LogSeq is the log number of the last committed change this state
// includes (store.ChangeLog; 0: none), or -1 if the store keeps no
// numbered log: what a reader pairs with what it read of the state (Graph's
// delta tokens). Tenant.LogSeq is the same number of the readers' copy.
func (s *State) LogSeq() int64 { return s.logSeq }

// Index is a read-side structure derived from a tenant's state (the
// directory's users sorted by a property, lookups by attribute, …): a read
// model. Every index of the runtime (Options.Indexes) is built on the
// readers' copy before that copy is published — when the tenant is loaded
// and when a bulk change is published by swapping the copies — and then
// kept up to date: after every committed batch, Update receives the
// batch's delta while readers are locked out. So no request ever builds
// one. Update must not call IndexOf, and must not keep d or its maps and
// slices: the engine reuses them for a later delta (Engine.Recycle).
type Index interface {
	Update(s *State, d licensing.Delta)
}

// IndexKey is a declared index of type T and how to build it. Declare one
// per index as a package variable (NewIndexKey), list it in
// Options.Indexes and read the index with IndexOf: the type is checked by
// the compiler, not by a cast.
type IndexKey[T Index] struct{ t *indexType }

// IndexDecl is a declared index of any type (an *IndexKey), the element of
// Options.Indexes.
type IndexDecl interface{ indexType() *indexType }

func (k *IndexKey[T]) indexType() *indexType { return k.t }

// indexType is what the runtime needs of a key to build its index.
type indexType struct {
	name  string
	build func(*State) Index
}

// NewIndexKey declares an index: name identifies it in errors (unique in a
// runtime), build derives it from a state. Declaring registers nothing: a
// runtime keeps the index when Options.Indexes lists the key.
func NewIndexKey[T Index](name string, build func(*State) T) *IndexKey[T] {
	return &IndexKey[T]{t: &indexType{name, func(s *State) Index { return build(s) }}}
}

// IndexOf returns the index k of a state. On the readers' copy (inside
// Tenant.Read) it is always there already; on a copy nothing publishes (a
// Tenant.Snapshot, a state a test makes) it is built on first use and not
// updated afterwards. On a state of a runtime not opened with k in
// Options.Indexes it panics (a wiring error: nothing would keep the index
// up to date).
func IndexOf[T Index](s *State, k *IndexKey[T]) T {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if x, ok := s.indexes[k.t]; ok {
		return x.(T) // stored under k.t only by IndexOf and buildIndexes, from k.t.build
	}
	if !s.reg.hasIndex(k.t) {
		panic("tenant: index " + k.t.name + " is not in the runtime's Options.Indexes")
	}
	if s.indexes == nil {
		s.indexes = make(map[*indexType]Index)
	}
	x := k.t.build(s)
	s.indexes[k.t] = x
	return x.(T)
}

// buildIndexes builds every index of the state's runtime anew (each one's
// build may use every core). The runtime calls it on a copy before
// publishing it to readers, while no reader can see the copy.
func (s *State) buildIndexes() {
	var types []*indexType
	if s.reg != nil {
		types = s.reg.indexes
	}
	xs := make([]Index, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Add(1)
		go func() { defer wg.Done(); xs[i] = t.build(s) }()
	}
	wg.Wait()
	built := make(map[*indexType]Index, len(types))
	for i, t := range types {
		built[t] = xs[i]
	}
	s.idxMu.Lock()
	s.indexes = built
	s.idxMu.Unlock()
}

// dropIndexes forgets every index.
func (s *State) dropIndexes() {
	s.idxMu.Lock()
	s.indexes = nil
	s.idxMu.Unlock()
}

// updateIndexes passes a committed delta to every index.
func (s *State) updateIndexes(d licensing.Delta) {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	for _, x := range s.indexes {
		x.Update(s, d)
	}
}

func newState(e *licensing.Engine, reg *registry) *State {
	return &State{Engine: e, objects: make(map[store.Kind]map[string][]byte), reg: reg}
}

// Object returns the JSON of a non-engine object.
func (s *State) Object(kind store.Kind, id string) ([]byte, bool) {
	b, ok := s.objects[kind][id]
	return b, ok
}

// Decode unmarshals a non-engine object into v; false if it does not exist.
func (s *State) Decode(kind store.Kind, id string, v any) (bool, error) {
	b, ok := s.objects[kind][id]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(b, v)
}

// IDs returns the ids of the objects of a kind, sorted.
func (s *State) IDs(kind store.Kind) []string {
	m := s.objects[kind]
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (s *State) put(kind store.Kind, id string, body []byte) {
	s.undo.note(s, kind, id)
	m := s.objects[kind]
	if m == nil {
		m = make(map[string][]byte)
		s.objects[kind] = m
	}
	m[id] = body
}

func (s *State) del(kind store.Kind, id string) {
	s.undo.note(s, kind, id)
	delete(s.objects[kind], id)
}

// Tx is what a command sees: the writer's copy of the tenant's state.
// Commands change the engine through its methods and other objects through
// Put and Delete (extensions: Persist, Unpersist). A command runs once; the
// readers' copy follows from the committed change (State.apply). A command
// that is refused after it changed something is run again with the rest
// of its batch without it (see Tenant.Do), so a command should be a
// function of the state and of values computed before it (ids, times).
type Tx struct {
	*State
	Op    licensing.Op
	muts  []store.Mutation
	audit []audit.Entry
}

// changed reports whether the command behind tx changed anything: an
// engine command (each advances the engine clock before its first change;
// clock is the engine's clock before the command), an object or extension
// write, or an audit entry.
func (tx *Tx) changed(clock time.Time) bool {
	return !tx.Engine.Clock().Equal(clock) || len(tx.muts) > 0 || len(tx.audit) > 0
}

// Put writes a non-engine object (any JSON-marshalable value).
func (tx *Tx) Put(kind store.Kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tx.State.put(kind, id, b)
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Body: b})
	return nil
}

// Delete removes a non-engine object.
func (tx *Tx) Delete(kind store.Kind, id string) {
	tx.State.del(kind, id)
	tx.muts = append(tx.muts, store.Mutation{Kind: kind, ID: id, Delete: true})
}

// Audit records an audit entry for a change outside the engine.
func (tx *Tx) Audit(e audit.Entry) {
	if e.At.IsZero() {
		e.At = tx.Op.Now
	}
	if e.Actor == "" {
		e.Actor = tx.Op.Actor
	}
	tx.audit = append(tx.audit, e)
}

// Snapshot returns an independent copy of the state. Tenant.Snapshot uses
// it on the writer's copy, for a long computation that must see one commit
// but should not run inside Tenant.Read (which blocks commits, and new
// readers behind them); the runtime also makes the readers' copy at
// start-up with it. The copy has the engine (Engine.Clone), the objects and every
// extension (ExtensionType.Clone) of s, and no indexes (IndexOf builds
// them on the copy, where nothing updates them). It costs about what a
// second engine costs in memory while it is kept; at a million users,
// about a second to take.
func (s *State) Snapshot() *State {
	c := newState(s.Engine.Clone(), s.reg)
	c.commit = s.commit
	c.logSeq = s.logSeq
	for kind, m := range s.objects {
		c.objects[kind] = maps.Clone(m) // bodies are replaced, never written
	}
	s.idxMu.Lock()
	exts := maps.Clone(s.exts)
	s.idxMu.Unlock()
	if len(exts) > 0 {
		c.exts = make(map[*extType]any, len(exts))
		for t, v := range exts {
			c.exts[t] = t.clone(v)
		}
	}
	return c
}
