package server

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// MaxRequestBody is the most bytes any request body may have: the largest
// route limit (a tenant bundle, a usage report). Routes read their bodies
// with lower limits of their own (respond.MaxBody by default); the server
// puts this one on every body so that no route can read without a limit.
const MaxRequestBody = 1 << 30

// Timeouts bound how long a connection may hold the server's resources
// without making progress.
type Timeouts struct {
	// ReadHeader is the time a client has to send a request's headers.
	ReadHeader time.Duration
	// BodyIdle is the longest a request body may pause: each read of the
	// body must get data within it, or the connection is closed. It bounds
	// stalled uploads without limiting large ones on slow links.
	BodyIdle time.Duration
	// Idle is how long a keep-alive connection may wait for its next
	// request.
	Idle time.Duration
	// Write is the time to write a response once its request is read
	// (0: none; a report of a million users can take minutes to stream).
	Write time.Duration
}

// DefaultTimeouts are the timeouts of allot serve.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, BodyIdle: 30 * time.Second, Idle: 2 * time.Minute}

// HTTPServer returns the http.Server that serves the handler with the
// server's timeouts and a 64 KiB header limit.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{Handler: s.Handler(), ReadHeaderTimeout: s.Timeouts.ReadHeader, IdleTimeout: s.Timeouts.Idle,
		WriteTimeout: s.Timeouts.Write, MaxHeaderBytes: 64 << 10}
}

// limitBody wraps a request body in the server's limit and its idle read
// deadline. Nothing is allocated from the declared Content-Length.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) io.ReadCloser {
	if r.Body == nil || r.Body == http.NoBody {
		return http.NoBody
	}
	b := &idleBody{ReadCloser: http.MaxBytesReader(w, r.Body, MaxRequestBody), idle: s.Timeouts.BodyIdle}
	if b.idle > 0 {
		b.rc = http.NewResponseController(w)
		// Also while the handler has not read yet: the server discards
		// an unread body after the handler, and must not wait forever.
		b.extend()
	}
	return b
}

// idleBody sets the connection's read deadline before each read of the
// body and clears it at the body's end, when the connection is the
// server's again (a deadline left behind would cancel the request).
type idleBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	done bool
}

func (b *idleBody) extend() {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle)) // not supported inside $batch: no connection
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.rc == nil || b.done {
		return b.ReadCloser.Read(p)
	}
	b.extend()
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// LimitListener returns a listener that holds at most n connections open at
// once: when n are open, Accept waits for one to close (new clients wait in
// the kernel's backlog), so stalled clients cannot take every file
// descriptor the process has.
func LimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n)}
}

type limitListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
