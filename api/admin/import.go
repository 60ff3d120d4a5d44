package admin

import (
	"context"
	"io"
	"net/http"
	"os"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/auth"
	"allot/bundle"
	"allot/tenant"
)

// maxBundle limits an uploaded tenant bundle.
const maxBundle = 1 << 30

// importTenant answers POST /allot/v1/tenants/{tenantId}/import with a
// .zip bundle as the body (application/zip): all or nothing, 200 with what
// changed.
func (h *handler) importTenant(w http.ResponseWriter, r *http.Request) {
	p := auth.FromContext(r.Context())
	id := r.PathValue("tenantId")
	if !auth.Can(p, auth.ManageTenant, id) {
		if p.TenantID != id {
			respond.Error(w, r, allot.Errorf(allot.ENOTFOUND, "Tenant %s does not exist.", id))
		} else {
			scope.Deny(w, r, p)
		}
		return
	}
	t, err := h.s.TenantByID(r, id)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/zip" && ct != "application/x-zip-compressed" && ct != "application/octet-stream" {
		respond.Error(w, r, allot.Errorf(allot.EINVALID, "Send the bundle as a .zip body with Content-Type application/zip."))
		return
	}
	if err := respond.Declared(r, maxBundle); err != nil {
		respond.Error(w, r, err)
		return
	}
	// The upload goes to a temporary file, not memory: a client holds at
	// most the disk space of what it actually sent, never memory.
	f, err := os.CreateTemp("", "allot-bundle-*.zip")
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, http.MaxBytesReader(w, r.Body, maxBundle))
	if err != nil {
		respond.Error(w, r, respond.ReadError(err, maxBundle)) // 413 over maxBundle, 408 stalled
		return
	}
	b, err := bundle.ReadZipAt(f, size, h.s.RT.Catalog())
	if err != nil {
		h.reportImport(r, t, err)
		respond.Error(w, r, err)
		return
	}
	stats, err := bundle.Apply(r.Context(), t, b.Consume(), p.Actor(), h.s.RT.Now())
	h.reportImport(r, t, err)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, importResult{Users: stats.Users, Groups: stats.Groups, Members: stats.Members, Licenses: stats.Licenses})
}

// importResult answers an import: how many of each were imported.
type importResult struct {
	Users    int `json:"users"`
	Groups   int `json:"groups"`
	Members  int `json:"members"`
	Licenses int `json:"licenses"`
}

// reportImport tells the alert rules that watch imports how one ended.
func (h *handler) reportImport(r *http.Request, t *tenant.Tenant, failure error) {
	if h.s.Alerts == nil {
		return
	}
	if err := h.s.Alerts.ReportOperation(context.WithoutCancel(r.Context()), t, "import", failure); err != nil {
		h.s.Log.Error("alert evaluation of an import failed", "tenant", t.ID, "err", err)
	}
}
