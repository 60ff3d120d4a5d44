// Package connections is the admin API of Microsoft 365 connections
// (/allot/v1/connections: create, list, show, test, sync, plan, apply,
// delete) and the partner's view of every connection's health
// (/partner/v1/connections). A connection's secret is never returned.
package connections

import (
	"errors"
	"net/http"
	"time"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/m365"
	"allot/tenant"
)

// Register mounts the routes; m runs the syncs (its schedule is started
// by the caller).
func Register(s *server.Server, m *m365.Manager) {
	h := &handler{s: s, m: m}
	tp := []openapi.Param{server.TenantParam}
	nf := []int{http.StatusForbidden, http.StatusNotFound}
	upstreamErrs := []int{http.StatusForbidden, http.StatusNotFound, http.StatusBadGateway}
	s.Route("POST /allot/v1/connections", openapi.Op{ID: "createConnection", Tag: "connections", Summary: "Connect the tenant to a Microsoft 365 tenant (an Entra app registration)",
		Description: "The client secret is sealed with the server's key (400 when none is configured) and never shown again. A tenant has at most one connection per Entra tenant (409).",
		Params:      tp, Body: m365.Input{},
		Example: `{"displayName":"Contoso production","entraTenantId":"contoso.onmicrosoft.com","clientId":"5b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d","clientSecret":"app-secret-value","apply":false,"syncEvery":"1h"}`,
		Status:  http.StatusCreated, Response: m365.View{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, h.create)
	s.Route("GET /allot/v1/connections", openapi.Op{ID: "listConnections", Tag: "connections", Summary: "List the tenant's Microsoft 365 connections and their sync state",
		Params: tp, Response: valueList[m365.View]{}, Errors: []int{http.StatusForbidden}}, h.list)
	s.Route("GET /allot/v1/connections/{id}", openapi.Op{ID: "getConnection", Tag: "connections", Summary: "Get a connection: its last sync, error and a running sync's progress",
		Params: tp, Response: m365.View{}, Errors: nf}, h.get)
	s.Route("DELETE /allot/v1/connections/{id}", openapi.Op{ID: "deleteConnection", Tag: "connections", Summary: "Delete a connection (the synced objects stay)",
		Params: tp, Status: http.StatusNoContent, Errors: nf}, h.delete)
	s.Route("POST /allot/v1/connections/{id}/test", openapi.Op{ID: "testConnection", Tag: "connections", Summary: "Sign in to Microsoft 365 and read its subscribed products",
		Params: tp, Response: testResult{}, Errors: upstreamErrs}, h.test)
	s.Route("POST /allot/v1/connections/{id}/sync", openapi.Op{ID: "syncConnection", Tag: "connections", Summary: "Start a sync in (202 with the connection and its progress)",
		Description: "With `wait=true` the sync runs to its end and the answer is 200 with `{\"started\": bool, \"result\": {…}}` (a sync already running is waited for). Without it, a sync or apply already running is 409.",
		Params:      []openapi.Param{server.TenantParam, {Name: "wait", Type: "boolean", Default: false, Description: "true: run the sync and answer its result (200)"}},
		Status:      http.StatusAccepted, Response: m365.View{}, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusBadGateway}}, h.sync)
	s.Route("POST /allot/v1/connections/{id}/reports", openapi.Op{ID: "syncConnectionReports", Tag: "connections", Summary: "Start a sync of the usage reports and report settings (202 with the connection and its progress)",
		Description: "Reads `/admin/reportSettings` and the usage reports (period D7) that allot's usage importer understands, and imports each into the tenant's usage; a report imported before changes nothing. With `wait=true` it runs to its end and the answer is 200 with `{\"started\": bool, \"result\": {…}}`. Scheduled every `reportsEvery` (default 24h).",
		Params:      []openapi.Param{server.TenantParam, {Name: "wait", Type: "boolean", Default: false, Description: "true: run the reports sync and answer its result (200)"}},
		Status:      http.StatusAccepted, Response: m365.View{}, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusBadGateway}}, h.reports)
	s.Route("GET /allot/v1/connections/{id}/plan", openapi.Op{ID: "planConnection", Tag: "connections", Summary: "The license changes an apply would make in Microsoft 365",
		Params: tp, Response: m365.PlanResult{}, Errors: upstreamErrs}, h.plan)
	s.Route("POST /allot/v1/connections/{id}/apply", openapi.Op{ID: "applyConnection", Tag: "connections", Summary: "Make the planned license changes in Microsoft 365",
		Description: "When Microsoft 365 refuses a call the apply stops there and answers 409 with the same body, its `stopped` naming the call.",
		Params:      tp, Response: m365.ApplyResult{}, Errors: []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict, http.StatusBadGateway}}, h.apply)
	s.Route("GET /partner/v1/connections", openapi.Op{ID: "listPartnerConnections", Tag: "connections", Summary: "Every tenant's Microsoft 365 connections and their health (partner administrator)",
		Response: valueList[m365.View]{}, Errors: []int{http.StatusForbidden}}, h.health)
}

// valueList is a list answer: {"value": [...]}.
type valueList[T any] struct {
	Value []T `json:"value"`
}

// testResult is the answer of a connection's test.
type testResult struct {
	OK             bool `json:"ok"`
	SubscribedSKUs int  `json:"subscribedSkus" doc:"How many products Microsoft 365 lists (subscribedSkus)"`
}

// syncResult is the answer of a sync with wait=true.
type syncResult struct {
	Started bool        `json:"started" doc:"false: a sync already running was waited for"`
	Result  m365.Result `json:"result"`
}

type handler struct {
	s *server.Server
	m *m365.Manager
}

// tenantFor resolves the tenant and checks the action.
func (h *handler) tenantFor(w http.ResponseWriter, r *http.Request, a auth.Action) (*tenant.Tenant, *auth.Principal, bool) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		respond.Error(w, r, err)
		return nil, nil, false
	}
	if !scope.Require(w, r, p, a, t.ID) {
		return nil, nil, false
	}
	return t, p, true
}

// now is the syncs' clock (m365.Env.Now) when set, else the runtime's.
func (h *handler) now() time.Time {
	if h.m.Env.Now != nil {
		return h.m.Env.Now().UTC()
	}
	return h.s.RT.Now()
}

// upstream answers a failure of Microsoft Graph or Entra: 502 with its
// message (not the caller's fault); allot's own refusals keep their status.
func upstream(w http.ResponseWriter, r *http.Request, err error) {
	var ae *allot.Error
	if errors.As(err, &ae) {
		respond.Error(w, r, err)
		return
	}
	respond.Status(w, r, http.StatusBadGateway, "UpstreamFailure", err.Error())
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenantFor(w, r, auth.ManageTenant)
	if !ok {
		return
	}
	var in m365.Input
	if err := respond.Decode(r, &in, 64<<10, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	at := h.now()
	c, err := m365.NewConnection(in, auth.NewID(), h.m.Env.Sealer, at)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	err = t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: at, Why: "create Microsoft 365 connection"}, func(tx *tenant.Tx) error {
		return m365.Put(tx, c)
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	var v m365.View
	t.Read(func(s *tenant.State) { v = h.m.View(s, t.ID, c) })
	respond.JSON(w, http.StatusCreated, v)
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenantFor(w, r, auth.ReadReports)
	if !ok {
		return
	}
	out := []m365.View{}
	t.Read(func(s *tenant.State) {
		for _, c := range m365.List(s) {
			out = append(out, h.m.View(s, t.ID, c))
		}
	})
	respond.JSON(w, http.StatusOK, valueList[m365.View]{out})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenantFor(w, r, auth.ReadReports)
	if !ok {
		return
	}
	var v m365.View
	var err error
	t.Read(func(s *tenant.State) {
		var c *m365.Connection
		if c, err = m365.Get(s, r.PathValue("id")); err == nil {
			v = h.m.View(s, t.ID, c)
		}
	})
	respond.Result(w, r, http.StatusOK, v, err)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenantFor(w, r, auth.ManageTenant)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := h.m.Exclusive(t.ID, id, func() error {
		return t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: h.now(), Why: "delete Microsoft 365 connection"}, func(tx *tenant.Tx) error {
			return m365.Delete(tx, id)
		})
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) test(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenantFor(w, r, auth.ManageTenant)
	if !ok {
		return
	}
	n, err := m365.Test(r.Context(), t, h.m.Env, r.PathValue("id"))
	if err != nil {
		upstream(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, testResult{OK: true, SubscribedSKUs: n})
}

// sync starts a sync (202 with the connection and its progress), or with
// ?wait=true runs it and answers its result.
func (h *handler) sync(w http.ResponseWriter, r *http.Request) { h.startJob(w, r, h.m.StartSync) }

// reports starts a usage reports sync, as sync does a directory sync.
func (h *handler) reports(w http.ResponseWriter, r *http.Request) { h.startJob(w, r, h.m.StartReports) }

func (h *handler) startJob(w http.ResponseWriter, r *http.Request, start func(*tenant.Tenant, string, string) (bool, error)) {
	t, p, ok := h.tenantFor(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	wait := r.URL.Query().Get("wait")
	if wait != "" && wait != "true" && wait != "false" {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "wait must be true or false."))
		return
	}
	id := r.PathValue("id")
	started, err := start(t, id, p.Actor())
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if wait == "true" {
		res, err := h.m.Wait(r.Context(), t.ID, id)
		if err != nil {
			upstream(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, syncResult{Started: started, Result: res})
		return
	}
	var v m365.View
	t.Read(func(s *tenant.State) {
		if c, err := m365.Get(s, id); err == nil {
			v = h.m.View(s, t.ID, c)
		}
	})
	if !started {
		respond.Error(w, r, allot.Errorf(allot.ECONFLICT, "A sync or apply of connection %s is already running.", id))
		return
	}
	respond.JSON(w, http.StatusAccepted, v)
}

func (h *handler) plan(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenantFor(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	p, err := m365.Plan(r.Context(), t, h.m.Env, r.PathValue("id"))
	if err != nil {
		upstream(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, p)
}

func (h *handler) apply(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenantFor(w, r, auth.ManageLicensing)
	if !ok {
		return
	}
	id := r.PathValue("id")
	var res *m365.ApplyResult
	err := h.m.Exclusive(t.ID, id, func() error {
		var err error
		res, err = m365.Apply(r.Context(), t, h.m.Env, id, p.Actor())
		return err
	})
	if err != nil {
		upstream(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Stopped != nil {
		status = http.StatusConflict
	}
	respond.JSON(w, status, res)
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	if !p.IsPartner() {
		respond.Denied(w, r)
		return
	}
	out := h.m.Health()
	if out == nil {
		out = []m365.View{}
	}
	respond.JSON(w, http.StatusOK, valueList[m365.View]{out})
}
