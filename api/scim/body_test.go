package scim

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// stalledBody gives a few bytes, then fails as a body read past the
// server's body deadline does.
type stalledBody struct{ sent bool }

func (b *stalledBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, `{"userName":`), nil
	}
	return 0, os.ErrDeadlineExceeded
}

func (b *stalledBody) Close() error { return nil }

// A SCIM body that stops arriving is a 408 with the server's message, not
// a 400 invalidSyntax quoting a network error.
func TestStalledSCIMBodyIs408(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/scim/v2/Users", nil)
	r.Body = &stalledBody{}
	r.ContentLength = 100
	_, err := decodeBody(r)
	se, ok := err.(*Error)
	if !ok || se.Status != http.StatusRequestTimeout || !strings.Contains(se.Detail, "stopped arriving") {
		t.Fatalf("want 408 naming the stalled body, got %#v", err)
	}
}
