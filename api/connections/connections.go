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
	s.Handle("POST /allot/v1/connections", h.create)
	s.Handle("GET /allot/v1/connections", h.list)
	s.Handle("GET /allot/v1/connections/{id}", h.get)
	s.Handle("DELETE /allot/v1/connections/{id}", h.delete)
	s.Handle("POST /allot/v1/connections/{id}/test", h.test)
	s.Handle("POST /allot/v1/connections/{id}/sync", h.sync)
	s.Handle("GET /allot/v1/connections/{id}/plan", h.plan)
	s.Handle("POST /allot/v1/connections/{id}/apply", h.apply)
	s.Handle("GET /partner/v1/connections", h.health)
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
	now := h.m.Env.Now
	at := time.Now().UTC()
	if now != nil {
		at = now().UTC()
	}
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
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
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
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, v)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenantFor(w, r, auth.ManageTenant)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := h.m.Exclusive(t.ID, id, func() error {
		return t.Do(r.Context(), licensing.Op{Actor: p.Actor(), Now: time.Now().UTC(), Why: "delete Microsoft 365 connection"}, func(tx *tenant.Tx) error {
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
	respond.JSON(w, http.StatusOK, map[string]any{"ok": true, "subscribedSkus": n})
}

// sync starts a sync (202 with the connection and its progress), or with
// ?wait=true runs it and answers its result.
func (h *handler) sync(w http.ResponseWriter, r *http.Request) {
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
	started, err := h.m.StartSync(t, id, p.Actor())
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
		respond.JSON(w, http.StatusOK, map[string]any{"started": started, "result": res})
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
	respond.JSON(w, http.StatusOK, map[string]any{"value": out})
}
