// Package web is allot's admin center: server-rendered HTML pages under
// /admin/ for the people who run a tenant's licensing — a dashboard of the
// license position, products and seats, users and groups with their
// licenses and the engine's explanations, dynamic rule editing with a
// preview, allotments (the delegated owner's view), license errors,
// waiting rooms and the audit log.
//
// Templates, CSS and JavaScript are embedded in the binary; nothing is
// fetched from elsewhere. Pages work without JavaScript; a little of it
// validates rules as they are typed and shows times in the viewer's zone.
//
// Sign-in takes an API token (auth), kept in an HttpOnly, SameSite=Strict
// cookie. The pages obey the roles of the APIs they mirror: readers see
// but cannot change (no forms, POSTs refused with 403), delegated
// allotment owners reach only their allotments, their groups and their
// users (anything else answers 404). Every form carries a per-session CSRF
// token, checked on every POST (403 otherwise).
//
// Lists page and sort on the server over a read-side index kept up to date
// from each commit (index.go), so pages stay fast at a million users.
package web

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"allot"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/licensing"
	"allot/m365"
	"allot/reclamation"
	"allot/store"
	"allot/tenant"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// handler serves the admin center.
type handler struct {
	s        *server.Server
	pages    map[string]*template.Template
	now      func() time.Time
	sessions sessions
	// m365 runs the Microsoft 365 connections' syncs (WithM365); nil:
	// the connections page is not served.
	m365 *m365.Manager
	// reclaim runs reclamation campaigns (Options.Reclamation); nil: the
	// campaigns pages are not served.
	reclaim *reclamation.Service
}

// Options are the admin center's optional parts: each page that acts
// through a service is served when its service is given (the service the
// matching API uses, so the page applies the same rules).
type Options struct {
	// M365 serves the Microsoft 365 connections page (connections.go),
	// whose buttons start syncs through the manager /allot/v1/connections
	// uses.
	M365 *m365.Manager
	// Reclamation serves the reclamation campaigns pages
	// (reclamation.go) through the service /allot/v1/reclamation uses.
	Reclamation *reclamation.Service
}

// Mount returns a Register that serves the optional parts o names too.
func Mount(o Options) func(*server.Server) {
	return func(s *server.Server) { register(s, o) }
}

// WithM365 returns a Register that serves the Microsoft 365 connections
// page too (Mount with Options.M365).
func WithM365(m *m365.Manager) func(*server.Server) {
	return Mount(Options{M365: m})
}

// Register mounts the admin center on s: the pages under /admin/, their
// assets under /admin/static/, and a redirect from / to /admin/.
func Register(s *server.Server) { register(s, Options{}) }

func register(s *server.Server, o Options) {
	h := newHandler(s)
	h.m365, h.reclaim = o.M365, o.Reclamation
	s.Browser = h.browserSession
	s.HandlePublic("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/", http.StatusFound)
	})
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/admin/static/", http.FileServerFS(static))
	s.HandlePublic("GET /admin/static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
	s.HandlePublic("GET /admin/signin", h.signInPage)
	s.HandlePublic("POST /admin/signin", h.signIn)
	s.HandlePublic("POST /admin/signout", h.signOut)
	s.HandlePublic("GET /admin/tenants", h.partnerOnly(h.tenantsPage))
	s.HandlePublic("POST /admin/tenants", h.partnerOnly(h.chooseTenant))

	s.HandlePublic("GET /admin/{$}", h.page(auth.OpenAdminCenter, h.dashboard))
	s.HandlePublic("GET /admin/", h.page(auth.OpenAdminCenter, h.notFound)) // any other page
	s.HandlePublic("GET /admin/products", h.page(auth.ReadReports, h.products))
	s.HandlePublic("GET /admin/products/{sku}", h.page(auth.ReadReports, h.product))
	s.HandlePublic("GET /admin/users", h.page(auth.ReadDirectory, h.users))
	s.HandlePublic("GET /admin/users/new", h.page(auth.WriteUsers, h.newUserPage))
	s.HandlePublic("POST /admin/users", h.page(auth.WriteUsers, h.createUser))
	s.HandlePublic("GET /admin/users/{id}", h.page(auth.BrowseScoped, h.user))
	s.HandlePublic("GET /admin/users/{id}/edit", h.page(auth.UpdateUsageLocation, h.editUserPage))
	s.HandlePublic("POST /admin/users/{id}/edit", h.page(auth.UpdateUsageLocation, h.updateUser))
	s.HandlePublic("POST /admin/users/{id}/licenses", h.page(auth.AssignUserLicense, h.assignUserLicense))
	s.HandlePublic("POST /admin/users/{id}/licenses/remove", h.page(auth.AssignUserLicense, h.removeUserLicense))
	s.HandlePublic("GET /admin/groups", h.page(auth.ReadDirectory, h.groups))
	s.HandlePublic("GET /admin/groups/new", h.page(auth.WriteGroups, h.newGroupPage))
	s.HandlePublic("POST /admin/groups", h.page(auth.WriteGroups, h.createGroup))
	s.HandlePublic("GET /admin/groups/{id}", h.page(auth.BrowseScoped, h.group))
	s.HandlePublic("GET /admin/groups/{id}/edit", h.page(auth.WriteGroups, h.editGroupPage))
	s.HandlePublic("POST /admin/groups/{id}/edit", h.page(auth.WriteGroups, h.updateGroup))
	s.HandlePublic("POST /admin/groups/{id}/members", h.page(auth.BrowseScoped, h.addGroupMember))
	s.HandlePublic("POST /admin/groups/{id}/members/remove", h.page(auth.BrowseScoped, h.removeGroupMember))
	s.HandlePublic("POST /admin/groups/{id}/licenses", h.page(auth.AssignGroupLicense, h.assignGroupLicense))
	s.HandlePublic("POST /admin/groups/{id}/licenses/remove", h.page(auth.AssignGroupLicense, h.removeGroupLicense))
	s.HandlePublic("POST /admin/groups/{id}/mode", h.page(auth.AssignGroupLicense, h.setAssignmentMode))
	s.HandlePublic("POST /admin/groups/{id}/rule", h.page(auth.WriteGroups, h.saveRule))
	s.HandlePublic("POST /admin/rules/validate", h.page(auth.ReadDirectory, h.validateRule))
	s.HandlePublic("GET /admin/allotments", h.page(auth.BrowseScoped, h.allotments))
	s.HandlePublic("GET /admin/allotments/new", h.page(auth.ManageLicensing, h.newAllotmentPage))
	s.HandlePublic("POST /admin/allotments", h.page(auth.ManageLicensing, h.createAllotment))
	s.HandlePublic("GET /admin/allotments/{id}", h.page(auth.BrowseScoped, h.allotment))
	s.HandlePublic("POST /admin/allotments/{id}/edit", h.page(auth.BrowseScoped, h.updateAllotment))
	s.HandlePublic("POST /admin/allotments/{id}/units", h.page(auth.ManageLicensing, h.setAllottedUnits))
	s.HandlePublic("POST /admin/allotments/{id}/assignments", h.page(auth.BrowseScoped, h.addAllotmentAssignment))
	s.HandlePublic("POST /admin/allotments/{id}/assignments/remove", h.page(auth.BrowseScoped, h.removeAllotmentAssignment))
	s.HandlePublic("GET /admin/errors", h.page(auth.ReadReports, h.errorsPage))
	s.HandlePublic("GET /admin/waiting", h.page(auth.ReadReports, h.waitingPage))
	s.HandlePublic("GET /admin/audit", h.page(auth.ReadReports, h.auditPage))
	s.HandlePublic("GET /admin/findings", h.page(auth.ReadReports, h.findingsPage))
	s.HandlePublic("POST /admin/findings/refresh", h.page(auth.ReadReports, h.refreshFindings))
	s.HandlePublic("POST /admin/whatif", h.page(auth.ReadReports, h.whatIfPage))
	s.HandlePublic("GET /admin/settings", h.page(auth.ReadReports, h.settingsPage))
	s.HandlePublic("POST /admin/settings", h.page(auth.ReadReports, h.saveSettings))
	s.HandlePublic("GET /admin/tokens", h.page(auth.ManageTenant, h.tokensPage))
	s.HandlePublic("POST /admin/tokens", h.page(auth.ManageTenant, h.createToken))
	s.HandlePublic("POST /admin/tokens/{id}/revoke", h.page(auth.ManageTenant, h.revokeToken))
	s.HandlePublic("GET /admin/subscriptions", h.page(auth.ManageTenant, h.subscriptionsPage))
	s.HandlePublic("POST /admin/subscriptions", h.page(auth.ManageTenant, h.createSubscription))
	s.HandlePublic("POST /admin/subscriptions/{id}", h.page(auth.ManageTenant, h.changeSubscription))
	registerAlerts(s, h)
	registerSchedules(s, h)
	registerChargeback(s, h)
	if h.m365 != nil {
		registerConnections(s, h)
	}
	if h.reclaim != nil {
		registerReclamation(s, h)
	}
}

func newHandler(s *server.Server) *handler {
	h := &handler{s: s, pages: parseTemplates(), now: s.RT.Now}
	h.sessions.st, _ = s.Store.(store.SessionStore)
	return h
}

// viewer is who looks at a page, in which tenant.
type viewer struct {
	P          *auth.Principal
	T          *tenant.Tenant
	TenantName string
	CSRF       string
	// Limited: a delegated allotment owner (see api/scope).
	Limited bool
	// m365: the connections page is served (WithM365).
	m365 bool
	// reclaim: the reclamation pages are served (Options.Reclamation).
	reclaim bool
}

// can reports whether the viewer may use pages or forms needing an action
// (auth.Can, the table the APIs use too: each page or form needs what the
// API it stands for needs); the templates call it through the names below.
func (v *viewer) can(a auth.Action) bool { return auth.Can(v.P, a, v.T.ID) }

// Template helpers: which forms and links to show.
func (v *viewer) CanAssignUser() bool  { return v.can(auth.AssignUserLicense) }
func (v *viewer) CanAssignGroup() bool { return v.can(auth.AssignGroupLicense) }
func (v *viewer) CanWriteGroups() bool { return v.can(auth.WriteGroups) }
func (v *viewer) CanAllotments() bool  { return v.can(auth.ManageLicensing) }
func (v *viewer) CanReports() bool     { return v.can(auth.ReadReports) }
func (v *viewer) CanDirectory() bool   { return v.can(auth.ReadDirectory) }
func (v *viewer) CanWriteUsers() bool  { return v.can(auth.WriteUsers) }
func (v *viewer) CanEditUser() bool    { return v.can(auth.UpdateUsageLocation) }
func (v *viewer) CanTokens() bool      { return v.can(auth.ManageTenant) }

// CanManageMembers: the group forms of members are open to the writers of
// groups and to delegated allotment owners (who may change the members of
// the groups their allotments license: api/scope MayChangeMembers).
func (v *viewer) CanManageMembers() bool { return v.CanWriteGroups() || v.Limited }

// CanEditAllotments: the allotment form is open to the administrators of
// licensing and to delegated owners (their allotments' name and owners:
// api/scope MayChangeAllotment).
func (v *viewer) CanEditAllotments() bool { return v.CanAllotments() || v.Limited }

// CanSubscriptions: the partner administrator buys and changes the
// customer's subscriptions (the partner API's).
func (v *viewer) CanSubscriptions() bool { return v.P.IsPartner() }

// CanPosition: the license position report (position.html, .csv), whole
// or, for a delegated owner, of its allotments (as GET /allot/v1/position).
func (v *viewer) CanPosition() bool { return v.can(auth.ReadLicenseUsage) || v.Limited }

// Name is the principal's display name.
func (v *viewer) Name() string { return v.P.DisplayName }

// Roles lists the principal's roles.
func (v *viewer) Roles() string {
	if v.P.IsPartner() {
		return "Partner administrator"
	}
	return strings.Join(v.P.Roles, ", ")
}

// scope returns the viewer's scope over a state (nil: everything).
func (v *viewer) scope(s *tenant.State) *scope.Scope { return scope.Of(v.P, s.Engine) }

// op is the licensing context of a command the viewer asks for.
func (v *viewer) op(now time.Time, why string) licensing.Op {
	return licensing.Op{Actor: v.P.Actor(), Now: now.UTC(), Why: why}
}

// page wraps a page or form handler: it signs the request in from the
// session cookie (redirecting to the sign-in page when there is none),
// resolves the tenant, checks the CSRF token of a POST and the permission,
// and then calls fn.
func (h *handler) page(need auth.Action, fn func(http.ResponseWriter, *http.Request, *viewer)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, secret := h.session(r)
		if p == nil {
			if r.Method != http.MethodGet {
				h.fail(w, r, nil, http.StatusForbidden, "Your session has ended. Sign in again.")
				return
			}
			http.Redirect(w, r, "/admin/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		if p.IsPartner() {
			c, err := r.Cookie(cookieTenant)
			if err != nil || c.Value == "" {
				http.Redirect(w, r, "/admin/tenants", http.StatusSeeOther)
				return
			}
			r = r.Clone(ctx)
			r.Header.Set(server.TenantHeader, c.Value)
		} else {
			r = r.WithContext(ctx)
		}
		t, _, err := h.s.Tenant(r)
		if err != nil {
			if p.IsPartner() && allot.ErrorCode(err) == allot.ENOTFOUND {
				http.Redirect(w, r, "/admin/tenants", http.StatusSeeOther)
				return
			}
			h.failErr(w, r, nil, err)
			return
		}
		if r.Method == http.MethodPost {
			// Several processes (allot serve --ha): the form goes, as it
			// came (cookies, CSRF token), to the process that writes
			// the tenant, which answers it.
			rw, leave, done := h.s.RouteWrite(w, r, t.ID)
			if done {
				return
			}
			w = rw
			if leave != nil {
				defer leave()
			}
		} else {
			// After a form this process forwarded: the page shows it.
			h.s.ReadForwarded(r, t.ID)
		}
		v := &viewer{P: p, T: t, TenantName: t.Info().CompanyName, CSRF: h.csrfToken(secret), Limited: !p.IsPartner() && scope.Limited(p), m365: h.m365 != nil,
			reclaim: h.reclaim != nil}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if _, tooLarge := respond.TooLarge(r.ParseForm()); tooLarge {
				h.fail(w, r, v, http.StatusRequestEntityTooLarge, "The form is larger than 1 MiB.")
				return
			}
			if !h.checkCSRF(r, secret) {
				h.fail(w, r, v, http.StatusForbidden, "The form has expired or did not come from this site. Reload the page and try again.")
				return
			}
		}
		if !v.can(need) {
			h.deny(w, r, v)
			return
		}
		fn(w, r, v)
	}
}

// deny answers a request the viewer may not make: 404 for delegated
// owners (nothing outside their scope may be seen to exist), 403 for
// everyone else.
func (h *handler) deny(w http.ResponseWriter, r *http.Request, v *viewer) {
	if v != nil && v.Limited {
		h.notFound(w, r, v)
		return
	}
	h.fail(w, r, v, http.StatusForbidden, "You do not have permission to do this. Ask an administrator for a role that allows it.")
}

func (h *handler) notFound(w http.ResponseWriter, r *http.Request, v *viewer) {
	h.fail(w, r, v, http.StatusNotFound, "This page does not exist or is not visible to you.")
}

// failErr shows an error of the engine or runtime with its status;
// internal errors are logged and shown with a generic message.
func (h *handler) failErr(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	status := respond.StatusOf(err)
	if status == http.StatusInternalServerError {
		h.s.Log.Error("admin center error", "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5") // as api/respond
	}
	h.fail(w, r, v, status, allot.ErrorMessage(err))
}

func notFoundErr(format string, args ...any) error {
	return allot.Errorf(allot.ENOTFOUND, format, args...)
}

func conflictErr(format string, args ...any) error {
	return allot.Errorf(allot.ECONFLICT, format, args...)
}

func invalidErr(format string, args ...any) error {
	return allot.Errorf(allot.EINVALID, format, args...)
}

// fail renders the error page.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	title := http.StatusText(status)
	h.render(w, r, v, status, "error", pageData{Title: title, Data: struct {
		Status  int
		Message string
	}{status, msg}})
}
