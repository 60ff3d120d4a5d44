package alert_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"allot/alert"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// mailbox is a local SMTP server (emersion/go-smtp) that keeps what it
// receives and whether it came over TLS.
type mailbox struct {
	mu   sync.Mutex
	msgs []mailMsg
	addr string
	pool *x509.CertPool
}

type mailMsg struct {
	from string
	to   []string
	data string
	tls  bool
}

type mailSession struct {
	mb   *mailbox
	conn *smtp.Conn
	msg  mailMsg
}

func (s *mailSession) Reset()        { s.msg = mailMsg{} }
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.msg.from = from
	return nil
}
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.msg.tls = s.conn.TLSConnectionState()
	s.msg.data = string(b)
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, s.msg)
	s.mb.mu.Unlock()
	return nil
}

// newMailbox starts the server; withTLS offers STARTTLS with a
// certificate for 127.0.0.1.
func newMailbox(t *testing.T, withTLS bool) *mailbox {
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &mailSession{mb: mb, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		// httptest's certificate is valid for 127.0.0.1.
		hs := httptest.NewTLSServer(http.NotFoundHandler())
		srv.TLSConfig = &tls.Config{Certificates: hs.TLS.Certificates}
		mb.pool = x509.NewCertPool()
		mb.pool.AddCert(hs.Certificate())
		hs.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

func (mb *mailbox) got() []mailMsg {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Clone(mb.msgs)
}

func (mb *mailbox) smtpConfig(mode string) *alert.SMTP {
	host, port, _ := net.SplitHostPort(mb.addr)
	p := 0
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	cfg := &alert.SMTP{Host: host, Port: p, From: "allot@contoso.example", TLS: mode}
	if mb.pool != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: mb.pool, ServerName: host}
	}
	return cfg
}

// Email over STARTTLS: an error opens an alert mailed as text and HTML;
// its fix mails the resolution.
func TestEmailOverSTARTTLS(t *testing.T) {
	mb := newMailbox(t, true)
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{SMTP: mb.smtpConfig("starttls")})
	e.do(func(tx *tenant.Tx) error {
		if err := alert.PutEndpoint(tx, alert.Endpoint{ID: "it", Type: alert.Email, To: []string{"it@contoso.example", "cio@contoso.example"}}); err != nil {
			return err
		}
		return alert.PutRule(tx, alert.Rule{ID: "errs", DisplayName: "Sales group errors", Condition: alert.LicenseErrors, GroupID: "g1", Endpoints: []string{"it"}})
	})
	e.do(func(tx *tenant.Tx) error { return tx.Engine.AddMembers(tx.Op, "g1", []string{"u1", "u2"}) })
	e.settle()
	msgs := mb.got()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if !m.tls || m.from != "allot@contoso.example" || !slices.Equal(m.to, []string{"it@contoso.example", "cio@contoso.example"}) {
		t.Errorf("envelope: tls %v from %q to %v", m.tls, m.from, m.to)
	}
	for _, want := range []string{"Subject: [allot] Alert: Sales group errors", "text/plain", "text/html", "multipart/alternative",
		`1 license assignments from group "Sales" are in error.`, "X-Allot-Event-Id: "} {
		if !strings.Contains(m.data, want) {
			t.Errorf("message lacks %q:\n%s", want, m.data)
		}
	}
	e.do(func(tx *tenant.Tx) error { return tx.Engine.RemoveMembers(tx.Op, "g1", []string{"u2"}) })
	e.settle()
	if msgs = mb.got(); len(msgs) != 2 || !strings.Contains(msgs[1].data, "Subject: [allot] Resolved: Sales group errors") {
		t.Fatalf("after the fix: %d messages", len(msgs))
	}
}

// STARTTLS is required by default: a server that does not offer it gets
// nothing, and the job waits for a retry.
func TestEmailRequiresSTARTTLS(t *testing.T) {
	mb := newMailbox(t, false)
	st, _ := stores(t)["sqlite"](t)
	e := newEnv(t, st, alert.Config{SMTP: mb.smtpConfig("starttls")})
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
	if n := len(mb.got()); n != 0 {
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
