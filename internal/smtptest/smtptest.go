// Package smtptest is the local SMTP server the tests of mail senders
// (alert's email endpoints, reclamation's notices, scheduled reports) send
// to: it keeps each message it receives with its envelope and whether it
// came over TLS, and reads a message's text part back.
package smtptest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mailbox is a running SMTP server (emersion/go-smtp) on 127.0.0.1.
type Mailbox struct {
	// Host and Port are where it listens.
	Host string
	Port int
	// Pool trusts its certificate (nil without TLS).
	Pool *x509.CertPool

	mu   sync.Mutex
	msgs []Message
}

// Message is one message received.
type Message struct {
	From string
	To   []string
	Data string
	TLS  bool // it came over TLS (STARTTLS)
}

type session struct {
	mb   *Mailbox
	conn *smtp.Conn
	msg  Message
}

func (s *session) Reset()        { s.msg = Message{} }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.msg.From = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.To = append(s.msg.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.msg.TLS = s.conn.TLSConnectionState()
	s.msg.Data = string(b)
	s.mb.mu.Lock()
	s.mb.msgs = append(s.mb.msgs, s.msg)
	s.mb.mu.Unlock()
	return nil
}

// New starts a server, stopped when the test ends; withTLS offers STARTTLS
// with a certificate for 127.0.0.1 (Pool trusts it).
func New(t testing.TB, withTLS bool) *Mailbox {
	t.Helper()
	mb := &Mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{mb: mb, conn: c}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if withTLS {
		// httptest's certificate is valid for 127.0.0.1.
		hs := httptest.NewTLSServer(http.NotFoundHandler())
		srv.TLSConfig = &tls.Config{Certificates: hs.TLS.Certificates}
		mb.Pool = x509.NewCertPool()
		mb.Pool.AddCert(hs.Certificate())
		hs.Close()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	mb.Host = host
	mb.Port, _ = strconv.Atoi(port)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return mb
}

// Got returns the messages received so far, in order.
func (mb *Mailbox) Got() []Message {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Clone(mb.msgs)
}

// Text returns a message's headers and its text/plain part, decoded
// (quoted-printable included).
func Text(t testing.TB, data string) (mail.Header, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(enc string, r io.Reader) string {
		if strings.EqualFold(enc, "quoted-printable") {
			r = quotedprintable.NewReader(r)
		}
		b, _ := io.ReadAll(r)
		return string(b)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return m.Header, decode(m.Header.Get("Content-Transfer-Encoding"), m.Body)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			return m.Header, decode(p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
}
