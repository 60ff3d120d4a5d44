package whatif_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/licensing"
	"allot/position"
	"allot/position/snapshotstore"
	"allot/prices"
	"allot/settings"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
	"allot/usage"
	"allot/whatif"
)

var (
	grant = time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC)
	asOf  = time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)
)

func sku(part string) string { s, _ := catalog.Default().SKU(part); return s.ID }

// scenario is a tenant with fixes of several kinds: a never-used seat,
// a disabled account, a guest, an over-assigned user (E5 for E3 use), a
// seat inherited from a group (its fix cannot be applied to the user),
// users waiting for E3 seats (seatsRunningOut) and prices.
func scenario(t *testing.T) *tenant.Tenant {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return grant.Add(-time.Hour) }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()); st.Close() })
	tn, err := rt.Create(ctx, store.Tenant{ID: "55555555-5555-4555-8555-555555555555", CompanyName: "C"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	do := func(now time.Time, fn func(tx *tenant.Tx) error) {
		t.Helper()
		if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now}, fn); err != nil {
			t.Fatal(err)
		}
	}
	do(grant, func(tx *tenant.Tx) error {
		e := tx.Engine
		if err := e.SetUnits(tx.Op, sku("SPE_E3"), licensing.Units{Enabled: 4, Status: "Enabled"}); err != nil {
			return err
		}
		if err := e.SetUnits(tx.Op, sku("SPE_E5"), licensing.Units{Enabled: 2, Status: "Enabled"}); err != nil {
			return err
		}
		users := []struct {
			id    string
			parts []string
			mod   func(*licensing.User)
		}{
			{"ann", []string{"SPE_E3"}, nil}, // never uses it
			{"bob", []string{"SPE_E5"}, nil}, // uses E3 features only
			{"cid", []string{"SPE_E3"}, func(u *licensing.User) { u.AccountEnabled = false }},
			{"dee", []string{"SPE_E3"}, func(u *licensing.User) { u.UserType = "Guest" }},
			{"eve", nil, nil},                // E3 through the group, never used
			{"fay", nil, nil},                // waits for E3 through the group
			{"gus", nil, nil},                // waits too
			{"hal", []string{"SPE_E5"}, nil}, // uses E5
		}
		for _, u := range users {
			lu := licensing.User{ID: u.id, UserPrincipalName: u.id + "@contoso.example", DisplayName: u.id, AccountEnabled: true,
				UserType: "Member", UsageLocation: "US", Kind: licensing.KindPerson}
			if u.mod != nil {
				u.mod(&lu)
			}
			if err := e.PutUser(tx.Op, lu); err != nil {
				return err
			}
			var add []licensing.AssignedLicense
			for _, p := range u.parts {
				add = append(add, licensing.AssignedLicense{SKUID: sku(p)})
			}
			if len(add) > 0 {
				if err := e.AssignUserLicenses(tx.Op, u.id, add, nil); err != nil {
					return fmt.Errorf("%s: %w", u.id, err)
				}
			}
		}
		if err := e.PutGroup(tx.Op, licensing.Group{ID: "staff", DisplayName: "Staff", SecurityEnabled: true}); err != nil {
			return err
		}
		if err := e.AssignGroupLicenses(tx.Op, "staff", []licensing.AssignedLicense{{SKUID: sku("SPE_E3")}}, nil); err != nil {
			return err
		}
		return e.AddMembers(tx.Op, "staff", []string{"eve", "fay", "gus"})
	})
	var ev strings.Builder
	for i, l := range []string{"bob teamsChat", "bob exchangeMailbox", "hal teamsChat", "hal powerBIPro", "fay teamsChat", "gus teamsChat"} {
		f := strings.Fields(l)
		fmt.Fprintf(&ev, `{"id":"e%d","user":"%s@contoso.example","feature":"%s","at":"2024-06-20T10:00:00Z"}`+"\n", i, f[0], f[1])
	}
	batch := usage.ParseEvents([]byte(ev.String()))
	if len(batch.Rejected) > 0 {
		t.Fatalf("events: %+v", batch.Rejected)
	}
	do(asOf, func(tx *tenant.Tx) error { _, err := batch.Apply(tx); return err })
	l := prices.List{Currency: "USD", UpdatedAt: asOf, Prices: []prices.Price{{SKUPartNumber: "SPE_E3", MonthlyUnitPrice: 36}, {SKUPartNumber: "SPE_E5", MonthlyUnitPrice: 57}}}
	if err := l.Check(catalog.Default()); err != nil {
		t.Fatal(err)
	}
	do(asOf, func(tx *tenant.Tx) error { return prices.Put(tx, l) })
	return tn
}

// dump is the license state of every user and the units, without times.
func dump(s *tenant.State) string {
	var lines []string
	s.Engine.ForEachUserLicenses(func(u *licensing.User, ls licensing.UserLicenses) bool {
		for i := 0; i < ls.Len(); i++ {
			l := ls.At(i)
			line := fmt.Sprintf("%s %s/%s claimed=%v held=%v", u.ID, l.SKUID, l.AllotmentID, l.Claimed, l.Held)
			for _, src := range l.Sources {
				line += fmt.Sprintf(" [%s %s %s]", src.AssignedByGroup, src.State, src.Error)
			}
			lines = append(lines, line)
		}
		return true
	})
	for _, p := range s.Engine.Pools() {
		lines = append(lines, fmt.Sprintf("units %s %+v consumed=%d waiting=%d", p.SKU.PartNumber, p.Units, p.Consumed, p.Waiting))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// A what-if of "apply every fix" predicts exactly the state and the seats
// and costs that applying the same commands for real produces, and leaves
// the live tenant as it was.
func TestWhatIfOfEveryFixPredictsApplyingThem(t *testing.T) {
	tn := scenario(t)
	ctx := context.Background()
	snap, err := tn.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	liveBefore := dump(snap)
	n := 0
	o := whatif.Options{AsOf: usage.DayOf(asOf), Now: asOf.Add(time.Hour), Actor: "test", NewID: func() string { n++; return fmt.Sprintf("sub-%d", n) }}
	res, predicted, err := whatif.Try(snap, []whatif.Command{{Op: whatif.OpApplyFixes}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if dump(snap) != liveBefore {
		t.Fatal("the what-if changed its snapshot")
	}
	var live string
	tn.Read(func(s *tenant.State) { live = dump(s) })
	if live != liveBefore {
		t.Fatal("the what-if changed the live tenant")
	}
	// What the fixes are: ann (never used), cid (disabled), dee (guest)
	// lose E3; bob moves from E5 to E3; eve's inherited seat is skipped;
	// fay and gus, waiting, get E3 directly from the seats freed first.
	ops := map[string]string{}
	for _, c := range res.Expanded {
		key := c.UserID
		if c.Op == whatif.OpChangeUnits {
			key = "buy " + c.SKU
		}
		ops[key] = fmt.Sprintf("%s add=%d remove=%d by=%d", c.Op, len(c.AddLicenses), len(c.RemoveLicenses), c.By)
	}
	for _, u := range []string{"ann", "cid", "dee", "bob", "fay", "gus"} {
		if _, ok := ops[u]; !ok {
			t.Errorf("no fix command for %s: %v", u, ops)
		}
	}
	if !strings.HasPrefix(ops["bob"], "setUserLicenses add=1 remove=1") {
		t.Errorf("bob: %s", ops["bob"])
	}
	skippedEve := false
	for _, s := range res.Skipped {
		skippedEve = skippedEve || (s.UserID == "eve" && strings.Contains(s.Reason, "inherited"))
	}
	if !skippedEve {
		t.Errorf("eve's inherited seat should be skipped: %+v", res.Skipped)
	}
	if res.LossesCount == 0 || res.GainsCount == 0 {
		t.Errorf("gains %d losses %d", res.GainsCount, res.LossesCount)
	}
	if res.Before.Totals.MonthlyCost == nil || res.After.Totals.MonthlyCost == nil {
		t.Fatalf("costs: %+v %+v", res.Before.Totals, res.After.Totals)
	}

	// Apply the same commands for real, one command each.
	for _, c := range res.Expanded {
		_ = tn.Do(ctx, licensing.Op{Actor: "test", Now: asOf.Add(2 * time.Hour)}, func(tx *tenant.Tx) error { return whatif.Run(tx, c) })
	}
	real, err := tn.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dump(real), dump(predicted); got != want {
		t.Fatalf("applied for real:\n%s\npredicted:\n%s", got, want)
	}
	// The seats and costs after are those the what-if predicted.
	again, _, err := whatif.Try(real, []whatif.Command{{Op: whatif.OpChangeUnits, SKU: "SPE_E3", By: 1}}, o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Before, res.After) {
		t.Fatalf("after, for real: %+v\npredicted: %+v", again.Before, res.After)
	}
}

// Each kind of command runs, a refused one is reported with the API's
// error and changes nothing, and bad input is refused before anything runs.
func TestWhatIfCommands(t *testing.T) {
	tn := scenario(t)
	snap, err := tn.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rule := `user.userPrincipalName -startsWith "a"`
	o := whatif.Options{AsOf: usage.DayOf(asOf), Now: asOf.Add(time.Hour), Actor: "test"}
	res, _, err := whatif.Try(snap, []whatif.Command{
		{Op: whatif.OpChangeUnits, SKU: "SPE_E3", By: -3}, // refused: seats in use
		{Op: whatif.OpChangeUnits, SKU: "SPE_E5", By: 2},
		{Op: whatif.OpPutAllotment, Allotment: &licensing.Allotment{ID: "a1", DisplayName: "Lab", SKUID: "SPE_E5", AllottedUnits: 1}},
		{Op: whatif.OpSetGroupLicenses, GroupID: "staff", AddLicenses: []licensing.AssignedLicense{{SKUID: "SPE_E5"}}}, // one free E5 seat
		{Op: whatif.OpSetMembershipRule, GroupID: "staff", MembershipRule: &rule},
	}, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commands[0].Error == nil || res.Commands[0].Error.Code != "conflict" {
		t.Fatalf("cutting below the seats in use: %+v", res.Commands[0].Error)
	}
	for i := 1; i < len(res.Commands); i++ {
		if res.Commands[i].Error != nil {
			t.Fatalf("command %d: %+v", i, res.Commands[i].Error)
		}
	}
	// The rule keeps ann only: eve loses E3, fay and gus stop waiting; ann
	// takes the one free E5 seat.
	losers := map[string]bool{}
	for _, c := range res.Losses {
		losers[c.UserID+" "+c.SKUPartNumber] = true
	}
	if !losers["eve SPE_E3"] {
		t.Fatalf("losses %+v", res.Losses)
	}
	if res.StopsWaiting == 0 {
		t.Fatalf("fay and gus stop waiting: %+v", res)
	}
	for _, bad := range [][]whatif.Command{nil, {{Op: "nope"}}, {{Op: whatif.OpChangeUnits, SKU: "SPE_E3"}}, {{Op: whatif.OpApplyFixes, Kinds: []string{"x"}}}} {
		if _, _, err := whatif.Try(snap, bad, o); err == nil {
			t.Fatalf("%+v was accepted", bad)
		}
	}
}

// TryIn (the commands run on the caller's copy, the state before kept as
// the answer needs it) and a position given for applyFixes answer exactly
// as Try (a second copy, the position computed again), for the commands of
// the tests above and random sequences of every kind of command.
func TestTryInAnswersAsTry(t *testing.T) {
	tn := scenario(t)
	ctx := context.Background()
	users := []string{"ann", "bob", "cid", "dee", "eve", "fay", "gus", "hal", "nobody"}
	skus := []string{"SPE_E3", "SPE_E5", "SPB"}
	rule := `user.userPrincipalName -startsWith "b"`
	lists := [][]whatif.Command{
		{{Op: whatif.OpApplyFixes}},
		{{Op: whatif.OpApplyFixes, Kinds: []string{position.OverAssigned}}, {Op: whatif.OpApplyFixes}},
		{{Op: whatif.OpChangeUnits, SKU: "SPE_E3", By: -3}, {Op: whatif.OpApplyFixes}},
		{{Op: whatif.OpChangeUnits, SKU: "SPE_E5", By: 2}, {Op: whatif.OpApplyFixes}},
	}
	rnd := rand.New(rand.NewSource(7))
	for i := 0; i < 40; i++ {
		var cmds []whatif.Command
		for j := 0; j < 1+rnd.Intn(5); j++ {
			sku := skus[rnd.Intn(len(skus))]
			switch rnd.Intn(6) {
			case 0:
				cmds = append(cmds, whatif.Command{Op: whatif.OpChangeUnits, SKU: sku, By: rnd.Intn(7) - 3 | 1})
			case 1:
				c := whatif.Command{Op: whatif.OpSetUserLicenses, UserID: users[rnd.Intn(len(users))]}
				if rnd.Intn(2) == 0 {
					c.AddLicenses = []licensing.AssignedLicense{{SKUID: sku}}
				} else {
					c.RemoveLicenses = []string{sku}
				}
				cmds = append(cmds, c)
			case 2:
				c := whatif.Command{Op: whatif.OpSetGroupLicenses, GroupID: "staff"}
				if rnd.Intn(2) == 0 {
					c.AddLicenses = []licensing.AssignedLicense{{SKUID: sku}}
				} else {
					c.RemoveLicenses = []string{sku}
				}
				cmds = append(cmds, c)
			case 3:
				cmds = append(cmds, whatif.Command{Op: whatif.OpPutAllotment, Allotment: &licensing.Allotment{ID: "a" + fmt.Sprint(rnd.Intn(2)), DisplayName: "Lab", SKUID: sku, AllottedUnits: rnd.Intn(3)}})
			case 4:
				cmds = append(cmds, whatif.Command{Op: whatif.OpSetMembershipRule, GroupID: "staff", MembershipRule: &rule})
			default:
				cmds = append(cmds, whatif.Command{Op: whatif.OpApplyFixes})
			}
		}
		lists = append(lists, cmds)
	}
	for i, cmds := range lists {
		opts := func() whatif.Options {
			n := 0
			return whatif.Options{AsOf: usage.DayOf(asOf), Now: asOf.Add(time.Hour), Actor: "test", NewID: func() string { n++; return fmt.Sprintf("sub-%d", n) }}
		}
		snap, err := tn.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, wantAfter, err := whatif.Try(snap, cmds, opts())
		if err != nil {
			t.Fatal(err)
		}
		o := opts()
		if i%2 == 0 {
			if o.Position, err = snapshotstore.Position(snap, position.Options{AsOf: o.AsOf, WindowDays: o.WindowDays, Now: o.Now}); err != nil {
				t.Fatal(err)
			}
		}
		own, err := tn.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := whatif.TryIn(own, cmds, o)
		if err != nil {
			t.Fatal(err)
		}
		if dump(own) != dump(wantAfter) {
			t.Fatalf("list %d %+v: the state after differs", i, cmds)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if !bytes.Equal(a, b) {
			t.Fatalf("list %d %+v:\nTryIn %s\nTry   %s", i, cmds, a, b)
		}
	}
}

// setSettings tries a change of the licensing settings as PATCH
// /allot/v1/settings makes it (settings.Apply): excluding guests takes the
// guest's group source away in the copy, nothing in the tenant; applying
// the same command for real gives the same state; a bad patch is refused
// before anything runs.
func TestWhatIfOfSettingsPredictsApplyingThem(t *testing.T) {
	tn := scenario(t)
	ctx := context.Background()
	// dee, the guest, joins the licensed group.
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: asOf}, func(tx *tenant.Tx) error {
		return tx.Engine.AddMembers(tx.Op, "staff", []string{"dee"})
	}); err != nil {
		t.Fatal(err)
	}
	snap, err := tn.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	c := whatif.Command{Op: whatif.OpSetSettings, Settings: &settings.Patch{ExcludeGuests: &yes}}
	o := whatif.Options{AsOf: usage.DayOf(asOf), Now: asOf.Add(time.Hour), Actor: "test"}
	res, after, err := whatif.Try(snap, []whatif.Command{c}, o)
	if err != nil || res.Commands[0].Error != nil {
		t.Fatalf("%v %+v", err, res.Commands)
	}
	guestFromGroup := func(s *tenant.State) bool {
		for _, line := range strings.Split(dump(s), "\n") {
			if strings.HasPrefix(line, "dee ") && strings.Contains(line, "[staff ") {
				return true
			}
		}
		return false
	}
	if !after.Engine.Settings().ExcludeGuests || guestFromGroup(after) || !guestFromGroup(snap) {
		t.Fatalf("the what-if's copy: excludeGuests %v, guest licensed by the group %v (before %v)",
			after.Engine.Settings().ExcludeGuests, guestFromGroup(after), guestFromGroup(snap))
	}
	var live string
	tn.Read(func(s *tenant.State) {
		live = dump(s)
		if s.Engine.Settings().ExcludeGuests {
			t.Fatal("the what-if changed the tenant")
		}
	})
	if live != dump(snap) {
		t.Fatal("the what-if changed its snapshot")
	}
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: asOf.Add(time.Hour)}, func(tx *tenant.Tx) error { return whatif.Run(tx, c) }); err != nil {
		t.Fatal(err)
	}
	tn.Read(func(s *tenant.State) {
		if got, want := dump(s), dump(after); got != want {
			t.Fatalf("applied:\n%s\npredicted:\n%s", got, want)
		}
	})
	bad := "U1"
	if _, _, err := whatif.Try(snap, []whatif.Command{{Op: whatif.OpSetSettings, Settings: &settings.Patch{DefaultUsageLocation: &bad}}}, o); err == nil {
		t.Fatal("a bad usage location was accepted")
	}
	if _, _, err := whatif.Try(snap, []whatif.Command{{Op: whatif.OpSetSettings}}, o); err == nil {
		t.Fatal("setSettings without settings was accepted")
	}
}
