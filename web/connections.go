package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"allot"
	"allot/api/server"
	"allot/auth"
	"allot/m365"
	"allot/tenant"
)

// The Microsoft 365 connections page (served when Register is given
// WithM365): the tenant's connections with their health, last directory
// and reports syncs, errors and a running sync's progress, and the
// buttons of /allot/v1/connections — "Test" (ManageTenant, as the test
// API), "Sync now" and "Sync reports" (ManageLicensing, as the sync APIs).
// "Plan" (ManageLicensing, as GET …/plan) opens a page with the
// assignLicense calls allot would make (users, products, disabled plans,
// why) and, when the connection allows applying, "Apply" (ManageLicensing,
// as POST …/apply), which runs m365.ApplyPlanned with the digest of the
// plan shown: a plan that changed meanwhile is refused, nothing sent.
// The buttons call the same domain functions as the API (m365.Test, Plan,
// Apply and the manager's StartSync/StartReports and Exclusive); a sync
// runs in the background and the page shows its progress when reloaded.

func registerConnections(s *server.Server, h *handler) {
	s.HandlePublic("GET /admin/connections", h.page(auth.ReadReports, h.connectionsPage))
	s.HandlePublic("POST /admin/connections/{id}/test", h.page(auth.ManageTenant, h.testConnection))
	s.HandlePublic("POST /admin/connections/{id}/sync", h.page(auth.ManageLicensing, h.syncConnection))
	s.HandlePublic("POST /admin/connections/{id}/reports", h.page(auth.ManageLicensing, h.syncConnectionReports))
	s.HandlePublic("GET /admin/connections/{id}/plan", h.page(auth.ManageLicensing, h.connectionPlan))
	s.HandlePublic("POST /admin/connections/{id}/apply", h.page(auth.ManageLicensing, h.applyConnection))
}

// CanConnections: the navigation shows the connections page.
func (v *viewer) CanConnections() bool { return v.m365 && v.can(auth.ReadReports) }

// CanTestConnection and CanSyncConnection: the page shows the buttons.
func (v *viewer) CanTestConnection() bool { return v.can(auth.ManageTenant) }
func (v *viewer) CanSyncConnection() bool { return v.can(auth.ManageLicensing) }

type connectionsData struct {
	Conns []m365.View
}

func (h *handler) connectionsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d := connectionsData{}
	v.T.Read(func(s *tenant.State) {
		for _, c := range m365.List(s) {
			d.Conns = append(d.Conns, h.m365.View(s, v.T.ID, c))
		}
	})
	h.render(w, r, v, http.StatusOK, "connections", pageData{Title: "Microsoft 365 connections", Nav: "connections", Data: d})
}

// testTimeout bounds a test from the page: signing in and one Graph read.
const testTimeout = 30 * time.Second

// testConnection signs in to Microsoft 365 and reads its products, as
// POST /allot/v1/connections/{id}/test.
func (h *handler) testConnection(w http.ResponseWriter, r *http.Request, v *viewer) {
	ctx, cancel := context.WithTimeout(r.Context(), testTimeout)
	defer cancel()
	n, err := m365.Test(ctx, v.T, h.m365.Env, r.PathValue("id"))
	if err != nil {
		h.connectionFailed(w, r, err)
		return
	}
	h.done(w, r, "/admin/connections", nil, fmt.Sprintf("Connection works: Microsoft 365 lists %s.", plural(n, "product", "products")))
}

func (h *handler) syncConnection(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.startConnectionJob(w, r, v, h.m365.StartSync, "Directory sync started.")
}

func (h *handler) syncConnectionReports(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.startConnectionJob(w, r, v, h.m365.StartReports, "Usage reports sync started.")
}

// startConnectionJob starts a sync in the background (as the sync APIs
// without wait): a job already running is refused with a message.
func (h *handler) startConnectionJob(w http.ResponseWriter, r *http.Request, v *viewer,
	start func(*tenant.Tenant, string, string) (bool, error), okText string) {
	id := r.PathValue("id")
	started, err := start(v.T, id, v.P.Actor())
	if err == nil && !started {
		err = conflictErr("A sync or apply of this connection is already running.")
	}
	h.done(w, r, "/admin/connections", err, okText)
}

// connectionFailed ends a test that failed: allot's own refusals (an
// unknown connection) with their message, a failure of Microsoft Graph or
// Entra with its text (not the viewer's fault; shown on the page).
func (h *handler) connectionFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ae *allot.Error
	if errors.As(err, &ae) {
		h.done(w, r, "/admin/connections", err, "")
		return
	}
	h.setFlash(w, r, false, "Test failed: "+err.Error())
	http.Redirect(w, r, "/admin/connections", http.StatusSeeOther)
}

// planTimeout bounds a plan or an apply from the admin center: every
// user's licenses read from Graph, and the calls.
const planTimeout = 5 * time.Minute

type connectionPlanData struct {
	Conn   m365.View
	Plan   *m365.PlanResult
	Digest string
}

// connectionPlan shows the calls an apply would make now (m365.Plan, as
// GET /allot/v1/connections/{id}/plan); it changes nothing.
func (h *handler) connectionPlan(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	var d connectionPlanData
	var err error
	v.T.Read(func(s *tenant.State) {
		var c *m365.Connection
		if c, err = m365.Get(s, id); err == nil {
			d.Conn = h.m365.View(s, v.T.ID, c)
		}
	})
	if err != nil {
		h.failErr(w, r, v, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), planTimeout)
	defer cancel()
	if d.Plan, err = m365.Plan(ctx, v.T, h.m365.Env, id); err != nil {
		h.upstreamFailed(w, r, err, "Plan failed: ")
		return
	}
	d.Digest = d.Plan.Digest()
	h.render(w, r, v, http.StatusOK, "connectionplan", pageData{Title: "Plan of " + or(d.Conn.DisplayName, d.Conn.EntraTenantID), Nav: "connections", Data: d})
}

// applyConnection runs the plan shown (its digest in the form) as POST
// /allot/v1/connections/{id}/apply does: while no other job of the
// connection runs, each call recorded and audited, stopping at the first
// refusal.
func (h *handler) applyConnection(w http.ResponseWriter, r *http.Request, v *viewer) {
	id := r.PathValue("id")
	back := "/admin/connections/" + url.PathEscape(id) + "/plan"
	digest := r.PostForm.Get("plan")
	if digest == "" {
		h.done(w, r, "/admin/connections", allot.Errorf(allot.EINVALID, "Apply the plan from its page: open Plan first."), "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), planTimeout)
	defer cancel()
	var res *m365.ApplyResult
	err := h.m365.Exclusive(v.T.ID, id, func() error {
		var err error
		res, err = m365.ApplyPlanned(ctx, v.T, h.m365.Env, id, v.P.Actor(), digest)
		return err
	})
	switch {
	case err != nil:
		h.upstreamFailed(w, r, err, "Apply failed: ")
	case res.Stopped != nil:
		h.setFlash(w, r, false, fmt.Sprintf("Microsoft 365 refused the call for %s: %s. %s applied before it; nothing after it was sent.",
			res.Stopped.UserPrincipalName, res.Error, plural(len(res.Applied), "call was", "calls were")))
		http.Redirect(w, r, back, http.StatusSeeOther)
	default:
		h.done(w, r, back, nil, fmt.Sprintf("Applied: %s made in Microsoft 365.", plural(len(res.Applied), "call", "calls")))
	}
}

// upstreamFailed ends a plan or apply that failed: allot's own refusals
// (an unknown connection, one that may not apply, a changed plan) with
// their message, a failure of Microsoft Graph or Entra prefixed, both on
// the connections page.
func (h *handler) upstreamFailed(w http.ResponseWriter, r *http.Request, err error, prefix string) {
	var ae *allot.Error
	if errors.As(err, &ae) {
		h.done(w, r, "/admin/connections", err, "")
		return
	}
	h.setFlash(w, r, false, prefix+err.Error())
	http.Redirect(w, r, "/admin/connections", http.StatusSeeOther)
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
