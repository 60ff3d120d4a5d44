package usageapi

import (
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// Memory for a request body grows with the bytes that arrive, never with
// the declared Content-Length: 12 stalled uploads declaring 256 MiB held
// 677 MB before sending anything.
func TestReadBodyNeverSizesFromContentLength(t *testing.T) {
	body := `{"value":[]}`
	r := httptest.NewRequest("POST", "/allot/v1/usage/events", strings.NewReader(body))
	r.ContentLength = MaxEventsBody // declared, not sent
	w := httptest.NewRecorder()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	data, ok := readBody(w, r, MaxEventsBody)
	runtime.ReadMemStats(&after)
	if !ok || string(data) != body {
		t.Fatalf("readBody = %q, %v (%d %s)", data, ok, w.Code, w.Body)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("reading a %d-byte body that declared %d MiB allocated %d KiB", len(body), MaxEventsBody>>20, n>>10)
	}
}
