package reclamation_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"allot/alert"
	"allot/catalog"
	"allot/internal/smtptest"
	"allot/internal/tenantopts"
	"allot/internal/testclock"
	"allot/lease"
	"allot/licensing"
	"allot/prices"
	"allot/reclamation"
	"allot/store"
	"allot/store/sqlite"
	"allot/tenant"
	"allot/usage"
	"allot/userprop"
)

// mailbox is the tests' local SMTP server (internal/smtptest).
type mailbox = smtptest.Mailbox

// smtpConfig is the alert service's SMTP settings for mb (no TLS).
func smtpConfig(mb *mailbox) *alert.SMTP {
	return &alert.SMTP{Host: mb.Host, Port: mb.Port, From: "allot@contoso.example", TLS: "none"}
}

var linkRE = regexp.MustCompile(`https://allot\.test/allot/v1/reclamation/keep\?token=([A-Za-z0-9_.-]+)`)

// clock is the tests' settable clock.
type clock = testclock.Clock

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is a runtime with the alert and reclamation services over SQLite,
// a fake clock and a tenant "contoso": users u1…u4 idle holders of
// ENTERPRISEPACK (u3 with a plan disabled, u4 through the allotment
// "sales"), u5 an active holder, u1's manager attribute naming boss.
type env struct {
	t      *testing.T
	st     store.Store
	clk    *clock
	alerts *alert.Service
	svc    *reclamation.Service
	rt     *tenant.Runtime
	tn     *tenant.Tenant
	mb     *mailbox
	sku    string
	plan   string // the plan u3 has disabled
}

var testKey = reclamation.LinkKey([]byte("0123456789abcdef0123456789abcdef"))

func newEnv(t *testing.T) *env {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "allot.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := openEnv(t, st, testclock.New(time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)), smtptest.New(t, false), nil)
	e.seed()
	return e
}

// openEnv opens a runtime over st with the alert and reclamation services
// (not started: tests call step). With leases, the runtime writes under
// them and both services act for the tenants whose lease this process
// holds or takes (several processes on one database).
func openEnv(t *testing.T, st store.Store, clk *clock, mb *mailbox, leases *lease.Keeper) *env {
	acfg := alert.Config{Store: st.(store.AlertStore), Now: clk.Now, Logger: quiet(), SMTP: smtpConfig(mb), Backoff: func(int) time.Duration { return time.Second }}
	rcfg := reclamation.Config{Key: testKey, BaseURL: "https://allot.test", Now: clk.Now, Logger: quiet()}
	opts := tenant.Options{Logger: quiet(), Now: clk.Now}
	if leases != nil {
		acfg.Acts, rcfg.Acts, opts.Leases = leases.Acts, leases.Acts, leases
	}
	alerts := alert.New(acfg)
	rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	alerts.Attach(rt)
	rcfg.Alerts = alerts
	svc := reclamation.New(rcfg)
	svc.Attach(rt)
	e := &env{t: t, st: st, clk: clk, alerts: alerts, svc: svc, rt: rt, mb: mb}
	sku, _ := catalog.Default().SKU("ENTERPRISEPACK")
	e.sku, e.plan = sku.ID, sku.Plans[0].ID
	return e
}

// seed creates the tenant "contoso" (see env).
func (e *env) seed() {
	clk := e.clk
	tn, err := e.rt.Create(context.Background(), store.Tenant{ID: "contoso", CompanyName: "Contoso", DefaultUsageLocation: "US"}, licensing.Settings{DefaultUsageLocation: "US"})
	if err != nil {
		e.t.Fatal(err)
	}
	e.tn = tn
	e.do(func(tx *tenant.Tx) error {
		if err := tx.Engine.SetUnits(tx.Op, e.sku, licensing.Units{Enabled: 10}); err != nil {
			return err
		}
		if err := tx.Engine.PutAllotment(tx.Op, licensing.Allotment{ID: "sales", DisplayName: "Sales", SKUID: e.sku, AllottedUnits: 2, AssignableTo: "user,group"}); err != nil {
			return err
		}
		for i := 1; i <= 5; i++ {
			id := fmt.Sprintf("u%d", i)
			u := licensing.User{ID: id, UserPrincipalName: id + "@contoso.example", DisplayName: "User " + id,
				AccountEnabled: true, UserType: "Member", UsageLocation: "US"}.With(userprop.Mail, id+"@contoso.example")
			if id == "u1" {
				u.Attributes = map[string]string{"manager": "boss@contoso.example"}
			}
			if err := tx.Engine.PutUser(tx.Op, u); err != nil {
				return err
			}
			var err error
			switch id {
			case "u3":
				err = tx.Engine.AssignUserLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: e.sku, DisabledPlans: []string{e.plan}}}, nil)
			case "u4":
				err = tx.Engine.AssignThroughAllotment(tx.Op, "sales", id, nil)
			default:
				err = tx.Engine.AssignUserLicenses(tx.Op, id, []licensing.AssignedLicense{{SKUID: e.sku, DisabledPlans: []string{}}}, nil)
			}
			if err != nil {
				return err
			}
		}
		return prices.Put(tx, prices.List{Currency: "EUR", Prices: []prices.Price{{SKUID: e.sku, SKUPartNumber: "ENTERPRISEPACK", MonthlyUnitPrice: 23}}})
	})
	// Sixty days later: u1…u4 last signed in on the second day, u5 today.
	first := clk.Now().Add(24 * time.Hour)
	clk.Add(60 * 24 * time.Hour)
	var lines []string
	for i := 1; i <= 5; i++ {
		at := first
		if i == 5 {
			at = clk.Now().Add(-time.Hour)
		}
		lines = append(lines, fmt.Sprintf(`{"id":"s%d","user":"u%d@contoso.example","at":%q,"application":"Outlook","interactive":true}`, i, i, at.Format(time.RFC3339)))
	}
	e.do(func(tx *tenant.Tx) error {
		_, err := usage.ParseSignIns([]byte(strings.Join(lines, "\n"))).Apply(tx)
		return err
	})
}

func (e *env) do(fn func(tx *tenant.Tx) error) {
	e.t.Helper()
	if err := e.tn.Do(context.Background(), licensing.Op{Actor: "test", Now: e.clk.Now()}, fn); err != nil {
		e.t.Fatal(err)
	}
}

// step runs the reclamation step and then delivers the queue.
func (e *env) step() {
	e.t.Helper()
	ctx := context.Background()
	if err := e.svc.Step(ctx); err != nil {
		e.t.Fatal(err)
	}
	for range 20 {
		n, err := e.alerts.DeliverDue(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// direct returns a user's direct sources of the product.
func (e *env) direct(user string) []licensing.LicenseSource {
	var out []licensing.LicenseSource
	e.tn.Read(func(s *tenant.State) {
		for _, src := range s.Engine.DirectLicenses(user) {
			if src.SKUID == e.sku {
				out = append(out, src)
			}
		}
	})
	return out
}

func (e *env) members(id string) map[string]reclamation.Member {
	out := map[string]reclamation.Member{}
	e.tn.Read(func(s *tenant.State) {
		ms, err := reclamation.Members(s, id)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, m := range ms {
			out[m.UserID] = m
		}
	})
	return out
}

func (e *env) campaign(id string) reclamation.Campaign {
	var c reclamation.Campaign
	var err error
	e.tn.Read(func(s *tenant.State) { c, err = reclamation.Get(s, id) })
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
