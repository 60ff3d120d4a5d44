package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"allot"
	"allot/store"
	"allot/tenant"
)

// Webhook headers. The signature is HMAC-SHA256, keyed with the
// endpoint's secret, of the timestamp header's value, a ".", and the body
// exactly as sent; it is hex-encoded after "v1=". A receiver recomputes it
// (Verify) and refuses a timestamp far from its clock, so a captured
// request cannot be replayed later.
const (
	HeaderEventID   = "X-Allot-Event-Id"
	HeaderTimestamp = "X-Allot-Timestamp" // Unix seconds
	HeaderSignature = "X-Allot-Signature" // "v1=" + hex HMAC-SHA256
)

// Sign returns the signature header value of a body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a received webhook: the timestamp header's value, the
// signature header's value and the body as received, against the
// endpoint's secret, with a timestamp at most tolerance from now. It
// returns nil only for a request signed with the secret.
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("alert: bad %s header", HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("alert: %s is %s from now, more than %s", HeaderTimestamp, d.Round(time.Second), tolerance)
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(signature))) {
		return fmt.Errorf("alert: %s does not match the body", HeaderSignature)
	}
	return nil
}

// SMTP is a mail server to send email endpoints' alerts through.
type SMTP struct {
	Host     string
	Port     int    // default 587
	Username string // no authentication when empty
	Password string
	From     string
	// TLS: "starttls" (default: STARTTLS required), "opportunistic"
	// (STARTTLS when offered), "tls" (implicit TLS, port 465), "none".
	TLS string
	// TLSConfig, if set, verifies the server (tests: a private CA).
	TLSConfig *tls.Config
}

func (s *Service) deliverLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := s.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("alert delivery: reading the queue failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.jobWake:
		}
	}
}

// DeliverDue delivers the jobs due now of the tenants this process acts
// for (Config.Acts), each once, and returns how many it attempted. A
// failed attempt is retried after Backoff; after MaxAttempts the job is
// dead (the dead-letter list, Retry).
//
// The outcomes are stored together (store.AlertStore.FinishAttempts): one
// transaction per round, or per second of a slow round, instead of one
// per job — a burst of notifications (100 rules opening at once) does not
// take the database's write lock, and flush its log, once per job between
// the tenants' commits.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	jobs, err := s.cfg.Store.DueAlertJobs(ctx, s.now(), 100)
	if err != nil {
		return 0, err
	}
	// Tenants whose jobs wait: not served yet, or another process acts
	// for them.
	skip := map[string]bool{}
	acts := func(id string) bool {
		if s.cfg.Acts == nil {
			return true
		}
		if _, seen := skip[id]; !seen {
			skip[id] = !s.cfg.Acts(ctx, id)
		}
		return !skip[id]
	}
	var done []store.FinishedAttempt
	var since time.Time
	defer func() { s.record(ctx, done) }()
	n := 0
	for _, j := range jobs {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if skip[j.TenantID] || !acts(j.TenantID) {
			continue
		}
		n++
		d, ok := s.attempt(ctx, j)
		if !ok {
			skip[j.TenantID] = true
			continue
		}
		if len(done) == 0 {
			since = time.Now()
		}
		done = append(done, d)
		if time.Since(since) >= recordEvery {
			s.record(ctx, done)
			done = done[:0]
		}
	}
	return n, nil
}

// recordEvery: a round of deliveries stores its outcomes at least this
// often (DeliverDue).
const recordEvery = time.Second

// record stores delivery outcomes (DeliverDue).
func (s *Service) record(ctx context.Context, done []store.FinishedAttempt) {
	if len(done) == 0 {
		return
	}
	if err := s.cfg.Store.FinishAttempts(context.WithoutCancel(ctx), done); err != nil {
		// Delivered (or not) but not recorded: the jobs run again, which
		// at-least-once delivery allows (receivers drop repeated ids).
		s.log.Error("alert delivery: recording the attempts failed", "jobs", len(done), "err", err)
	}
}

// attempt tries one job and returns its outcome to store; false if its
// tenant is not served yet (the job stays due, untouched).
func (s *Service) attempt(ctx context.Context, j store.AlertJob) (store.FinishedAttempt, bool) {
	s.mu.Lock()
	rt := s.rt
	s.mu.Unlock()
	var ep Endpoint
	found := false
	if rt != nil {
		// A tenant still loading (serve answers before every tenant is
		// loaded) is waited for a moment; if it is not served yet, the
		// job stays due and is tried again: its endpoint is unknown, not
		// gone. Only a tenant that does not exist makes it dead.
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		t, err := rt.Wait(wctx, j.TenantID)
		cancel()
		switch {
		case err == nil && j.EndpointID == MailEndpoint:
			found = true // a message of QueueMail: it names its recipients
		case err == nil:
			t.Read(func(st *tenant.State) { ep, found = s.endpointOf(st, j.EndpointID) })
		case allot.ErrorCode(err) != allot.ENOTFOUND:
			return store.FinishedAttempt{}, false
		}
	}
	start := time.Now()
	var res Result
	var ev Event
	if j.EndpointID == MailEndpoint && found {
		res = s.sendQueuedMail(ctx, j.ID, j.Payload)
	} else if !found {
		res = Result{Err: errNoEndpoint.Error()}
	} else if ep.Type == Raw {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		res = post(dctx, ep.URL, j.Payload, nil)
		cancel()
	} else if err := json.Unmarshal(j.Payload, &ev); err != nil {
		res = Result{Err: "the queued event is not readable: " + err.Error()}
	} else {
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		res = s.cfg.Deliver(dctx, ep, ev, j.Payload)
		cancel()
	}
	now := s.now()
	j.Attempts++
	j.UpdatedAt = now
	switch {
	case res.OK:
		j.State, j.LastError = store.JobDone, ""
	case !found || j.Attempts >= s.cfg.MaxAttempts:
		j.State, j.LastError = store.JobDead, res.Err
	default:
		j.State, j.LastError, j.RunAt = store.JobPending, res.Err, now.Add(s.cfg.Backoff(j.Attempts))
	}
	a := store.AlertAttempt{TenantID: j.TenantID, EndpointID: j.EndpointID, JobID: j.ID, At: now, Attempt: j.Attempts,
		OK: res.OK, Status: res.Status, Error: res.Err, Millis: time.Since(start).Milliseconds()}
	if !res.OK {
		s.log.Warn("alert delivery failed", "tenant", j.TenantID, "endpoint", j.EndpointID, "job", j.ID, "attempt", j.Attempts, "state", j.State, "err", res.Err)
	}
	return store.FinishedAttempt{Job: j, Attempt: a}, true
}

// deliver is the default Config.Deliver.
func (s *Service) deliver(ctx context.Context, e Endpoint, ev Event, body []byte) Result {
	switch e.Type {
	case Email:
		return sendMail(ctx, s.cfg.SMTP, e, ev)
	case Slack:
		b, _ := json.Marshal(SlackMessage(ev))
		return post(ctx, e.URL, b, nil)
	case Teams:
		b, _ := json.Marshal(TeamsMessage(ev))
		return post(ctx, e.URL, b, nil)
	default:
		ts := time.Now().Unix()
		return post(ctx, e.URL, body, map[string]string{
			HeaderEventID: ev.ID, HeaderTimestamp: strconv.FormatInt(ts, 10), HeaderSignature: Sign(e.Secret, ts, body)})
	}
}

var httpClient = &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse // a redirect is an answer, not followed with the signed body
}}

func post(ctx context.Context, url string, body []byte, headers map[string]string) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{Err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "allot-alerts/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return Result{Err: err.Error()}
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return Result{Status: resp.StatusCode, Err: fmt.Sprintf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))}
	}
	return Result{OK: true, Status: resp.StatusCode}
}

// Title is an event's one-line title.
func Title(ev Event) string {
	switch ev.Type {
	case Opened:
		return "Alert: " + name(ev)
	case Repeated:
		return "Still open: " + name(ev)
	case Resolved:
		return "Resolved: " + name(ev)
	case ReportType:
		return "Report: " + ev.RuleName
	}
	return "allot test notification"
}

func name(ev Event) string {
	if ev.RuleName != "" {
		return ev.RuleName
	}
	return string(ev.Condition) + " (" + ev.RuleID + ")"
}

func detailLines(ev Event) []string {
	lines := []string{"Tenant: " + ev.TenantID}
	if ev.Subject != "" {
		lines = append(lines, "Subject: "+ev.Subject)
	}
	if ev.OpenedAt != nil {
		lines = append(lines, "Opened: "+ev.OpenedAt.UTC().Format(time.RFC3339))
	}
	if ev.ResolvedAt != nil {
		lines = append(lines, "Resolved: "+ev.ResolvedAt.UTC().Format(time.RFC3339))
	}
	return lines
}

// SlackMessage is the body a Slack incoming webhook accepts: text, in
// Slack's mrkdwn (&, < and > escaped as Slack documents).
func SlackMessage(ev Event) map[string]any {
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	text := "*" + esc.Replace(Title(ev)) + "*\n" + esc.Replace(ev.Summary) + "\n" + esc.Replace(strings.Join(detailLines(ev), " · "))
	return map[string]any{"text": text}
}

// TeamsMessage is the body a Microsoft Teams incoming webhook (a
// Workflows "when a Teams webhook request is received" flow, or a
// connector) accepts: a message with one Adaptive Card attachment.
func TeamsMessage(ev Event) map[string]any {
	facts := []map[string]string{}
	for _, l := range detailLines(ev) {
		k, v, _ := strings.Cut(l, ": ")
		facts = append(facts, map[string]string{"title": k, "value": v})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": Title(ev), "wrap": true},
			map[string]any{"type": "TextBlock", "text": ev.Summary, "wrap": true},
			map[string]any{"type": "FactSet", "facts": facts},
		},
	}
	return map[string]any{"type": "message", "attachments": []any{
		map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card},
	}}
}

// MailBodies returns an event's email as plain text and HTML.
func MailBodies(ev Event) (text, htmlBody string) {
	lines := detailLines(ev)
	text = Title(ev) + "\n\n" + ev.Summary + "\n\n" + strings.Join(lines, "\n") + "\n"
	var b strings.Builder
	b.WriteString("<!doctype html><html><body style=\"font-family:sans-serif\"><h2>")
	b.WriteString(html.EscapeString(Title(ev)))
	b.WriteString("</h2><p>")
	b.WriteString(html.EscapeString(ev.Summary))
	b.WriteString("</p><table>")
	for _, l := range lines {
		k, v, _ := strings.Cut(l, ": ")
		b.WriteString("<tr><th align=\"left\">" + html.EscapeString(k) + "</th><td>" + html.EscapeString(v) + "</td></tr>")
	}
	b.WriteString("</table></body></html>")
	return text, b.String()
}

func sendMail(ctx context.Context, cfg *SMTP, e Endpoint, ev Event) Result {
	text, htmlBody := MailBodies(ev)
	return sendMessage(ctx, cfg, Mail{To: e.To, Subject: "[allot] " + Title(ev), Text: text, HTML: htmlBody, Attachments: ev.Attachments}, ev.ID)
}

// sendMessage sends one message through cfg; id is its X-Allot-Event-Id.
func sendMessage(ctx context.Context, cfg *SMTP, msg Mail, id string) Result {
	if cfg == nil || cfg.Host == "" {
		return Result{Err: "no SMTP server is configured (allot serve --smtp-host)"}
	}
	m := mail.NewMsg()
	if err := m.From(cfg.From); err != nil {
		return Result{Err: "from: " + err.Error()}
	}
	if err := m.To(msg.To...); err != nil {
		return Result{Err: "to: " + err.Error()}
	}
	if len(msg.Cc) > 0 {
		if err := m.Cc(msg.Cc...); err != nil {
			return Result{Err: "cc: " + err.Error()}
		}
	}
	m.Subject(msg.Subject)
	m.SetMessageID()
	m.SetDate()
	m.SetGenHeader(mail.Header("X-Allot-Event-Id"), id)
	m.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	for _, a := range msg.Attachments {
		if err := m.AttachReader(a.Name, bytes.NewReader(a.Data), mail.WithFileContentType(mail.ContentType(a.ContentType))); err != nil {
			return Result{Err: "attachment: " + err.Error()}
		}
	}
	opts := []mail.Option{mail.WithTimeout(20 * time.Second)}
	port := cfg.Port
	switch cfg.TLS {
	case "", "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case "opportunistic":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case "tls":
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		return Result{Err: "unknown SMTP TLS mode " + strconv.Quote(cfg.TLS)}
	}
	if port == 0 {
		port = 587
	}
	opts = append(opts, mail.WithPort(port))
	if cfg.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(cfg.TLSConfig))
	}
	if cfg.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	c, err := mail.NewClient(cfg.Host, opts...)
	if err != nil {
		return Result{Err: err.Error()}
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return Result{Err: err.Error()}
	}
	return Result{OK: true}
}

func money(v float64, currency string) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	if currency != "" {
		s += " " + currency
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
