package connections_test

import (
	"context"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"allot/api/apitest"
	"allot/m365"
)

// TestOneAppManyTenants: a CSP's one app registration, consented in two
// customers' Entra tenants (GDAP-style), serves a connection of each of
// two allot tenants; each connection keeps its own schedule (hourly and
// every two hours), each tenant gets its own customer's directory and
// nothing of the other's, and the partner's view lists both connections
// with their health.
func TestOneAppManyTenants(t *testing.T) {
	w := newWorld(t, 0)
	var ahead atomic.Int64
	w.mgr.Env.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	// The second customer, in the same Microsoft "cloud" (the remote allot).
	contoso := w.remote.Customer("Contoso", "US")
	w.remote.Subscribe(contoso, "SPE_E3", 3)
	cadmin := w.remote.Token(contoso, "GlobalAdministrator")
	w.tokens.consent("contoso-entra", cadmin)
	w.ruser("ann@fabrikam.example")
	w.remote.Must(201, "POST", "/v1.0/users", cadmin, map[string]any{"accountEnabled": true, "displayName": "zoe", "mailNickname": "zoe",
		"userPrincipalName": "zoe@contoso.example", "usageLocation": "US", "passwordProfile": map[string]any{"password": "x"}})

	lcontoso := w.local.Customer("ContosoLocal", "US")
	lcadmin := w.local.Token(lcontoso, "GlobalAdministrator")
	connect := func(tok, entra, every string) string {
		return w.local.Must(201, "POST", "/allot/v1/connections", tok, map[string]any{"entraTenantId": entra, "clientId": appID,
			"clientSecret": secret, "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL, "syncEvery": every, "reportsEvery": "0s"}).JSON()["id"].(string)
	}
	fab, con := connect(w.ladmin, entraID, "1h"), connect(lcadmin, "contoso-entra", "2h")

	ctx := context.Background()
	w.mgr.ScheduleOnce(ctx) // both never synced: both due
	for _, c := range []struct{ tenant, conn string }{{w.lid, fab}, {lcontoso, con}} {
		if res, err := w.mgr.Wait(ctx, c.tenant, c.conn); err != nil || res.Kind != "full" {
			t.Fatalf("scheduled first sync of %s: %+v %v", c.conn, res, err)
		}
	}
	upns := func(tok string) string {
		var us struct {
			Value []struct{ UserPrincipalName string }
		}
		w.local.Must(200, "GET", "/v1.0/users?$select=userPrincipalName", tok, nil).Decode(t, &us)
		var out []string
		for _, u := range us.Value {
			if strings.HasSuffix(u.UserPrincipalName, ".example") {
				out = append(out, u.UserPrincipalName)
			}
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	if got := upns(w.ladmin); got != "ann@fabrikam.example" {
		t.Errorf("Fabrikam's local users: %s", got)
	}
	if got := upns(lcadmin); got != "zoe@contoso.example" {
		t.Errorf("Contoso's local users: %s", got)
	}

	// 90 minutes later only the hourly connection is due.
	runsFab, runsCon := w.mgr.Runs(w.lid, fab), w.mgr.Runs(lcontoso, con)
	ahead.Store(int64(90 * time.Minute))
	w.mgr.ScheduleOnce(ctx)
	if _, err := w.mgr.Wait(ctx, w.lid, fab); err != nil {
		t.Fatal(err)
	}
	if w.mgr.Runs(w.lid, fab) != runsFab+1 || w.mgr.Runs(lcontoso, con) != runsCon {
		t.Fatalf("after 90 minutes: Fabrikam's connection ran %d times, Contoso's %d, want 1 and 0",
			w.mgr.Runs(w.lid, fab)-runsFab, w.mgr.Runs(lcontoso, con)-runsCon)
	}
	ahead.Store(int64(125 * time.Minute))
	w.mgr.ScheduleOnce(ctx)
	if _, err := w.mgr.Wait(ctx, lcontoso, con); err != nil {
		t.Fatal(err)
	}
	if w.mgr.Runs(lcontoso, con) != runsCon+1 || w.mgr.Runs(w.lid, fab) != runsFab+1 {
		t.Fatalf("after 125 minutes: Contoso's connection ran %d times, Fabrikam's %d, want 1 and 1 in all",
			w.mgr.Runs(lcontoso, con)-runsCon, w.mgr.Runs(w.lid, fab)-runsFab)
	}

	// The partner's view: both connections, of the same app, with health.
	var h struct{ Value []m365.View }
	w.local.Must(200, "GET", "/partner/v1/connections", apitest.PartnerToken, nil).Decode(t, &h)
	seen := map[string]string{}
	for _, v := range h.Value {
		if v.ClientID != appID || v.Sync.LastSuccess == nil || v.Sync.LastError != "" || v.Sync.Kind != "delta" {
			t.Errorf("partner view of %s: %+v", v.ID, v)
		}
		seen[v.TenantID] = v.EntraTenantID
	}
	if len(h.Value) != 2 || seen[w.lid] != entraID || seen[lcontoso] != "contoso-entra" {
		t.Fatalf("partner view: %+v", h.Value)
	}
}

// counter reads a counter of the m365 metrics (by its labels' values).
func counter(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i, lp := range m.GetLabel() {
				if i < len(labels) && lp.GetValue() != labels[i] {
					continue next
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// TestSyncMetrics: a sync's Graph requests, its throttled answers and the
// time waited for them, the objects it read and its outcome are counted
// in the process's metrics (what allot serve exposes on /metrics).
func TestSyncMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m365.RegisterMetrics(reg)
	w := newWorld(t, 3)
	for _, n := range []string{"ann", "bob", "cyd"} {
		w.ruser(n + "@fabrikam.example")
	}
	conn := w.connect(false)
	read := func() [6]float64 {
		return [6]float64{counter(t, reg, "allot_m365_graph_requests_total"), counter(t, reg, "allot_m365_graph_throttled_total"),
			counter(t, reg, "allot_m365_graph_throttle_wait_seconds_total"), counter(t, reg, "allot_m365_sync_objects_total", "user"),
			counter(t, reg, "allot_m365_syncs_total", "full", "ok"), counter(t, reg, "allot_m365_syncs_total", "delta", "ok")}
	}
	before, proxied, throttled := read(), w.proxy.n.Load(), w.proxy.throttled.Load()
	w.sync(conn)
	after := read()
	if d := after[0] - before[0]; d != float64(w.proxy.n.Load()-proxied) || d == 0 {
		t.Errorf("requests counted %v, the proxy saw %d", d, w.proxy.n.Load()-proxied)
	}
	if d := after[1] - before[1]; d != float64(w.proxy.throttled.Load()-throttled) || d == 0 {
		t.Errorf("throttled counted %v, the proxy throttled %d", d, w.proxy.throttled.Load()-throttled)
	}
	if after[2] < before[2] || after[3]-before[3] < 3 || after[4]-before[4] != 1 || after[5] != before[5] {
		t.Errorf("metrics before %v, after the full sync %v", before, after)
	}
	w.sync(conn)
	if again := read(); again[5]-after[5] != 1 {
		t.Errorf("delta syncs counted %v after a delta sync", again[5]-after[5])
	}
}
