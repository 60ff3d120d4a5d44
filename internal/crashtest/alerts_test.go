package crashtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"allot/alert"
)

// kill -9 of allot serve between accepting an alert and delivering it:
// the receiver holds the first delivery open until the process is killed,
// so no attempt is ever recorded; after the restart the alert is delivered
// (once: the restarted server's full evaluation finds it open already).
func TestAlertAcceptedIsDeliveredAfterKill(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) { alertAfterKill(t, open(t)) })
	}
}

// hook is a webhook receiver whose first request blocks until released.
type hook struct {
	mu        sync.Mutex
	secret    string
	held      chan struct{} // closed when the first request arrived
	release   chan struct{}
	heldOnce  sync.Once
	delivered []alert.Event
	bad       int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	first := false
	h.heldOnce.Do(func() { first = true })
	if first {
		close(h.held)
		<-h.release // the server is killed meanwhile: this answer goes nowhere
		http.Error(w, "too late", http.StatusServiceUnavailable)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := alert.Verify(h.secret, r.Header.Get(alert.HeaderTimestamp), r.Header.Get(alert.HeaderSignature), body, time.Now(), 5*time.Minute); err != nil {
		h.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var ev alert.Event
	_ = json.Unmarshal(body, &ev)
	h.delivered = append(h.delivered, ev)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hook) events() []alert.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]alert.Event(nil), h.delivered...)
}

func alertAfterKill(t *testing.T, db string) {
	h := &hook{secret: "whsec_crash", held: make(chan struct{}), release: make(chan struct{})}
	rcv := httptest.NewServer(h)
	defer rcv.Close()
	defer close(h.release)

	s := startServe(t, db, nil, nil)
	cust := s.must(201, "POST", "/partner/v1/customers", partnerSecret, map[string]any{
		"companyProfile": map[string]any{"companyName": "Alerts", "domain": "alerts.example"}, "defaultUsageLocation": "US"})
	tn := cust["id"].(string)
	s.must(201, "POST", "/partner/v1/customers/"+tn+"/subscriptions", partnerSecret, map[string]any{"offerId": "ENTERPRISEPACK", "quantity": 2})
	tok := s.must(201, "POST", "/allot/v1/tenants/"+tn+"/tokens", partnerSecret, map[string]any{"displayName": "admin", "roles": []string{"GlobalAdministrator"}})["token"].(string)
	s.must(201, "POST", "/allot/v1/alerts/endpoints", tok, map[string]any{"id": "ops", "type": "webhook", "url": rcv.URL, "secret": h.secret})
	// 2 free seats, fewer than 5: the rule's own commit opens the alert.
	s.must(201, "POST", "/allot/v1/alerts/rules", tok, map[string]any{"id": "low", "condition": "freeSeatsLow", "threshold": 5, "endpoints": []string{"ops"}})

	select {
	case <-h.held:
	case <-time.After(time.Minute):
		t.Fatalf("no delivery attempt within a minute:\n%s", s.output())
	}
	s.kill()
	if n := len(h.events()); n != 0 {
		t.Fatalf("%d deliveries before the kill", n)
	}

	s = startServe(t, db, nil, nil)
	deadline := time.Now().Add(time.Minute)
	for len(h.events()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Give a duplicate (a second "opened") time to show.
	time.Sleep(2 * time.Second)
	evs := h.events()
	if len(evs) != 1 || evs[0].Type != alert.Opened || evs[0].RuleID != "low" || evs[0].TenantID != tn {
		t.Fatalf("delivered after the restart: %+v\n%s", evs, s.output())
	}
	if h.bad != 0 {
		t.Errorf("%d deliveries with a bad signature", h.bad)
	}
	jobs := s.must(200, "GET", "/allot/v1/alerts/jobs", tok, nil)["value"].([]any)
	if len(jobs) != 1 || jobs[0].(map[string]any)["state"] != "done" {
		t.Errorf("jobs: %v", jobs)
	}
	s.stop()
}
