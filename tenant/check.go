package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"allot"
	"allot/audit"
	"allot/catalog"
	"allot/licensing"
	"allot/store"
)

// Problem is a stored record of a tenant that breaks an invariant the
// engine relies on: a reference to an object that does not exist (the
// license of a deleted user, a membership of a deleted group), a body that
// cannot be decoded, allotments holding more units than the subscription.
// The commands never make one; an earlier version, a hand edit or a defect
// can. A tenant with problems is loaded without the broken records and
// served read-only (its commands are refused) while the other tenants are
// served as usual; allot doctor lists the problems and, with --repair,
// applies each one's repair. The read-only state is what the repair gives.
type Problem struct {
	Kind    store.Kind `json:"kind"`
	ID      string     `json:"id"`
	Problem string     `json:"problem"`
	Repair  string     `json:"repair"` // what the repair does, in words
	fix     store.Mutation
}

func (p Problem) String() string {
	return fmt.Sprintf("%s %s: %s (repair: %s)", p.Kind, p.ID, p.Problem, p.Repair)
}

// deleteProblem is a record whose repair is to delete it.
func deleteProblem(kind store.Kind, id, why string) Problem {
	id = strings.Clone(id) // a load's ids are views of the store's buffers (kept)
	return Problem{Kind: kind, ID: id, Problem: why, Repair: "delete the record",
		fix: store.Mutation{Kind: kind, ID: id, Delete: true}}
}

// lowerAllotmentProblem is an allotment, stored with units, whose repair
// stores it as a (lowered by licensing.Engine.FitAllotments).
func lowerAllotmentProblem(a licensing.Allotment, units int) Problem {
	p := Problem{Kind: store.KindAllotment, ID: a.ID,
		Problem: fmt.Sprintf("the allotments of product %s hold more units than its subscription has beside the seats held outside allotments (this one: %d)", a.SKUID, units),
		Repair:  fmt.Sprintf("lower the allotment to %d units; the youngest claims beyond them wait", a.AllottedUnits)}
	body, err := json.Marshal(a)
	if err != nil {
		panic(err) // an Allotment always encodes
	}
	p.fix = store.Mutation{Kind: store.KindAllotment, ID: a.ID, Body: body}
	return p
}

// ErrReadOnly is in the error of every command of a tenant with problems
// (errors.Is): an ECONFLICT that is the tenant's state, not the request's
// fault, so APIs that answer a conflict with the request as 400 (Graph's
// duplicate values) still answer it 409.
var ErrReadOnly = errors.New("tenant is read-only")

type readOnlyError struct{ err *allot.Error }

func (e readOnlyError) Error() string   { return e.err.Message }
func (e readOnlyError) Unwrap() []error { return []error{e.err, ErrReadOnly} }

// errReadOnly is the answer to a command of a tenant with problems.
func errReadOnly(id string, problems []Problem) error {
	return readOnlyError{allot.Errorf(allot.ECONFLICT, "Tenant %s is read-only: its stored data has %d inconsistent record(s) (first: %s). Nothing was changed; reads still work. An operator must run `allot doctor --repair`.",
		id, len(problems), problems[0].String())}
}

// Problems returns the problems of the tenant's stored state found when it
// was loaded; a tenant with problems is read-only.
func (t *Tenant) Problems() []Problem {
	if p := t.problems.Load(); p != nil {
		return *p
	}
	return nil
}

func (t *Tenant) setProblems(ps []Problem) {
	if len(ps) == 0 {
		t.problems.Store(nil)
	} else {
		t.problems.Store(&ps)
	}
	t.rt.countProblems()
}

// ReadOnly returns the tenants served read-only and their number of
// problems (see Problem).
func (r *Runtime) ReadOnly() map[string]int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := map[string]int{}
	for id, t := range r.tenants {
		if n := len(t.Problems()); n > 0 {
			out[id] = n
		}
	}
	return out
}

// countProblems updates the read-only metrics.
func (r *Runtime) countProblems() {
	ro := r.ReadOnly()
	n := 0
	for _, c := range ro {
		n += c
	}
	r.metrics.readOnly.Set(float64(len(ro)))
	r.metrics.problems.Set(float64(n))
}

// offline is a runtime without tenants, for checking and repairing a store
// (allot doctor).
func offline(st store.Store, cat *catalog.Catalog) *Runtime {
	return &Runtime{store: st, cat: cat, opts: Options{Now: time.Now, Recompute: true}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		metrics: newMetrics(nil), tenants: map[string]*Tenant{}}
}

// Check loads a tenant from the store as the runtime does, without writing
// anything, and returns the problems of its stored state, by kind and id.
func Check(ctx context.Context, st store.Store, cat *catalog.Catalog, tenantID string) ([]Problem, error) {
	_, _, problems, err := offline(st, cat).buildState(ctx, tenantID, time.Now().UTC())
	sortProblems(problems)
	return problems, err
}

// Repair applies the repairs of a tenant's problems in one commit, with an
// audit entry by actor, then loads the tenant as the runtime does (which
// commits the license records the repair re-derives). It returns the
// problems repaired and those left (none, unless the store changed in
// between). The runtime must not be serving the store meanwhile.
func Repair(ctx context.Context, st store.Store, cat *catalog.Catalog, tenantID, actor string) (repaired, left []Problem, err error) {
	r := offline(st, cat)
	_, seq, problems, err := r.buildState(ctx, tenantID, r.now())
	if err != nil || len(problems) == 0 {
		return nil, nil, err
	}
	sortProblems(problems)
	c := store.Change{TenantID: tenantID}
	for _, p := range problems {
		c.Mutations = append(c.Mutations, p.fix)
	}
	c.Audit = []audit.Entry{{TenantID: tenantID, Seq: seq + 1, At: r.now(), Actor: actor, Action: "Repair stored state",
		Why: "inconsistent records found at load", Detail: fmt.Sprintf("%d record(s) repaired", len(problems))}}
	if err := st.Commit(ctx, []store.Change{c}); err != nil {
		return nil, nil, fmt.Errorf("committing the repair: %w", err)
	}
	_, _, left, err = r.loadState(ctx, tenantID)
	return problems, left, err
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Kind != ps[j].Kind {
			return ps[i].Kind < ps[j].Kind
		}
		return ps[i].ID < ps[j].ID
	})
}
