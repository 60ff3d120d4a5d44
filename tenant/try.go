package tenant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"allot"
	"allot/licensing"
	"allot/store"
)

// Try runs fn between two batches on the last committed state, twice:
// before is the readers' copy, which fn must only read; after is the
// writer's copy, which fn may change as commands do, through a Tx on it
// (Tx{State: after, Op: …}): engine commands, Put and Delete. When fn
// returns, everything it changed is set back: a what-if costs its
// commands, not a copy of the tenant (State.Snapshot: seconds at a
// million users).
//
// The set-back (see licensing's rewind.go): the engine records the delta
// of fn's commands names are read from the readers' copy and applied to
// the writer's (State.apply, as a committed change is), the engine's
// clock goes back and the pools fn's commands created go
// (Engine.Rewind), the objects fn put or deleted get their bodies back,
// and indexes built on the writer's copy meanwhile are dropped. Then the
// writer's copy is checked to be the readers' again in what fn changed
// (licensing.DiffChanged, the objects' bodies), at the cost of the
// change. If fn changed an extension's objects (Persist, PersistRaw,
// Unpersist) or a custom product, or deleted a user (put back, it would
// come last in the engine's order), the writer's copy is dropped instead
// and made anew from the readers' before the next command (catchUp),
// which is always right and costs one copy; so it is, logged as an error
// (a bug), if fn panicked or the set-back fails or its check finds a
// difference.
//
// Nothing fn does is committed: its Tx's mutations and audit entries are
// dropped. The tenant's commands wait while fn runs (readers do not): fn
// should be quick. fn must not keep before or after, nor call the
// tenant's commands (they would wait for it). A tenant with problems
// (read-only) may be tried. Try returns fn's error (EINTERNAL if it
// panicked), or ctx's, ErrClosed, ENOTFOUND as Do does.
func (t *Tenant) Try(ctx context.Context, fn func(before, after *State) error) error {
	return t.do(ctx, &command{try: fn})
}

// What Try does not set back but replaces (logged as information).
var (
	errDeletedUser = errors.New("a user was deleted")
	errExtension   = errors.New("an extension's objects changed")
)

// undoLog is what a what-if changed of a copy's objects (State.put and
// del note them; Tx.Persist and the like note that an extension changed).
type undoLog struct {
	prev map[objKey]prevBody
	ext  bool
}

type objKey struct {
	kind store.Kind
	id   string
}

type prevBody struct {
	body []byte
	ok   bool
}

// note records an object's body before its first change (nil log: no
// what-if runs).
func (u *undoLog) note(s *State, kind store.Kind, id string) {
	if u == nil {
		return
	}
	k := objKey{kind, id}
	if _, seen := u.prev[k]; seen {
		return
	}
	if u.prev == nil {
		u.prev = map[objKey]prevBody{}
	}
	b, ok := s.objects[kind][id]
	u.prev[k] = prevBody{b, ok}
}

// noteExt records that an extension's objects changed.
func (u *undoLog) noteExt() {
	if u != nil {
		u.ext = true
	}
}

// runTry runs a Try on the writer goroutine.
func (t *Tenant) runTry(fn func(before, after *State) error) (err error) {
	t.catchUp(licensing.Op{Actor: "(a what-if)"})
	t.written = time.Now()
	if d := t.writer.Engine.TakeDelta(); !d.Empty() { // between batches nothing is pending
		t.rt.log.Error("the writer's copy had changes pending between two batches; it is made anew", "tenant", t.ID)
		t.writer, t.behind = nil, true
		t.catchUp(licensing.Op{Actor: "(a what-if)"})
	}
	w := t.writer
	w.undo = &undoLog{}
	w.idxMu.Lock()
	had := make(map[*indexType]bool, len(w.indexes))
	for k := range w.indexes {
		had[k] = true
	}
	w.idxMu.Unlock()
	panicked := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.rt.log.Error("a what-if panicked", "tenant", t.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				panicked = true
				err = allot.Errorf(allot.EINTERNAL, "An internal error occurred; nothing was changed.")
			}
		}()
		err = fn(t.reader, w) // only this goroutine changes the readers' copy
	}()
	undo := w.undo
	w.undo = nil
	d := w.Engine.TakeDelta()
	why := errors.New("it panicked")
	if !panicked {
		why = func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("the set-back panicked: %v\n%s", r, debug.Stack())
				}
			}()
			return t.setBack(w, &d, undo, had)
		}()
	}
	if why != nil {
		level := slog.LevelError // a bug
		if errors.Is(why, errDeletedUser) || errors.Is(why, errExtension) {
			level = slog.LevelInfo
		}
		t.rt.log.Log(context.Background(), level, "a what-if's changes are not set back: the writer's copy is made anew from the readers'", "tenant", t.ID, "why", why)
		t.writer, t.behind = nil, true
	}
	return err
}

// setBack brings the writer's copy w back to the readers' copy after a
// what-if changed d (the engine) and undo (the objects); see Try. An error
// leaves w half-changed.
func (t *Tenant) setBack(w *State, d *licensing.Delta, undo *undoLog, had map[*indexType]bool) error {
	if undo.ext {
		return errExtension
	}
	for k := range undo.prev {
		if k.kind == store.KindProduct {
			return fmt.Errorf("a custom product changed: %w", errExtension)
		}
	}
	r := t.reader
	for id := range d.Users {
		if _, had := r.Engine.User(id); had {
			if _, has := w.Engine.User(id); !has {
				// Put back, it would come last in the engine's order
				// (ForEachUser), not where the readers' copy has it.
				return errDeletedUser
			}
		}
	}
	if !d.Empty() {
		c, err := restoreChange(r.Engine, d)
		if err != nil {
			return err
		}
		if _, err := w.apply(&c, r.Engine.Clock(), t.rt.cat); err != nil {
			return err
		}
	}
	if err := w.Engine.Rewind(r.Engine, d); err != nil {
		return err
	}
	w.Engine.TakeDelta()
	if diff := licensing.DiffChanged(w.Engine, r.Engine, d); diff != "" {
		return fmt.Errorf("the engine differs from the readers' after the set-back: %s", diff)
	}
	for k, p := range undo.prev {
		if p.ok {
			w.put(k.kind, k.id, p.body)
		} else {
			w.del(k.kind, k.id)
		}
		b, ok := r.objects[k.kind][k.id]
		if c, cok := w.objects[k.kind][k.id]; ok != cok || !bytes.Equal(b, c) {
			return fmt.Errorf("%s %s differs from the readers' after the set-back", k.kind, k.id)
		}
	}
	w.idxMu.Lock()
	for k := range w.indexes {
		if !had[k] {
			delete(w.indexes, k)
		}
	}
	w.idxMu.Unlock()
	return nil
}

// restoreChange is the change that sets back what d names to before's
// values: each object's value in before, or its deletion when before has
// none (units of a pool before has not are left to Engine.Rewind).
func restoreChange(before *licensing.Engine, d *licensing.Delta) (store.Change, error) {
	back := *d
	if len(d.Members) > 0 {
		back.Members = make(map[licensing.Key2]bool, len(d.Members))
		for k := range d.Members {
			back.Members[k] = before.IsMember(k[0], k[1])
		}
	}
	ms, err := appendEngine(make([]store.Mutation, 0, engineObjects(d)+len(d.Pools)+len(d.Allotments)+1), before, &back, true)
	return store.Change{Mutations: ms}, err
}
