package graphsub_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"allot/alert"
	"allot/catalog"
	"allot/graphsub"
	"allot/internal/tenantopts"
	"allot/internal/tenanttest"
	"allot/licensing"
	"allot/store"
	"allot/tenant"
)

// open starts a runtime over st with a notifier hooked to its commits.
func open(t *testing.T, st store.Store, now func() time.Time) (*tenant.Runtime, *graphsub.Notifier) {
	t.Helper()
	svc := alert.New(alert.Config{Store: st.(store.AlertStore), Now: now})
	n := graphsub.New(graphsub.Config{Alerts: svc, Now: now})
	rt, err := tenant.Open(context.Background(), st, catalog.Default(), tenantopts.With(tenant.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now, AfterCommit: n.AfterCommit}))
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.WaitLoaded(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.Attach(rt)
	return rt, n
}

// A subscription is a tenant object: after a restart the new process
// notifies it of the next change.
func TestSubscriptionsSurviveARestart(t *testing.T) {
	ctx := context.Background()
	st := tenanttest.Store(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rt, _ := open(t, st, clock)
	tn := tenanttest.Tenant(t, rt, "contoso")
	sub, err := graphsub.NewSubscription(graphsub.Request{Resource: ptr("users"), ChangeType: ptr("updated"),
		NotificationURL: ptr("https://hooks.contoso.example/n"), ExpirationDateTime: &[]time.Time{now.Add(time.Hour)}[0], ClientState: ptr("cs")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now}, func(tx *tenant.Tx) error { return graphsub.Put(tx, sub) }); err != nil {
		t.Fatal(err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}

	rt, n := open(t, st, clock)
	defer rt.Close(ctx)
	tn, ok := rt.Get("contoso")
	if !ok {
		t.Fatal("tenant not loaded")
	}
	if err := tn.Do(ctx, licensing.Op{Actor: "test", Now: now}, func(tx *tenant.Tx) error {
		return tx.Engine.PutUser(licensing.Op{Actor: "test", Now: now}, licensing.User{ID: "u1", UserPrincipalName: "u1@contoso.example", DisplayName: "U", UsageLocation: "US", AccountEnabled: true})
	}); err != nil {
		t.Fatal(err)
	}
	n.RunPending(ctx)
	jobs, err := st.(store.AlertStore).AlertJobs(ctx, "contoso", store.JobPending, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].EndpointID != "graphsub:"+sub.ID {
		t.Fatalf("jobs after restart: %+v", jobs)
	}
	var c graphsub.Collection
	if err := json.Unmarshal(jobs[0].Payload, &c); err != nil || len(c.Value) != 1 || c.Value[0].Resource != "Users/u1" || *c.Value[0].ClientState != "cs" {
		t.Errorf("payload: %s", jobs[0].Payload)
	}
}

func ptr(s string) *string { return &s }
