package alert_test

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"testing"

	"allot/alert"
	"allot/internal/smtptest"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// mailbox is the tests' local SMTP server (internal/smtptest).
type mailbox = smtptest.Mailbox

// smtpConfig is the alert service's SMTP settings for mb with TLS mode
// (trusting its certificate).
func smtpConfig(mb *mailbox, mode string) *alert.SMTP {
	cfg := &alert.SMTP{Host: mb.Host, Port: mb.Port, From: "allot@contoso.example", TLS: mode}
	if mb.Pool != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: mb.Pool, ServerName: mb.Host}
	}
	return cfg
}

// Email over STARTTLS: an error opens an alert mailed as text and HTML;
// its fix mails the resolution.
func TestEmailOverSTARTTLS(t *testing.T) {
	mb := smtptest.New(t, true)
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{SMTP: smtpConfig(mb, "starttls")})
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "it", Type: alert.Email, To: []string{"it@contoso.example", "cio@contoso.example"}}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "errs", DisplayName: "Sales group errors", Condition: alert.LicenseErrors, GroupID: "g1", Endpoints: []string{"it"}})
	})
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) })
	e.settle()
	msgs := mb.Got()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if !m.TLS || m.From != "allot@contoso.example" || !slices.Equal(m.To, []string{"it@contoso.example", "cio@contoso.example"}) {
		t.Errorf("envelope: tls %v from %q to %v", m.TLS, m.From, m.To)
	}
	for _, want := range []string{"Subject: [allot] Alert: Sales group errors", "text/plain", "text/html", "multipart/alternative",
		`1 license assignments from group "Sales" are in error.`, "X-Allot-Event-Id: "} {
		if !strings.Contains(m.Data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.Data)
		}
	}
	e.do(func(tx *tenant.Tx) error { return tx.Engine.RemoveMembers(tx.Op, "g1", []string{"u2"}) })
	e.settle()
	if msgs = mb.Got(); len(msgs) != 2 || !strings.Contains(msgs[1].Data, "Subject: [allot] Resolved: Sales group errors") {
		t.Fatalf("after the fix: %d messages", len(msgs))
	}
}

// STARTTLS is required by default: a server that does not offer it gets
// nothing, and the job waits for a retry.
func TestEmailRequiresSTARTTLS(t *testing.T) {
	mb := smtptest.New(t, false)
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{SMTP: smtpConfig(mb, "starttls")})
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "it", Type: alert.Email, To: []string{"it@contoso.example"}}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "low", Condition: alert.FreeSeatsLow, Threshold: 5, Endpoints: []string{"it"}})
	})
	e.do(func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(tx.Op, licensing.User{ID: "u9", UserPrincipalName: "u9@contoso.example"})
	})
	e.settle()
	if n := len(mb.Got()); n != 0 {
		t.Fatalf("%d messages sent without TLS", n)
	}
	log, err := st.(store.AlertStore).AlertAttempts(context.Background(), "contoso", "it", 10)
	if err != nil || len(log) != 1 || log[0].OK || !strings.Contains(strings.ToLower(log[0].Error), "tls") {
		t.Fatalf("attempts %+v, %v", log, err)
	}
	pending, _ := st.(store.AlertStore).AlertJobs(context.Background(), "contoso", store.JobPending, 10)
	if len(pending) != 1 {
		t.Fatalf("%d jobs wait for a retry", len(pending))
	}
}
