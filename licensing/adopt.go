package licensing

import (
	"time"
)

// Semantics is the version of what a full recompute derives from the same
// records: the rules of claims, seats, waiting rooms, kept sources and
// source states. A change to the engine that makes Recompute derive
// something else from records a previous build stored — a new rule, a
// changed order, a new error — must increase it, so that stored license
// records derived under the old rules are recomputed at load instead of
// adopted (Adopt). The property tests hold Adopt to Recompute on
// consistent states; TestSemanticsIsRaisedWhenTheRecomputeChanges keeps a
// digest of what recomputes of fixed records derive under each value and
// fails when that changes and Semantics did not.
const Semantics = 1

// Adopt takes the loaded license records as they are — a state a full
// recompute of this engine's semantics (Semantics, the same catalog and
// settings) derived and a consistent store kept — and derives only what
// the engine keeps beside them: each pool's consumption and waiting room,
// each group's error counts by code, and the claim-phase flags of every
// license record (eligible: the record claims a seat; bundled: for the
// users under an all-or-none group, from their sources). It changes no
// record and leaves the delta empty. On such records the engine is then
// what Recompute at the same time would leave (Diff is empty: property
// test); on any other records the engine is wrong, so a caller adopts only
// records it knows were committed under the same semantics, and
// recomputes otherwise (tenant: the derivation stamp).
//
// The clock advances to op.Now as a recompute's would. Call it once, after
// loading every record into a new engine, instead of Recompute.
func (e *Engine) Adopt(op Op) {
	now := e.tick(op.Now)
	ws := e.forEachUserParallel(false, func(w *worker, u *user) {
		for _, l := range u.licenses {
			// A recompute leaves every record claiming exactly when one
			// of its sources is usable (setClaim), so the stored claim
			// is the flag.
			l.eligible, l.bundled = l.Claimed, false
		}
		w.tallySeats(u)
		w.tallyErrors(u)
	})
	for _, p := range e.poolsFromTallies(ws) {
		p.waiting.heapify()
	}
	e.errorsFromTallies(ws)
	e.adoptBundled(now)
	e.pending.init()
}

// adoptBundled derives the bundled flags of the users under an all-or-none
// group (every other user has none), as a change that touches such a
// group does (Applier).
func (e *Engine) adoptBundled(now time.Time) {
	seen := map[*user]bool{}
	for _, id := range e.GroupIDs() {
		g := e.groups[id]
		if g.AssignmentMode != ModeAllOrNone {
			continue
		}
		for _, u := range e.usersUnder(g) {
			if !seen[u] {
				seen[u] = true
				e.w.deriveFlags(u, now)
			}
		}
	}
}
