package connections_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"allot/api/apitest"
)

// subscriptionsView is a tenant's /directory/subscriptions and the
// prepaidUnits of its subscribedSkus, as compared.
func subscriptionsView(t *testing.T, env *apitest.Env, tok string) string {
	t.Helper()
	var subs struct {
		Value []struct {
			ID, SKUID, Status, CreatedDateTime, NextLifecycleDateTime string
			TotalLicenses                                             int
		}
	}
	env.Must(200, "GET", "/v1.0/directory/subscriptions", tok, nil).Decode(t, &subs)
	var lines []string
	for _, s := range subs.Value {
		lines = append(lines, fmt.Sprintf("%s %s %s %d created=%s next=%s", s.ID, strings.ToLower(s.SKUID), s.Status, s.TotalLicenses, s.CreatedDateTime, s.NextLifecycleDateTime))
	}
	var skus struct {
		Value []struct {
			SKUID        string
			PrepaidUnits map[string]int
		}
	}
	env.Must(200, "GET", "/v1.0/subscribedSkus", tok, nil).Decode(t, &skus)
	for _, s := range skus.Value {
		lines = append(lines, fmt.Sprintf("sku %s %v", strings.ToLower(s.SKUID), s.PrepaidUnits))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestSyncSubscriptions: a sync reads /directory/subscriptions — each
// subscription with its id, product, status, licenses, creation and next
// lifecycle date (the end of its term) — and the local tenant's
// subscriptions and subscribedSkus then equal the remote's; a later
// (delta) sync brings a changed quantity, a suspension and a deletion; the
// term fields Graph does not give (termDuration, billingCycle) that the
// local tenant set are kept.
func TestSyncSubscriptions(t *testing.T) {
	w := newWorld(t, 0)
	end := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	s3 := w.remote.Must(201, "POST", "/partner/v1/customers/"+w.rid+"/subscriptions", apitest.PartnerToken,
		map[string]any{"offerId": "SPE_E3", "quantity": 3, "commitmentEndDate": end, "autoRenewEnabled": true}).JSON()["id"].(string)
	s4 := w.remote.Subscribe(w.rid, "ENTERPRISEPACK", 4)
	conn := w.connect(false)
	w.sync(conn)
	want := subscriptionsView(t, w.remote, w.radmin)
	if !strings.Contains(want, s3) || !strings.Contains(want, "next=2027-03-01T00:00:00Z") {
		t.Fatalf("the remote does not show the subscription with its term (the comparison would prove little):\n%s", want)
	}
	if got := subscriptionsView(t, w.local, w.ladmin); got != want {
		t.Fatalf("after the first sync:\n got %s\nwant %s", got, want)
	}
	// Local term fields that Graph does not give survive a sync.
	w.local.Must(200, "PATCH", "/partner/v1/customers/"+w.lid+"/subscriptions/"+s3, apitest.PartnerToken,
		map[string]any{"termDuration": "P3Y", "billingCycle": "triennial"})

	w.remote.Must(200, "PATCH", "/partner/v1/customers/"+w.rid+"/subscriptions/"+s3, apitest.PartnerToken, map[string]any{"quantity": 6})
	w.remote.Must(200, "PATCH", "/partner/v1/customers/"+w.rid+"/subscriptions/"+s4, apitest.PartnerToken, map[string]any{"status": "suspended"})
	if res := w.sync(conn); res["result"].(map[string]any)["kind"] != "delta" {
		t.Fatalf("second sync: %v", res)
	}
	want = subscriptionsView(t, w.remote, w.radmin)
	if !strings.Contains(want, s4+" "+o365E3+" Suspended 4") {
		t.Fatalf("the remote's suspension is not shown:\n%s", want)
	}
	if got := subscriptionsView(t, w.local, w.ladmin); got != want {
		t.Fatalf("after the second sync:\n got %s\nwant %s", got, want)
	}
	sub := w.local.Must(200, "GET", "/partner/v1/customers/"+w.lid+"/subscriptions/"+s3, apitest.PartnerToken, nil).JSON()
	if sub["termDuration"] != "P3Y" || sub["billingCycle"] != "triennial" || sub["quantity"] != float64(6) {
		t.Fatalf("local subscription after the sync: %v", sub)
	}
	// Deleted in the remote: deleted here.
	w.remote.Must(200, "PATCH", "/partner/v1/customers/"+w.rid+"/subscriptions/"+s4, apitest.PartnerToken, map[string]any{"status": "deleted"})
	w.sync(conn)
	if got, want := subscriptionsView(t, w.local, w.ladmin), subscriptionsView(t, w.remote, w.radmin); got != want {
		t.Fatalf("after a deletion:\n got %s\nwant %s", got, want)
	}
}
