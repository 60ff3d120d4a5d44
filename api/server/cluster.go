package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/api/respond"
	"allot/auth"
	"allot/store"
)

// Several allot processes on one database (allot serve --ha; docs/SCALING.md).
// Each tenant is written by the process holding its lease; every process
// reads every tenant from its own copy, which follows the tenant's log
// (tenant/follow.go). Around every authenticated route:
//
//   - A write (any method but GET, HEAD, OPTIONS) of a tenant whose lease
//     another live process holds is forwarded to that process over HTTP, as
//     it came (the client's own bearer token or session cookie, which the
//     owner authenticates itself: no new trust between processes), and its
//     answer is passed back. If the owner cannot be reached (nothing
//     listens: it is gone), the write waits until its lease ends, at most
//     one lease time, and is then served here (this process takes the
//     tenant over) or forwarded to the new owner. A forwarded request
//     carries ForwardedByHeader and is not forwarded again, unless it
//     arrives while this process hands the tenant over (placement): then
//     it goes on to the next holder, which serves it.
//   - A successful write's answer carries SeqHeader: the log number of the
//     tenant's state after it (or later). A read carrying MinSeqHeader
//     waits until this process's copy has applied that number, at most
//     Cluster.ReadWait, then answers 503 with Retry-After. (A process
//     that owns the database has every change it acknowledged: a higher
//     number is 400.)
//   - A forwarded write is answered as soon as the owner answered it; the
//     same principal's next read of the tenant on the forwarding process,
//     with or without MinSeqHeader, first waits (at most
//     Cluster.ReadWait) until this process's copy has the number of every
//     write it forwarded for that principal (ReadForwarded), so a client
//     reads its own write where it sent it — the page an admin center form
//     redirects to included.
//
// Requests are tied to a tenant as the surfaces resolve them: a partner
// route's {id} under /customers/, a {tenantId} path value, the partner
// administrator's X-Allot-Tenant header, else the token's own tenant. A
// write that names no tenant (creating a customer) is served here.

// Headers of read-your-writes and forwarding.
const (
	// SeqHeader answers a write with the tenant's log number after it.
	SeqHeader = "X-Allot-Seq"
	// MinSeqHeader asks a read to see at least that log number.
	MinSeqHeader = "X-Allot-Min-Seq"
	// ForwardedByHeader marks a write one process forwarded to another
	// (its value names the sender).
	ForwardedByHeader = "X-Allot-Forwarded-By"
	// ForwardedToHeader on a forwarded write's answer names the process
	// that served it (the owner's lease identity).
	ForwardedToHeader = "X-Allot-Forwarded-To"
)

// Cluster is what a server sharing its database with other processes
// needs (Server.Cluster; nil for a process that owns the database).
type Cluster struct {
	// Leases finds a tenant's owner (store.Leaser.LeaseOf).
	Leases store.Leaser
	// Holds reports whether this process holds the tenant's lease
	// (lease.Keeper.Holds): its writes are served here without asking
	// the database.
	Holds func(tenantID string) bool
	// Enter admits a write to be served here (lease.Keeper.Enter) and
	// returns the function to call once it is answered; it refuses while
	// the tenant is handed to another process, or when this process would
	// not take it (its limit of tenants): the write waits, at most one
	// lease time, for the tenant's next holder and is forwarded there.
	// Nil: every write that is not forwarded is served here.
	Enter func(tenantID string) (leave func(), ok bool)
	// Scheme is used for an owner whose address has none ("http" or
	// "https"; default "http").
	Scheme string
	// Client sends forwarded writes (default: a client whose responses
	// must start within ForwardTimeout).
	Client *http.Client
	// ForwardTimeout bounds the wait for the owner's answer to start
	// (default 30 s).
	ForwardTimeout time.Duration
	// ReadWait bounds how long a read with MinSeqHeader, or after a write
	// this process forwarded (ReadForwarded), waits (default 5 s).
	ReadWait time.Duration

	once   sync.Once
	client *http.Client
	// seen: per tenant and principal, the highest log number a write
	// forwarded from this process was answered with; that principal's
	// next read of the tenant here waits for it (ReadForwarded).
	seenMu sync.Mutex
	seen   map[seenKey]int64
}

// seenKey is a tenant and the principal (its token id) that wrote it
// through this process.
type seenKey struct{ tenant, principal string }

// maxSeen is the number of forwarded writes' numbers kept above which
// those this process's copies have reached are dropped.
const maxSeen = 4096

func keyOf(r *http.Request, tenantID string) seenKey {
	k := seenKey{tenant: tenantID}
	if p := auth.FromContext(r.Context()); p != nil {
		k.principal = p.TokenID
	}
	return k
}

// forwardBuffer is the largest body a forwarded write keeps to send again
// (to the new owner, or to itself) when the owner cannot be reached;
// a larger one is streamed once.
const forwardBuffer = 8 << 20

// OwnerURL returns the base URL of the owner named in a lease's owner
// identity (what follows its last " at ": an --advertise-url, or the
// listen address), or "" if it names none.
func OwnerURL(owner, scheme string) string {
	i := strings.LastIndex(owner, " at ")
	if i < 0 {
		return ""
	}
	addr := strings.TrimSpace(owner[i+len(" at "):])
	if j := strings.IndexByte(addr, '/'); j >= 0 && !strings.Contains(addr, "://") {
		addr = addr[:j] // the identity's random suffix
	}
	if addr == "" {
		return ""
	}
	if strings.Contains(addr, "://") {
		return strings.TrimRight(addr, "/")
	}
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + addr
}

// requestTenant is the tenant a request acts on, "" if it names none.
func requestTenant(r *http.Request, p *auth.Principal) string {
	if strings.Contains(r.Pattern, "/customers/{id}") {
		return r.PathValue("id")
	}
	if strings.Contains(r.Pattern, "{tenantId}") {
		return r.PathValue("tenantId")
	}
	if p == nil {
		return ""
	}
	if p.IsPartner() {
		return r.Header.Get(TenantHeader)
	}
	return p.TenantID
}

func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// clustered runs h for an authenticated request with the rules above.
func (s *Server) clustered(w http.ResponseWriter, r *http.Request, h http.HandlerFunc) {
	id := requestTenant(r, auth.FromContext(r.Context()))
	if id == "" {
		h(w, r)
		return
	}
	if !isWrite(r.Method) {
		if v := r.Header.Get(MinSeqHeader); v != "" && !s.waitSeq(w, r, id, v) {
			return
		}
		s.ReadForwarded(r, id)
		h(w, r)
		return
	}
	w, leave, done := s.RouteWrite(w, r, id)
	if done {
		return
	}
	if leave != nil {
		defer leave()
	}
	h(w, r)
}

// RouteWrite applies the forwarding rules above to a write of tenant
// tenantID, for the authenticated routes and for routes that authenticate
// requests themselves (the admin center's forms, whose session cookie and
// CSRF token the owner checks again): it forwards the request, as it came
// and with its body unread, to the process holding the tenant's lease and
// reports done once the answer is passed back (the next read of the tenant
// here waits for this process's copy to have the write: ReadForwarded);
// otherwise the request is to be served here, answered through the
// returned writer (which adds SeqHeader to a success), and leave (if not
// nil) is to be called once it is answered (a hand-over of the tenant
// waits for it). A request that is
// not a write, of no tenant, on a server without a Cluster, is served
// here; one forwarded to this process is served here too, unless it
// arrives while this process hands the tenant over, or after it handed it
// over while the lease it gave lasts (lease.Keeper.Enter): then it goes
// on to the next holder, which serves it.
func (s *Server) RouteWrite(w http.ResponseWriter, r *http.Request, tenantID string) (http.ResponseWriter, func(), bool) {
	if tenantID == "" || !isWrite(r.Method) {
		return w, nil, false
	}
	sw := &seqWriter{ResponseWriter: w, s: s, id: tenantID}
	c := s.Cluster
	if c == nil {
		return sw, nil, false
	}
	if r.Header.Get(ForwardedByHeader) != "" {
		if c.Enter == nil {
			return sw, nil, false
		}
		if leave, ok := c.Enter(tenantID); ok {
			return sw, leave, false
		}
		// Sent here as the tenant's holder while this process hands the
		// tenant over: one more hop, to the next holder (which serves
		// it, as it is forwarded).
	}
	leave, done := c.route(w, r, s, tenantID)
	return sw, leave, done
}

// route forwards a write to the tenant's owner, or admits it to be served
// here (leave, to call once answered, may be nil), and reports whether the
// request was answered. While this process hands the tenant over (or would
// not take it), the write waits for the next holder, polling the lease,
// at most one lease time; then it is served here, where the lease check
// answers.
func (c *Cluster) route(w http.ResponseWriter, r *http.Request, s *Server, id string) (leave func(), done bool) {
	deadline := time.Now().Add(c.Leases.LeaseTTL())
	for {
		target, l, err := c.owner(r.Context(), id)
		if err != nil {
			return nil, false // the write's own lease check answers (503)
		}
		if target != "" {
			return nil, c.forward(w, r, s, id, target, l)
		}
		if c.Enter == nil {
			return nil, false
		}
		if leave, ok := c.Enter(id); ok {
			return leave, false
		}
		if time.Now().After(deadline) {
			return nil, false
		}
		select {
		case <-r.Context().Done():
			return nil, true
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitSeq waits for the tenant's copy to reach the header's number; it
// answers the request (400, 503) and returns false if it does not.
func (s *Server) waitSeq(w http.ResponseWriter, r *http.Request, id, v string) bool {
	seq, err := strconv.ParseInt(v, 10, 64)
	if err != nil || seq < 0 {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "The %s header must be a log number (a non-negative integer, as a write's %s answer header gives), not %q.", MinSeqHeader, SeqHeader, v))
		return false
	}
	t, err := s.TenantByID(r, id) // a tenant still loading is waited for
	if err != nil {
		return true // the handler answers for a missing, loading or failed tenant
	}
	if s.Cluster == nil && seq > t.LogSeq() {
		// The only writer process acknowledged no such change (a write's
		// number is published before its answer).
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "Tenant %s has no change %d yet (its last is %d): send the %s a write of it was answered with.", id, seq, t.LogSeq(), SeqHeader))
		return false
	}
	wait := 5 * time.Second
	if s.Cluster != nil && s.Cluster.ReadWait > 0 {
		wait = s.Cluster.ReadWait
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	if err := t.WaitSeq(ctx, seq); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = allot.Errorf(allot.EUNAVAILABLE, "This allot server has not yet applied change %d of tenant %s (it has %d); try again in a moment, or read from the server that acknowledged the write.", seq, id, t.LogSeq())
		}
		respond.Error(w, r, err)
		return false
	}
	return true
}

// seqWriter adds SeqHeader to a successful write's answer (2xx, or the
// redirect a form answers with).
type seqWriter struct {
	http.ResponseWriter
	s     *Server
	id    string
	wrote bool
}

func (w *seqWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if code >= 200 && code < 400 { // a form's redirect after its write too
			if t, ok := w.s.RT.Get(w.id); ok {
				if seq := t.LogSeq(); seq >= 0 {
					w.Header().Set(SeqHeader, strconv.FormatInt(seq, 10))
				}
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *seqWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *seqWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// owner returns the URL of the tenant's owner when another live process
// holds its lease, "" when this process should serve the write.
func (c *Cluster) owner(ctx context.Context, id string) (string, store.Lease, error) {
	if c.Holds != nil && c.Holds(id) {
		return "", store.Lease{}, nil // (being handed over: Enter refuses)
	}
	l, err := c.Leases.LeaseOf(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", store.Lease{}, nil
	}
	if err != nil {
		return "", store.Lease{}, err
	}
	if l.TTL <= 0 || l.Owner == c.Leases.Owner() {
		return "", l, nil
	}
	return OwnerURL(l.Owner, c.Scheme), l, nil
}

// forward sends a write to the tenant's owner at target (l: its lease)
// and reports whether the request was answered (false: the owner is gone
// and the write is to be served here).
func (c *Cluster) forward(w http.ResponseWriter, r *http.Request, s *Server, id, target string, l store.Lease) bool {
	var body []byte
	var err error
	replayable := r.Body == nil || r.Body == http.NoBody || (r.ContentLength >= 0 && r.ContentLength <= forwardBuffer)
	if replayable && r.Body != nil && r.Body != http.NoBody {
		if body, err = io.ReadAll(r.Body); err != nil {
			respond.Error(w, r, err)
			return true
		}
	}
	deadline := time.Now().Add(c.Leases.LeaseTTL() + time.Second)
	for {
		if replayable {
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		err := c.send(w, r, s, id, target, l.Owner)
		if err == nil {
			return true
		}
		var dial *net.OpError
		gone := errors.As(err, &dial) && dial.Op == "dial"
		if !gone || !replayable || time.Now().After(deadline) {
			s.Log.Warn("forwarding a write to the tenant's owner failed", "tenant", id, "owner", l.Owner, "err", err)
			respond.Error(w, r, allot.Errorf(allot.EUNAVAILABLE, "Tenant %s is written by another allot process (%s), which did not answer; nothing was applied here. Try again in a few seconds.", id, l.Owner))
			return true
		}
		// Nothing listens: the owner is gone. Wait for its lease to end
		// (then serve the write here), or for a new owner.
		for {
			select {
			case <-r.Context().Done():
				return true
			case <-time.After(100 * time.Millisecond):
			}
			next, nl, err := c.owner(r.Context(), id)
			if err == nil && (next == "" || nl.Token != l.Token) {
				target, l = next, nl
				break
			}
			if time.Now().After(deadline) {
				break
			}
		}
		if target == "" {
			r.Body = io.NopCloser(bytes.NewReader(body))
			return false
		}
	}
}

// send proxies one request to target; an error means no answer was
// passed back (and none was written to w).
func (c *Cluster) send(w http.ResponseWriter, r *http.Request, s *Server, id, target, owner string) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	c.once.Do(func() {
		c.client = c.Client
		if c.client == nil {
			c.client = defaultForwardClient(c.ForwardTimeout)
		}
	})
	var sendErr error
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the client's host, for the links the owner writes
			pr.Out.Header.Set(ForwardedByHeader, c.Leases.Owner())
		},
		Transport: c.client.Transport,
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set(ForwardedToHeader, owner)
			c.forwarded(s, keyOf(r, id), resp.Header.Get(SeqHeader))
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			sendErr = err
		},
		ErrorLog: nil,
	}
	p.ServeHTTP(w, r)
	return sendErr
}

// forwarded notes that a write forwarded from this process for k's
// principal was answered with the tenant's log number seq (the owner's
// SeqHeader): the answer goes back at once, and that principal's next read
// of the tenant here waits until this process's copy has it
// (ReadForwarded).
func (c *Cluster) forwarded(s *Server, k seenKey, seq string) {
	n, err := strconv.ParseInt(seq, 10, 64)
	if err != nil || n <= 0 {
		return
	}
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	if c.seen == nil {
		c.seen = map[seenKey]int64{}
	}
	if n > c.seen[k] {
		c.seen[k] = n
	}
	if len(c.seen) > maxSeen {
		for k, n := range c.seen {
			if t, ok := s.RT.Get(k.tenant); !ok || t.LogSeq() >= n {
				delete(c.seen, k)
			}
		}
	}
}

// ReadForwarded waits, at most Cluster.ReadWait, until this process's
// copy of the tenant has every change that a write the request's
// principal sent through this process (forwarded to the owner) was
// answered with, so that a client reads its own write where it sent it
// without MinSeqHeader: the page an admin center form redirects to, an API
// client's next request. Other principals' reads do not wait. It returns
// at once when the copy has them (always, on a server without a Cluster);
// when the wait runs out the read is served from the copy as it is. Every
// read of an authenticated route calls it; a route that authenticates
// itself (web) calls it, with the principal in the request's context,
// before reading the tenant.
func (s *Server) ReadForwarded(r *http.Request, tenantID string) {
	c := s.Cluster
	if c == nil {
		return
	}
	k := keyOf(r, tenantID)
	c.seenMu.Lock()
	n := c.seen[k]
	c.seenMu.Unlock()
	if n == 0 {
		return
	}
	t, ok := s.RT.Get(tenantID)
	if !ok {
		return
	}
	if t.LogSeq() < n {
		wait := 5 * time.Second
		if c.ReadWait > 0 {
			wait = c.ReadWait
		}
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		if t.WaitSeq(ctx, n) != nil {
			return // late: the read is served anyway
		}
	}
	c.seenMu.Lock()
	if c.seen[k] <= t.LogSeq() {
		delete(c.seen, k)
	}
	c.seenMu.Unlock()
}

// defaultForwardClient waits at most timeout (default 30 s) for an
// owner's answer to start.
func defaultForwardClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = timeout
	t.DialContext = (&net.Dialer{Timeout: 2 * time.Second}).DialContext
	return &http.Client{Transport: t}
}
