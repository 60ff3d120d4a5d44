// Package reclamation is the reclamation campaigns API under
// /allot/v1/reclamation (package reclamation): create (the answer is the
// preview), list, get, approve, start, cancel and restore a campaign, and
// the public keep link users open from their notice. Reading needs
// auth.ReadReclamation, changing auth.ManageReclamation; the keep link
// needs no token (its signed token is the authority).
package reclamation

import (
	"html/template"
	"net/http"
	"net/url"

	"allot"
	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/reclamation"
	"allot/tenant"
)

// MaxBody bounds a campaign's JSON body.
const MaxBody = 64 << 10

// CampaignView is a campaign with its members.
type CampaignView struct {
	reclamation.Campaign
	MemberList []reclamation.Member `json:"memberList,omitempty"`
}

type valueList[T any] struct {
	Value []T `json:"value"`
}

// Register mounts the API; svc runs the campaigns.
func Register(s *server.Server, svc *reclamation.Service) {
	h := &handler{s, svc}
	tp := []openapi.Param{server.TenantParam}
	nf := []int{http.StatusForbidden, http.StatusNotFound, http.StatusConflict}
	const base = "/allot/v1/reclamation/campaigns"
	s.Route("POST "+base, openapi.Op{ID: "createReclamationCampaign", Tag: "reclamation",
		Summary: "Create a reclamation campaign from the position's findings (the answer is the preview)",
		Description: "Builds the campaign from today's license position: the findings of `kinds` (idle, neverActivated, disabledHoldingLicense, overAssigned; " +
			"default the first three), restricted to `skus` and the members of `groupId`. Each (user, product) is a member, or excluded with the reason " +
			"(licensed through a group, assigned in Entra, …). The campaign is a draft until started; nothing is sent or removed before. " +
			"Users who have not kept their license by `reminderDaysBefore` days before the grace period ends get one reminder (0: none; default 3 when `graceDays` is over 3).",
		Params: tp, Body: reclamation.Spec{}, Example: `{"displayName":"Idle E3 seats","kinds":["idle","neverActivated"],"skus":["ENTERPRISEPACK"],"graceDays":14,"reminderDaysBefore":3,"requireApproval":true,"notifyManager":true}`,
		Status: http.StatusCreated, Response: CampaignView{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, h.create)
	s.Route("GET "+base, openapi.Op{ID: "listReclamationCampaigns", Tag: "reclamation", Summary: "List the tenant's reclamation campaigns (newest first)",
		Params: tp, Response: valueList[reclamation.Campaign]{}, Errors: []int{http.StatusForbidden}}, h.list)
	s.Route("GET "+base+"/{id}", openapi.Op{ID: "getReclamationCampaign", Tag: "reclamation", Summary: "Get a reclamation campaign with its members",
		Params: tp, Response: CampaignView{}, Errors: []int{http.StatusForbidden, http.StatusNotFound}}, h.get)
	for _, a := range []struct{ verb, id, summary string }{
		{"approve", "approveReclamationCampaign", "Approve a campaign (another principal than its creator; a campaign awaiting approval starts)"},
		{"start", "startReclamationCampaign", "Start a campaign: the notices go out (or it awaits approval when it requires one)"},
		{"cancel", "cancelReclamationCampaign", "Cancel a campaign that has not completed: nothing more is sent or removed, links stop working"},
		{"restore", "restoreReclamationCampaign", "Give back every license the completed campaign removed, as it was"},
	} {
		s.Route("POST "+base+"/{id}/"+a.verb, openapi.Op{ID: a.id, Tag: "reclamation", Summary: a.summary,
			Params: tp, Response: reclamation.Campaign{}, Errors: nf}, h.action(a.verb))
	}
	tok := []openapi.Param{{Name: "token", Required: true, Description: "The signed token of the notice's link"}}
	page := openapi.Schema{Schema: map[string]any{"type": "string"}}
	s.RoutePublic("GET "+reclamation.KeepPath, openapi.Op{ID: "reclamationKeepPage", Tag: "reclamation", Public: true,
		Summary:     "The keep link of a notice: a page that asks the user to confirm (no token needed)",
		Description: "Changes nothing (mail scanners open links): the page's button posts the confirmation. 400 with a page for a bad or expired link.",
		Params:      tok, Response: page, ResponseType: "text/html", Errors: []int{http.StatusBadRequest}}, h.keepPage)
	s.RoutePublic("POST "+reclamation.KeepPath, openapi.Op{ID: "reclamationKeep", Tag: "reclamation", Public: true,
		Summary:     "Keep the licenses a notice names (idempotent; no token needed)",
		Description: "Records that the user keeps their licenses in the campaign until it ends. 400 with a page for a bad or expired link, and nothing changes.",
		Params:      tok, Response: page, ResponseType: "text/html", Errors: []int{http.StatusBadRequest}}, h.keep)
}

type handler struct {
	s   *server.Server
	svc *reclamation.Service
}

func (h *handler) tenant(w http.ResponseWriter, r *http.Request, a auth.Action) (*tenant.Tenant, *auth.Principal, bool) {
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

func noQuery(r *http.Request) error {
	for k := range r.URL.Query() {
		return allot.Errorf(allot.EINVALID, "Query parameter %q is not supported.", k)
	}
	return nil
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenant(w, r, auth.ManageReclamation)
	if !ok {
		return
	}
	var spec reclamation.Spec
	if err := noQuery(r); err != nil {
		respond.Error(w, r, err)
		return
	}
	if err := respond.Decode(r, &spec, MaxBody, true); err != nil {
		respond.Error(w, r, err)
		return
	}
	c, ms, err := h.svc.Create(r.Context(), t, spec, p.Actor(), p.TokenID)
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, CampaignView{Campaign: c, MemberList: nonNil(ms)})
}

func nonNil(ms []reclamation.Member) []reclamation.Member {
	if ms == nil {
		return []reclamation.Member{}
	}
	return ms
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenant(w, r, auth.ReadReclamation)
	if !ok {
		return
	}
	if err := noQuery(r); err != nil {
		respond.Error(w, r, err)
		return
	}
	var cs []reclamation.Campaign
	var err error
	t.Read(func(s *tenant.State) { cs, err = reclamation.Campaigns(s) })
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, valueList[reclamation.Campaign]{cs})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenant(w, r, auth.ReadReclamation)
	if !ok {
		return
	}
	if err := noQuery(r); err != nil {
		respond.Error(w, r, err)
		return
	}
	var v CampaignView
	var err error
	t.Read(func(s *tenant.State) {
		if v.Campaign, err = reclamation.Get(s, r.PathValue("id")); err == nil {
			v.MemberList, err = reclamation.Members(s, v.ID)
		}
	})
	if err != nil {
		respond.Error(w, r, err)
		return
	}
	v.MemberList = nonNil(v.MemberList)
	respond.JSON(w, http.StatusOK, v)
}

func (h *handler) action(verb string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, p, ok := h.tenant(w, r, auth.ManageReclamation)
		if !ok {
			return
		}
		if err := noQuery(r); err != nil {
			respond.Error(w, r, err)
			return
		}
		id := r.PathValue("id")
		var c reclamation.Campaign
		var err error
		switch verb {
		case "approve":
			c, err = h.svc.Approve(r.Context(), t, id, p.Actor(), p.TokenID)
		case "start":
			c, err = h.svc.StartCampaign(r.Context(), t, id, p.Actor())
		case "cancel":
			c, err = h.svc.Cancel(r.Context(), t, id, p.Actor())
		case "restore":
			c, err = h.svc.Restore(r.Context(), t, id, p.Actor())
		}
		if err != nil {
			respond.Error(w, r, err)
			return
		}
		respond.JSON(w, http.StatusOK, c)
	}
}

// The keep pages: small, self-contained, no script.
var pageTmpl = template.Must(template.New("keep").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;line-height:1.5}button{font-size:1rem;padding:.5rem 1.25rem}</style>
</head><body><h1>{{.Title}}</h1>
{{range .Lines}}<p>{{.}}</p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}"><button type="submit">Keep my license</button></form>{{end}}
</body></html>`))

type page struct {
	Title  string
	Lines  []string
	Action string
}

func writePage(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}

func errorPage(w http.ResponseWriter, r *http.Request, err error) {
	status := respond.StatusOf(err)
	if status >= 500 {
		respond.Error(w, r, err)
		return
	}
	writePage(w, status, page{Title: "This link does not work", Lines: []string{allot.ErrorMessage(err)}})
}

func products(ms []reclamation.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.SKUPartNumber+": "+m.State)
	}
	return out
}

func (h *handler) token(r *http.Request) (string, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "token" {
			return "", allot.Errorf(allot.EINVALID, "Query parameter %q is not supported.", k)
		}
	}
	if len(q["token"]) != 1 {
		return "", reclamation.ErrBadLink
	}
	return q.Get("token"), nil
}

func (h *handler) keepPage(w http.ResponseWriter, r *http.Request) {
	tok, err := h.token(r)
	if err != nil {
		errorPage(w, r, err)
		return
	}
	_, c, ms, err := h.svc.Resolve(r.Context(), tok)
	if err != nil {
		errorPage(w, r, err)
		return
	}
	lines := []string{"Campaign: " + c.DisplayName, "Your licenses in it:"}
	lines = append(lines, products(ms)...)
	lines = append(lines, "Unless you keep them, allot takes them back on "+reclamation.Deadline(&c)+".")
	writePage(w, http.StatusOK, page{Title: "Keep your license?", Lines: lines, Action: reclamation.KeepPath + "?token=" + url.QueryEscape(tok)})
}

func (h *handler) keep(w http.ResponseWriter, r *http.Request) {
	tok, err := h.token(r)
	if err != nil {
		errorPage(w, r, err)
		return
	}
	c, ms, err := h.svc.Keep(r.Context(), tok)
	if err != nil {
		errorPage(w, r, err)
		return
	}
	lines := []string{"Campaign: " + c.DisplayName}
	lines = append(lines, products(ms)...)
	lines = append(lines, "You keep these licenses. You can close this page.")
	writePage(w, http.StatusOK, page{Title: "You keep your license", Lines: lines})
}
