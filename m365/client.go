package m365

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"allot"
)

// Client is a small typed Microsoft Graph client over net/http: a token
// from azidentity per request (cached by the credential), paging by
// @odata.nextLink, JSON $batch, and throttling done as Graph asks — a 429
// or 503 is retried after its Retry-After (seconds or an HTTP date; an
// exponential back-off from 1 s when absent), at most MaxAttempts times,
// with at most Concurrency requests in flight. A GET whose answer was lost
// on the way (the connection failed, or broke before the whole body came)
// is retried the same way, and so is a $batch of GETs: reading again
// changes nothing, and one broken connection must not end a sync of
// thousands of requests. Other requests are not sent again after a lost
// answer: Graph may have done them.
type Client struct {
	base  string // e.g. https://graph.microsoft.com/v1.0
	scope string
	cred  azcore.TokenCredential
	http  *http.Client
	sem   chan struct{}

	// MaxAttempts bounds the tries of one request (default 8).
	MaxAttempts int
	// MaxWait caps one Retry-After wait (default 5 minutes).
	MaxWait time.Duration
	// Sleep waits (tests may shorten it); default a timer that honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error

	Stats Stats
}

// Stats counts a client's work; safe to read while it runs.
type Stats struct {
	Requests    atomic.Int64 // HTTP requests sent to Graph (a $batch is one)
	Throttled   atomic.Int64 // 429 and 503 answers
	LostAnswers atomic.Int64 // GETs sent again because their answer was lost
	WaitNanos   atomic.Int64 // time spent waiting for Retry-After
}

// ClientOptions are a client's transport settings.
type ClientOptions struct {
	// Transport carries both the token requests and Graph's (nil: the
	// default transport). Tests give one that trusts their TLS servers.
	Transport http.RoundTripper
	// Concurrency bounds the requests in flight (default 4).
	Concurrency int
	// DisableInstanceDiscovery is passed to azidentity; it is set anyway
	// for an authority host that is not one of Microsoft's clouds.
	DisableInstanceDiscovery bool
}

// microsoftAuthorities are the authority hosts of Microsoft's clouds
// (public, US Government, China), where azidentity's instance discovery
// works.
var microsoftAuthorities = map[string]bool{
	"login.microsoftonline.com": true, "login.microsoftonline.us": true, "login.chinacloudapi.cn": true,
	"login.partner.microsoftonline.cn": true,
}

// NewClient returns a client for a connection with its opened secret (a
// client secret, or a certificate's PEM: see Connection.Credential).
func NewClient(c *Connection, secret string, o ClientOptions) (*Client, error) {
	var hc *http.Client
	if o.Transport != nil {
		hc = &http.Client{Transport: o.Transport}
	} else {
		hc = &http.Client{}
	}
	auth, err := url.Parse(c.AuthorityHost)
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "authorityHost: %v", err)
	}
	co := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: c.AuthorityHost}, Transport: hc}
	cred, err := credential(c, secret, co, o.DisableInstanceDiscovery || !microsoftAuthorities[strings.ToLower(auth.Hostname())])
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "The connection's credentials are not usable: %s", sanitize(err.Error(), secret))
	}
	n := o.Concurrency
	if n <= 0 {
		n = 4
	}
	return &Client{base: c.GraphURL + "/v1.0", scope: c.GraphURL + "/.default", cred: cred, http: hc, sem: make(chan struct{}, n)}, nil
}

// sanitize removes a secret from a message (azidentity's errors quote the
// token endpoint's answer, never the secret, but a message is checked all
// the same before it is stored or shown).
func sanitize(msg, secret string) string {
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[secret]")
	}
	if len(msg) > 2000 {
		msg = msg[:2000] + "…"
	}
	return msg
}

// Error is an answer of Graph that is not a success.
type Error struct {
	Status  int
	Code    string
	Message string
	URL     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("Microsoft Graph answered %d %s to %s: %s", e.Status, e.Code, e.URL, e.Message)
}

func graphError(status int, body []byte, u string) *Error {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	e := &Error{Status: status, Code: b.Error.Code, Message: b.Error.Message, URL: redactURL(u)}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300] + "…"
		}
	}
	return e
}

// redactURL drops the query of a URL for messages (skip tokens and delta
// tokens are cursors, not for logs).
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// abs resolves a path against the client's base ("/users?…"), or keeps an
// absolute URL (a nextLink or deltaLink) that is under the base.
func (c *Client) abs(p string) (string, error) {
	if strings.HasPrefix(p, "https://") || strings.HasPrefix(p, "http://") {
		if !strings.HasPrefix(p, c.base+"/") {
			return "", allot.Errorf(allot.EINVALID, "Microsoft Graph gave a link outside %s: %s", c.base, redactURL(p))
		}
		return p, nil
	}
	return c.base + p, nil
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// Do sends one request and decodes a JSON answer into out (nil: ignore
// the body). A 429 or 503 is waited out and retried; other failures are
// an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	return c.call(ctx, method, path, body, out, method == http.MethodGet)
}

// call is Do; reread says whether a request whose answer was lost may be
// sent again (it only reads).
func (c *Client) call(ctx context.Context, method, path string, body, out any, reread bool) error {
	u, err := c.abs(path)
	if err != nil {
		return err
	}
	data, err := c.do(ctx, method, u, body, reread)
	if err != nil {
		return err
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return allot.Errorf(allot.EINVALID, "Microsoft Graph's answer to %s is not the expected JSON: %v", redactURL(u), err)
	}
	return nil
}

// Raw GETs path and returns the answer's body as it is (a report's CSV).
// Graph answers a report with 302 and a short-lived download URL, which
// the HTTP client follows (without the Authorization header, which Go
// drops on a redirect to another host).
func (c *Client) Raw(ctx context.Context, path string) ([]byte, error) {
	u, err := c.abs(path)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, http.MethodGet, u, nil, true)
}

// do sends one request to u, throttled and retried as Do says (a lost
// answer only when reread), and returns the body of its success.
func (c *Client) do(ctx context.Context, method, u string, body any, reread bool) ([]byte, error) {
	var err error
	var payload []byte
	if body != nil {
		if payload, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	maxAttempts := c.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 8
	}
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = 5 * time.Minute
	}
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		status, hdr, data, err := c.send(ctx, method, u, payload)
		var lost *lostAnswer
		if errors.As(err, &lost) && reread && attempt < maxAttempts && ctx.Err() == nil {
			c.Stats.LostAnswers.Add(1)
			lostAnswersTotal.Inc()
			if err := c.sleep(ctx, backoff); err != nil {
				return nil, err
			}
			backoff *= 2
			continue
		}
		if err != nil {
			return nil, err
		}
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			c.Stats.Throttled.Add(1)
			throttledTotal.Inc()
			if attempt >= maxAttempts {
				return nil, graphError(status, data, u)
			}
			d, ok := retryAfter(hdr.Get("Retry-After"), time.Now())
			if !ok {
				d = backoff
				backoff *= 2
			}
			d = min(d, maxWait)
			start := time.Now()
			if err := c.sleep(ctx, d); err != nil {
				return nil, err
			}
			w := time.Since(start)
			c.Stats.WaitNanos.Add(int64(w))
			throttleWaitSeconds.Add(w.Seconds())
			continue
		}
		if status/100 != 2 {
			return nil, graphError(status, data, u)
		}
		return data, nil
	}
}

// send makes one HTTP request with a token, within the concurrency bound.
func (c *Client) send(ctx context.Context, method, u string, payload []byte) (int, http.Header, []byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	tok, err := c.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{c.scope}})
	if err != nil {
		return 0, nil, nil, &TokenError{err}
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.Stats.Requests.Add(1)
	requestsTotal.Inc()
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, &lostAnswer{allot.Errorf(allot.EUNAVAILABLE, "Microsoft Graph is not reachable: %v", redactErr(err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, nil, nil, &lostAnswer{allot.Errorf(allot.EUNAVAILABLE, "reading Microsoft Graph's answer: %v", redactErr(err))}
	}
	return resp.StatusCode, resp.Header, data, nil
}

// lostAnswer is a request whose answer did not arrive whole: the
// connection failed, or broke in the body. Graph may or may not have
// acted on it.
type lostAnswer struct{ error }

func (e *lostAnswer) Unwrap() error { return e.error }

// redactErr drops URLs' queries from a transport error.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + redactURL(ue.URL) + ": " + ue.Err.Error()
	}
	return err.Error()
}

// TokenError is a failure to get a token from the authority.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "getting a token from Microsoft Entra: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// page is one page of a Graph collection.
type page struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
}

// Pages reads a collection page by page from path (or a nextLink): fn
// gets each page's items and the link to the next page ("" after the
// last) and the deltaLink of the last page of a delta query.
func (c *Client) Pages(ctx context.Context, path string, fn func(items []json.RawMessage, next, delta string) error) error {
	for path != "" {
		var p page
		if err := c.Do(ctx, http.MethodGet, path, nil, &p); err != nil {
			return err
		}
		if err := fn(p.Value, p.NextLink, p.DeltaLink); err != nil {
			return err
		}
		path = p.NextLink
	}
	return nil
}

// BatchRequest is one request of a JSON batch.
type BatchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"` // relative to the version: "/users/…"
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// BatchResponse is one answer in a JSON batch.
type BatchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// MaxBatch is Graph's limit of requests in one JSON batch.
const MaxBatch = 20

// Batch sends up to MaxBatch requests in one POST /$batch and returns the
// answers by id. Requests answered 429 or 503 inside the batch are sent
// again (in a smaller batch) after the longest Retry-After among them.
func (c *Client) Batch(ctx context.Context, reqs []BatchRequest) (map[string]BatchResponse, error) {
	if len(reqs) > MaxBatch {
		return nil, fmt.Errorf("a batch of %d requests: at most %d", len(reqs), MaxBatch)
	}
	out := make(map[string]BatchResponse, len(reqs))
	pending := reqs
	backoff := time.Second
	for attempt := 1; len(pending) > 0; attempt++ {
		var ans struct {
			Responses []BatchResponse `json:"responses"`
		}
		if err := c.call(ctx, http.MethodPost, "/$batch", map[string]any{"requests": pending}, &ans, onlyReads(pending)); err != nil {
			return nil, err
		}
		byID := map[string]BatchResponse{}
		for _, r := range ans.Responses {
			byID[r.ID] = r
		}
		var again []BatchRequest
		var wait time.Duration
		for _, q := range pending {
			r, ok := byID[q.ID]
			if !ok {
				return nil, allot.Errorf(allot.EINVALID, "Microsoft Graph's batch answer lacks request %s.", q.ID)
			}
			if r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable {
				c.Stats.Throttled.Add(1)
				throttledTotal.Inc()
				d, ok := retryAfter(headerOf(r.Headers, "Retry-After"), time.Now())
				if !ok {
					d = backoff
				}
				wait = max(wait, d)
				again = append(again, q)
				continue
			}
			out[q.ID] = r
		}
		if len(again) == 0 {
			break
		}
		if attempt >= 8 {
			r := byID[again[0].ID]
			return nil, graphError(r.Status, r.Body, c.base+again[0].URL)
		}
		backoff *= 2
		start := time.Now()
		if err := c.sleep(ctx, min(wait, 5*time.Minute)); err != nil {
			return nil, err
		}
		w := time.Since(start)
		c.Stats.WaitNanos.Add(int64(w))
		throttleWaitSeconds.Add(w.Seconds())
		pending = again
	}
	return out, nil
}

// onlyReads says whether every request of a batch is a GET (a batch that
// only reads may be sent again when its answer was lost).
func onlyReads(reqs []BatchRequest) bool {
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			return false
		}
	}
	return true
}

func headerOf(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// parallel runs fn for each item with at most n at once and returns the
// first error (the others still finish).
func parallel[T any](ctx context.Context, n int, items []T, fn func(ctx context.Context, it T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	sem := make(chan struct{}, n)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(it T) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, it); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		}(it)
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}
