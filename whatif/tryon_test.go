package whatif_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand"
	"path/filepath"
	"strings"
	"sync"
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
	"allot/subscription"
	"allot/tenant"
	"allot/usage"
	"allot/whatif"
)

// logged keeps what a runtime logs at Info and above.
type logged struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logged) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *logged) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logged) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logged) WithGroup(string) slog.Handler      { return l }

func (l *logged) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.msgs
	l.msgs = nil
	return out
}

// products of the random tenants: Business Premium (capped), E3 and E5
// (mutually exclusive plans), add-ons, and Visio, which no random tenant
// owns (changeUnits buys its first units: a pool the what-if creates).
var randomParts = []string{"SPE_E3", "SPE_E5", "SPB", "POWER_BI_PRO", "EMS", "PROJECTPROFESSIONAL"}

// randomTenant builds a tenant through the runtime's commands: 5–30
// users (some guests, disabled, without a location), 2–4 groups (one
// dynamic, one all-or-none), memberships, group and direct licenses,
// units (some short), an allotment with members, a subscription,
// feature events and prices. Refused commands are part of it.
func randomTenant(t *testing.T, rnd *rand.Rand, logs slog.Handler) (tn *tenant.Tenant, users, groups []string) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := tenant.Open(ctx, st, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(logs),
		Now: func() time.Time { return grant.Add(-time.Hour) }}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()); st.Close() })
	tn, err = rt.Create(ctx, store.Tenant{ID: "66666666-6666-4666-8666-666666666666", CompanyName: "R"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	at := grant
	do := func(fn func(tx *tenant.Tx) error) {
		at = at.Add(time.Minute)
		_ = tn.Do(ctx, licensing.Op{Actor: "test", Now: at}, fn) // refusals are part of the tenant
	}
	owned := randomParts[:2+rnd.Intn(len(randomParts)-2)]
	for _, p := range owned {
		n := rnd.Intn(12)
		do(func(tx *tenant.Tx) error {
			return tx.Engine.SetUnits(tx.Op, sku(p), licensing.Units{Enabled: n, Status: "Enabled"})
		})
	}
	for i := range 5 + rnd.Intn(26) {
		u := licensing.User{ID: fmt.Sprintf("u%02d", i), UserPrincipalName: fmt.Sprintf("u%02d@contoso.example", i), DisplayName: fmt.Sprint("U", i),
			AccountEnabled: rnd.Intn(8) > 0, UserType: "Member", UsageLocation: []string{"US", "US", "DE", ""}[rnd.Intn(4)], Kind: licensing.KindPerson}
		if rnd.Intn(8) == 0 {
			u.UserType = "Guest"
		}
		users = append(users, u.ID)
		do(func(tx *tenant.Tx) error { return tx.Engine.PutUser(tx.Op, u) })
	}
	for i := range 2 + rnd.Intn(3) {
		g := licensing.Group{ID: fmt.Sprintf("g%d", i), DisplayName: fmt.Sprint("G", i), SecurityEnabled: true}
		switch i {
		case 1:
			g.GroupTypes, g.MembershipRule, g.MembershipRuleProcessingState = []string{"DynamicMembership"}, `user.userPrincipalName -startsWith "u1"`, "On"
		case 2:
			g.AssignmentMode = licensing.ModeAllOrNone
		}
		groups = append(groups, g.ID)
		do(func(tx *tenant.Tx) error { return tx.Engine.PutGroup(tx.Op, g) })
	}
	pick := func(ids []string) string { return ids[rnd.Intn(len(ids))] }
	for range len(users) {
		g, u := pick(groups), pick(users)
		do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, g, []string{u}) })
	}
	for range 2 + rnd.Intn(4) {
		g, p := pick(groups), pick(owned)
		do(func(tx *tenant.Tx) error {
			return tx.Engine.AssignGroupLicenses(tx.Op, g, []licensing.AssignedLicense{{SKUID: sku(p)}}, nil)
		})
	}
	for range len(users) / 2 {
		u, p := pick(users), pick(owned)
		do(func(tx *tenant.Tx) error {
			return tx.Engine.AssignUserLicenses(tx.Op, u, []licensing.AssignedLicense{{SKUID: sku(p)}}, nil)
		})
	}
	p := pick(owned)
	do(func(tx *tenant.Tx) error {
		return tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "al1", DisplayName: "Lab", SKUID: sku(p), AllottedUnits: rnd.Intn(3), AssignableTo: "user,group", CreatedAt: tx.Op.Now})
	})
	for range 3 {
		u := pick(users)
		do(func(tx *tenant.Tx) error { return tx.Engine.AssignThroughAllotment(tx.Op, "al1", u, nil) })
	}
	sub := whatif.Command{Op: whatif.OpChangeUnits, SKU: pick(owned), By: 1 + rnd.Intn(3), SubscriptionID: "sub-0"}
	do(func(tx *tenant.Tx) error { return whatif.Run(tx, sub) })
	var ev strings.Builder
	features := []string{"exchangeMailbox", "teamsChat", "powerBIPro", "officeDesktopApps", "intuneDeviceManagement"}
	for i, u := range users {
		if rnd.Intn(3) > 0 {
			fmt.Fprintf(&ev, `{"id":"e%d","user":"%s@contoso.example","feature":%q,"at":"2024-06-20T10:00:00Z"}`+"\n", i, u, features[rnd.Intn(len(features))])
		}
	}
	if ev.Len() > 0 {
		batch := usage.ParseEvents([]byte(ev.String()))
		do(func(tx *tenant.Tx) error { _, err := batch.Apply(tx); return err })
	}
	var pl prices.List
	pl.Currency, pl.UpdatedAt = "USD", asOf
	for i, p := range owned {
		pl.Prices = append(pl.Prices, prices.Price{SKUPartNumber: p, MonthlyUnitPrice: float64(10 + 7*i)})
	}
	do(func(tx *tenant.Tx) error { return prices.Put(tx, pl) })
	return tn, users, groups
}

// randomCommands is 1–6 random what-if commands on a random tenant's ids
// (and ids it has not).
func randomCommands(rnd *rand.Rand, users, groups []string) []whatif.Command {
	parts := append(randomParts, "VISIOCLIENT")
	rule := `user.userPrincipalName -startsWith "u0"`
	var cmds []whatif.Command
	for range 1 + rnd.Intn(6) {
		p := parts[rnd.Intn(len(parts))]
		u, g := "nobody", "g9"
		if rnd.Intn(10) > 0 {
			u, g = users[rnd.Intn(len(users))], groups[rnd.Intn(len(groups))]
		}
		add := rnd.Intn(2) == 0
		lic := func(c whatif.Command) whatif.Command {
			if add {
				c.AddLicenses = []licensing.AssignedLicense{{SKUID: p}}
			} else {
				c.RemoveLicenses = []string{p}
			}
			return c
		}
		switch rnd.Intn(8) {
		case 0:
			cmds = append(cmds, whatif.Command{Op: whatif.OpChangeUnits, SKU: p, By: rnd.Intn(9) - 4 | 1})
		case 1:
			cmds = append(cmds, lic(whatif.Command{Op: whatif.OpSetUserLicenses, UserID: u}))
		case 2:
			cmds = append(cmds, lic(whatif.Command{Op: whatif.OpSetGroupLicenses, GroupID: g}))
		case 3:
			cmds = append(cmds, whatif.Command{Op: whatif.OpPutAllotment, Allotment: &licensing.Allotment{ID: fmt.Sprint("al", rnd.Intn(3)), DisplayName: "Lab", SKUID: p, AllottedUnits: rnd.Intn(3)}})
		case 4:
			cmds = append(cmds, whatif.Command{Op: whatif.OpSetMembershipRule, GroupID: g, MembershipRule: &rule})
		case 5:
			yes, loc := rnd.Intn(2) == 0, []string{"US", "DE"}[rnd.Intn(2)]
			cmds = append(cmds, whatif.Command{Op: whatif.OpSetSettings, Settings: &settings.Patch{ExcludeGuests: &yes, NestedGroups: &yes, DefaultUsageLocation: &loc}})
		case 6:
			cmds = append(cmds, whatif.Command{Op: whatif.OpApplyFixes, Kinds: []string{position.Kinds[rnd.Intn(len(position.Kinds))]}})
		default:
			cmds = append(cmds, whatif.Command{Op: whatif.OpApplyFixes})
		}
	}
	return cmds
}

// objects is what a state holds besides the engine that the what-if's
// commands write: subscriptions, allotments, settings and prices.
func objects(t *testing.T, s *tenant.State) string {
	subs, err := subscription.List(s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(subs)
	out := string(b)
	for _, k := range []store.Kind{store.KindAllotment, store.KindSetting, prices.Kind} {
		for _, id := range s.IDs(k) {
			body, _ := s.Object(k, id)
			out += "\n" + string(k) + " " + id + " " + string(body)
		}
	}
	return out
}

// A what-if on the tenant's own copy (Tenant.Try and TryOn: no copy of the
// tenant) answers exactly as on a full copy (Try), and leaves the tenant
// exactly as it was: over random tenants and random command lists (every
// operation, refused ones, ids that do not exist, products the tenant
// never owned, settings that change every user's sources, applyFixes with
// and without a position given), the answers are the same JSON, the
// state the commands reached is the same, and afterwards the writer's
// copy was set back — not replaced (nothing is logged) — and is the state
// before down to what the engine derives (licensing.Diff against a
// snapshot taken before), with the same objects, and a full recompute of
// it changes no record.
func TestTryOnAnswersAsTry(t *testing.T) {
	tenants, lists := 16, 8
	if testing.Short() {
		tenants = 6
	}
	rnd := rand.New(rand.NewSource(18))
	ctx := context.Background()
	changed := 0
	for ti := range tenants {
		logs := &logged{}
		tn, users, groups := randomTenant(t, rnd, logs)
		logs.take()
		for li := range lists {
			cmds := randomCommands(rnd, users, groups)
			opts := func() whatif.Options {
				n := 0
				return whatif.Options{AsOf: usage.DayOf(asOf), Now: asOf.Add(time.Hour), Actor: "test", NewID: func() string { n++; return fmt.Sprintf("new-%d", n) }}
			}
			before, err := tn.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, wantAfter, err := whatif.Try(before, cmds, opts())
			if err != nil {
				t.Fatal(err)
			}
			o := opts()
			if li%2 == 1 {
				if o.Position, err = snapshotstore.Position(before, position.Options{AsOf: o.AsOf, Now: o.Now}); err != nil {
					t.Fatal(err)
				}
			}
			var got *whatif.Result
			var gotAfter string
			err = tn.Try(ctx, func(b, a *tenant.State) error {
				var err error
				got, err = whatif.TryOn(b, a, cmds, o)
				gotAfter = dump(a) + objects(t, a)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("tenant %d, list %d %s", ti, li, jsonOf(cmds))
			x, y := jsonOf(got), jsonOf(want)
			if x != y {
				t.Fatalf("%s:\nTryOn %s\nTry   %s", where, x, y)
			}
			if w := dump(wantAfter) + objects(t, wantAfter); gotAfter != w {
				t.Fatalf("%s: the state after differs:\nTryOn %s\nTry   %s", where, gotAfter, w)
			}
			if gotAfter != dump(before)+objects(t, before) {
				changed++
			}
			if msgs := logs.take(); len(msgs) > 0 {
				t.Fatalf("%s: %s", where, msgs)
			}
			now, err := tn.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := licensing.Diff(now.Engine, before.Engine); d != "" {
				t.Fatalf("%s: the tenant differs from before: %s", where, d)
			}
			if objects(t, now) != objects(t, before) {
				t.Fatalf("%s: the objects differ from before:\n%s\n%s", where, objects(t, now), objects(t, before))
			}
			full := now.Engine.Clone()
			full.Recompute(licensing.Op{Now: full.Clock(), Actor: "test"})
			if d := full.TakeDelta(); len(d.Licenses) > 0 {
				t.Fatalf("%s: a full recompute changes %d records", where, len(d.Licenses))
			}
		}
	}
	if changed < tenants*lists/2 {
		t.Fatalf("only %d of %d what-ifs changed the state: the test is too weak", changed, tenants*lists)
	}
}

func jsonOf(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}
