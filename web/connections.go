package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
// The buttons call the same domain functions as the API (m365.Test and the
// manager's StartSync/StartReports); a sync runs in the background and
// the page shows its progress when reloaded.

func registerConnections(s *server.Server, h *handler) {
	s.HandlePublic("GET /admin/connections", h.page(auth.ReadReports, h.connectionsPage))
	s.HandlePublic("POST /admin/connections/{id}/test", h.page(auth.ManageTenant, h.testConnection))
	s.HandlePublic("POST /admin/connections/{id}/sync", h.page(auth.ManageLicensing, h.syncConnection))
	s.HandlePublic("POST /admin/connections/{id}/reports", h.page(auth.ManageLicensing, h.syncConnectionReports))
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
