package connections_test

import (
	"context"
	"sync"
	"testing"

	"allot/tenant"
)

// The manager tells SyncEnded how each directory sync ended — the error of
// a failed one, nil for a success — which serve turns into the alert rules
// on failed syncs (alert.OperationFailed, source "sync").
func TestSyncEndedIsToldEachOutcome(t *testing.T) {
	w := newWorld(t, 0)
	var mu sync.Mutex
	var got []error
	w.mgr.SyncEnded = func(_ context.Context, tn *tenant.Tenant, err error) {
		if tn.ID != w.lid {
			t.Errorf("told about tenant %s", tn.ID)
		}
		mu.Lock()
		got = append(got, err)
		mu.Unlock()
	}
	bad := w.local.Must(201, "POST", "/allot/v1/connections", w.ladmin, map[string]any{"entraTenantId": entraID, "clientId": appID,
		"clientSecret": "not-the-secret", "graphUrl": w.proxy.URL, "authorityHost": w.tokens.URL}).JSON()["id"].(string)
	w.local.Call("POST", "/allot/v1/connections/"+bad+"/sync?wait=true", w.ladmin, nil)
	w.local.Must(204, "DELETE", "/allot/v1/connections/"+bad, w.ladmin, nil)
	good := w.connect(false)
	w.sync(good)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] == nil || got[1] != nil {
		t.Fatalf("outcomes told: %v, want [failure, nil]", got)
	}
}
