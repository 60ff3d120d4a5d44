package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"allot"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// errRefused is what randomCommand's commands return after a change.
var errRefused = errors.New("refused after a change")

// logCapture keeps the messages a runtime logs at level Warn and above.
type logCapture struct {
	mu   sync.Mutex
	msgs []string
}

func (c *logCapture) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	msg := r.Level.String() + " " + r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	c.msgs = append(c.msgs, msg)
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

// take returns and forgets the messages of level at least min.
func (c *logCapture) take(min slog.Level) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		lv, _, _ := strings.Cut(m, " ")
		var l slog.Level
		if l.UnmarshalText([]byte(lv)) == nil && l >= min {
			out = append(out, m)
		}
	}
	c.msgs = nil
	return out
}

// copiesOf checks, between two batches, that the writer's copy exists (it
// was not dropped) and is the readers' copy exactly: licensing.Diff, the
// queries' answers, the objects.
func copiesOf(t *testing.T, tn *Tenant, what string) {
	t.Helper()
	err := tn.Between(context.Background(), func() error {
		if tn.writer == nil || tn.behind {
			return errors.New("the writer's copy was dropped")
		}
		if d := licensing.Diff(tn.writer.Engine, tn.reader.Engine); d != "" {
			return errors.New("engines differ: " + d)
		}
		if w, r := fingerprint(tn.writer.Engine), fingerprint(tn.reader.Engine); w != r {
			i := 0
			for i < len(w) && i < len(r) && w[i] == r[i] {
				i++
			}
			from := max(0, i-300)
			return fmt.Errorf("the engines' queries answer differently at byte %d:\nwriter  …%s\nreaders …%s", i, w[from:min(len(w), i+200)], r[from:min(len(r), i+200)])
		}
		if objectsFingerprint(tn.writer) != objectsFingerprint(tn.reader) {
			return errors.New("objects differ")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// A Try's commands run on the writer's copy and are set back exactly:
// random tenants (random committed commands, refusals included) and
// random command lists tried on them — users put and created, memberships,
// nested groups, group and direct licenses, units up and down (pools
// created), all-or-none groups, settings that change every user's
// sources, allotments and seats through them, objects put and refused.
// After each Try the writer's copy is still there (set back, not
// replaced) and is the readers' copy down to what the engine derives
// (licensing.Diff), and the same as a snapshot taken before the Try; a
// full recompute of it changes no record; fn saw its own changes; and the
// next commands commit as usual (the readers see the writer's state).
// Readers read the tenant throughout.
func TestTrySetsTheWriterBackExactly(t *testing.T) {
	rounds := 120
	if testing.Short() {
		rounds = 40
	}
	logs := &logCapture{}
	st := openSQLite(t)
	rt, err := Open(context.Background(), st, catalog.Default(), testOptions(Options{Logger: slog.New(logs)}))
	if err != nil {
		t.Fatal(err)
	}
	tn := seed(t, rt)
	ctx := context.Background()
	e3, e5 := sku(t, "SPE_E3"), sku(t, "SPE_E5")
	skus := []string{e3, e5, sku(t, "SPB"), sku(t, "POWER_BI_PRO")}
	groups := []string{gid(1), gid(2), gid(3), gid(4)}
	for _, g := range groups[1:] {
		if err := tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error {
			return tx.Engine.PutGroup(tx.Op, licensing.Group{ID: g, DisplayName: g, SecurityEnabled: true})
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Readers read all along (the Try reads the readers' copy too).
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				tn.Read(func(s *State) { _ = fingerprint(s.Engine) })
			}
		}
	})
	defer func() { close(stop); readers.Wait() }()
	rnd := rand.New(rand.NewPCG(9, 3))
	tried, changed := 0, 0
	for round := range rounds {
		// The tenant moves on: committed commands.
		for range rnd.IntN(6) {
			fn := randomCommand(rand.New(rand.NewPCG(uint64(round), rnd.Uint64())), skus, groups, e5, errRefused, true)
			_ = tn.Do(ctx, licensing.Op{Actor: "test"}, fn) // refusals are part of the test
		}
		before, err := tn.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		tn.Read(func(s *State) { want = fingerprint(s.Engine) })
		n := 1 + rnd.IntN(12)
		cmds := make([]func(*Tx) error, n)
		for i := range cmds {
			r := rand.New(rand.NewPCG(uint64(round), rnd.Uint64()))
			if r.IntN(8) == 0 {
				// No user is deleted here: that is set back by a copy
				// (TestTryReplacesTheWriterWhenItCannotSetBack).
				cmds[i] = func(tx *Tx) error {
					return tx.Engine.PutUser(tx.Op, licensing.User{ID: uid(100 + round), UserPrincipalName: "new@contoso.example", AccountEnabled: true})
				}
				continue
			}
			cmds[i] = randomCommand(r, skus, groups, e5, errRefused, false)
		}
		var seen string
		logs.take(slog.LevelInfo) // the committed commands' (refusals after a change)
		err = tn.Try(ctx, func(b, a *State) error {
			if b != tn.reader || a != tn.writer {
				return errors.New("not the tenant's copies")
			}
			for i, c := range cmds {
				tx := &Tx{State: a, Op: licensing.Op{Actor: "what-if", Now: rt.now().Add(time.Duration(i) * time.Millisecond)}}
				if err := c(tx); err != nil && !errors.Is(err, errRefused) && allot.ErrorCode(err) == "" {
					return err
				}
			}
			seen = fingerprint(a.Engine)
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		tried++
		if seen != want {
			changed++
		}
		if msgs := logs.take(slog.LevelInfo); len(msgs) > 0 {
			t.Fatalf("round %d: %s", round, msgs)
		}
		copiesOf(t, tn, "after the try")
		after, err := tn.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := licensing.Diff(after.Engine, before.Engine); d != "" {
			t.Fatalf("round %d: the state after the try differs from the one before: %s", round, d)
		}
		if objectsFingerprint(after) != objectsFingerprint(before) {
			t.Fatalf("round %d: objects differ from before", round)
		}
		full := after.Engine.Clone()
		full.Recompute(licensing.Op{Now: full.Clock(), Actor: "test"})
		if d := full.TakeDelta(); len(d.Licenses) > 0 {
			t.Fatalf("round %d: a full recompute changes %d records of the state set back, e.g. %v", round, len(d.Licenses), d.Licenses[0])
		}
	}
	if changed < tried/2 {
		t.Fatalf("only %d of %d tries changed what the engine answers: the test is too weak", changed, tried)
	}
	// The tenant still commits, and its readers see the writer's state.
	for round := range 30 {
		fn := randomCommand(rand.New(rand.NewPCG(uint64(round), 1)), skus, groups, e5, errRefused, true)
		_ = tn.Do(ctx, licensing.Op{Actor: "test"}, fn)
		copiesOf(t, tn, "after a command")
	}
}

// What a Try cannot set back it replaces: a user deleted (put back, it
// would come last in the engine's order), an extension's object changed,
// a panic. The writer's copy is dropped and made anew from the readers'
// before the next command, which commits as usual; fn's error is Try's.
func TestTryReplacesTheWriterWhenItCannotSetBack(t *testing.T) {
	logs := &logCapture{}
	st := openSQLite(t)
	rt, err := Open(context.Background(), st, catalog.Default(), testOptions(Options{Logger: slog.New(logs)}))
	if err != nil {
		t.Fatal(err)
	}
	tn := seed(t, rt)
	ctx := context.Background()
	var want string
	tn.Read(func(s *State) { want = fingerprint(s.Engine) + objectsFingerprint(s) })
	boom := errors.New("boom")
	cases := []struct {
		name     string
		fn       func(tx *Tx) error
		err      error
		replaced bool
		level    slog.Level // of the message that says so
	}{
		{"a user deleted", func(tx *Tx) error { return tx.Engine.DeleteUser(tx.Op, uid(2)) }, nil, true, slog.LevelInfo},
		{"an extension changed", func(tx *Tx) error {
			c := Ext(tx.State, countersKey)
			c["a"]++
			return tx.Persist("testCounter", "a", c["a"])
		}, nil, true, slog.LevelInfo},
		{"a panic", func(tx *Tx) error {
			if err := tx.Engine.SetUnits(tx.Op, sku(t, "SPE_E3"), licensing.Units{Enabled: 9}); err != nil {
				return err
			}
			panic("boom")
		}, nil, true, slog.LevelError},
		{"an error after a change", func(tx *Tx) error {
			if err := tx.Engine.RemoveMembers(tx.Op, gid(1), []string{uid(3)}); err != nil {
				return err
			}
			return boom
		}, boom, false, 0},
	}
	for _, c := range cases {
		err := tn.Try(ctx, func(_, a *State) error { return c.fn(&Tx{State: a, Op: licensing.Op{Actor: "what-if", Now: rt.now()}}) })
		switch {
		case c.name == "a panic":
			if allot.ErrorCode(err) != allot.EINTERNAL {
				t.Fatalf("%s: %v", c.name, err)
			}
		case !errors.Is(err, c.err):
			t.Fatalf("%s: %v", c.name, err)
		}
		msgs := logs.take(slog.LevelInfo)
		dropped := false
		_ = tn.Between(ctx, func() error { dropped = tn.writer == nil && tn.behind; return nil })
		if !c.replaced {
			if dropped || len(msgs) > 0 {
				t.Fatalf("%s: set back by a copy (%s)", c.name, msgs)
			}
		} else {
			if !dropped || len(msgs) == 0 || !strings.HasPrefix(msgs[len(msgs)-1], c.level.String()+" a what-if's changes are not set back") {
				t.Fatalf("%s: dropped %v, logged %q", c.name, dropped, msgs)
			}
		}
		var got string
		tn.Read(func(s *State) { got = fingerprint(s.Engine) + objectsFingerprint(s) })
		if got != want {
			t.Fatalf("%s: the readers' copy changed", c.name)
		}
		if err := tn.Do(ctx, licensing.Op{Actor: "test"}, func(tx *Tx) error { return tx.Put(store.KindSetting, "note", map[string]string{"x": c.name}) }); err != nil {
			t.Fatal(err)
		}
		copiesOf(t, tn, c.name)
		tn.Read(func(s *State) { want = fingerprint(s.Engine) + objectsFingerprint(s) })
	}
}
