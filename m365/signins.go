package m365

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"

	"allot/tenant"
	"allot/usage"
)

// Users' signInActivity is usage: what a sync reads of it becomes sign-ins
// in the tenant's usage data (usage.SignIns, as POST /allot/v1/signins
// ingests them), so that a synced user's last sign-in — and with it the
// activation, idle and never-activated findings — is known from the first
// sync, and allot's own signInActivity of the user is Microsoft 365's.
//
// Graph's signInActivity (v1.0) has lastSignInDateTime (the last
// interactive sign-in attempt, successful or not),
// lastNonInteractiveSignInDateTime (the last non-interactive attempt) and
// lastSuccessfulSignInDateTime (the last successful sign-in of either
// kind; null on tenants that predate it, and for sign-ins before December
// 2023). allot keeps successful sign-ins only, so:
//   - lastSuccessfulSignInDateTime is a sign-in, interactive when it is
//     the lastSignInDateTime;
//   - lastSignInDateTime and lastNonInteractiveSignInDateTime are sign-ins
//     (interactive, and not) when they are not after the last successful
//     one — an attempt after it failed — or when there is no last
//     successful one (the tenant does not give it: the attempts are all
//     there is).
//
// The sign-ins carry no event id: a sign-in recorded again changes
// nothing in allot's usage (its first, last and last interactive sign-in
// and its days), so the same signInActivity read every day costs no room
// in the usage's memory of recent event ids. A time that is both an
// interactive and a non-interactive sign-in is one interactive sign-in.
type signInActivity struct {
	ID       string `json:"id"`
	Activity *struct {
		LastSignIn               *time.Time `json:"lastSignInDateTime"`
		LastNonInteractiveSignIn *time.Time `json:"lastNonInteractiveSignInDateTime"`
		LastSuccessfulSignIn     *time.Time `json:"lastSuccessfulSignInDateTime"`
	} `json:"signInActivity"`
}

// signInEvent is one sign-in as usage.ParseSignIns reads it.
type signInEvent struct {
	User        string    `json:"userId"`
	At          time.Time `json:"at"`
	Interactive bool      `json:"interactive"`
}

// signInEvents returns the sign-ins a user's signInActivity says (none
// when it has none), oldest first.
func signInEvents(raw json.RawMessage) []signInEvent {
	var u signInActivity
	if json.Unmarshal(raw, &u) != nil || u.ID == "" || u.Activity == nil {
		return nil
	}
	a := u.Activity
	var out []signInEvent
	add := func(t *time.Time, interactive bool) {
		if t == nil || t.IsZero() {
			return
		}
		at := t.UTC()
		for i := range out {
			if out[i].At.Equal(at) {
				out[i].Interactive = out[i].Interactive || interactive
				return
			}
		}
		out = append(out, signInEvent{User: u.ID, At: at, Interactive: interactive})
	}
	succeeded := func(t *time.Time) bool {
		return t != nil && (a.LastSuccessfulSignIn == nil || !t.After(*a.LastSuccessfulSignIn))
	}
	if succeeded(a.LastSignIn) {
		add(a.LastSignIn, true)
	}
	if succeeded(a.LastNonInteractiveSignIn) {
		add(a.LastNonInteractiveSignIn, false)
	}
	add(a.LastSuccessfulSignIn, false)
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// signInsOf is the batch of sign-ins that users (Graph user objects read
// with signInActivity) say; nil when none has any.
func signInsOf(users []json.RawMessage) *usage.Batch {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	n := 0
	for _, raw := range users {
		for _, e := range signInEvents(raw) {
			_ = enc.Encode(e) // JSON lines
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return usage.ParseSignIns(buf.Bytes())
}

// applySignIns adds the sign-ins of users' signInActivity to the tenant's
// usage inside a sync's command (after the users are imported, so that
// each is found by its id), and returns how many it gave (a sign-in
// already known is given again and changes nothing).
func applySignIns(tx *tenant.Tx, users []json.RawMessage) (int, error) {
	b := signInsOf(users)
	if b == nil {
		return 0, nil
	}
	r, err := b.Apply(tx)
	return r.Accepted, err
}
