package cloudlicensing_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"allot/api/graph"
	"allot/catalog"
	"allot/internal/tenantopts"
	"allot/tenant"
)

// The reproduction of issue 15 item 2 over HTTP: a user assigned directly
// through an allotment, then deleted through Graph; the database must load
// again with no inconsistency.
func TestDeletedUserAssignedThroughAnAllotmentLeavesALoadableDatabase(t *testing.T) {
	w := setupWith(t, graph.Register)
	e := w.e
	ga := e.Token(w.tenant, "GlobalAdministrator")
	e.Must(201, "POST", base+"/assignments", w.admin, map[string]any{
		"allotment@odata.bind":  base + "/allotments/" + w.a,
		"assignedTo@odata.bind": "users/" + w.users[1]})
	e.Must(204, "DELETE", "/v1.0/users/"+w.users[1], ga, nil)
	rt, err := tenant.Open(context.Background(), e.Store, catalog.Default(), tenantopts.With(tenant.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	if err != nil {
		t.Fatalf("the database no longer opens: %v", err)
	}
	defer rt.Close(context.Background())
	if ro := rt.ReadOnly(); len(ro) != 0 {
		t.Fatalf("tenants read-only after the deletion: %v", ro)
	}
}

// Through the API, a user without a usage location cannot be assigned
// through an allotment, as assignLicense refuses it: 400 with Graph's
// message.
func TestAllotmentAssignmentToAUserWithoutUsageLocationIsRefused(t *testing.T) {
	w := setupWith(t, graph.Register)
	e := w.e
	ga := e.Token(w.tenant, "GlobalAdministrator")
	e.Must(204, "PATCH", "/v1.0/users/"+w.users[2], ga, map[string]any{"usageLocation": nil})
	r := e.Must(400, "POST", base+"/assignments", w.admin, map[string]any{
		"allotment@odata.bind":  base + "/allotments/" + w.a,
		"assignedTo@odata.bind": "users/" + w.users[2]})
	if r.ErrorMessage() != "License assignment cannot be done for user with invalid usage location." {
		t.Fatalf("message %q", r.ErrorMessage())
	}
}
