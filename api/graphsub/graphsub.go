// Package graphsub is Microsoft Graph's subscriptions API
// (`/v1.0/subscriptions`) for change notifications of a tenant's users and
// groups (package graphsub): create (after the notificationUrl validation
// handshake), list, get, renew or move (PATCH) and delete. It needs
// auth.ReadDirectory, as Graph needs the read permission of the resource
// subscribed to. Errors are Graph's bodies with Graph's codes.
package graphsub

import (
	"net/http"
	"time"

	"allot/api/openapi"
	"allot/api/respond"
	"allot/api/scope"
	"allot/api/server"
	"allot/auth"
	"allot/graphsub"
	"allot/licensing"
	"allot/tenant"
)

// MaxBody bounds a request body.
const MaxBody = 16 << 10

// View is a subscription as Graph answers it: every property of the
// subscription resource, null where allot has no value.
type View struct {
	Context                   string    `json:"@odata.context,omitempty"`
	ID                        string    `json:"id"`
	Resource                  string    `json:"resource"`
	ApplicationID             *string   `json:"applicationId"`
	ChangeType                string    `json:"changeType"`
	ClientState               *string   `json:"clientState"`
	NotificationURL           string    `json:"notificationUrl"`
	NotificationQueryOptions  *string   `json:"notificationQueryOptions"`
	LifecycleNotificationURL  *string   `json:"lifecycleNotificationUrl"`
	ExpirationDateTime        time.Time `json:"expirationDateTime"`
	CreatorID                 string    `json:"creatorId"`
	IncludeResourceData       bool      `json:"includeResourceData"`
	LatestSupportedTLSVersion string    `json:"latestSupportedTlsVersion"`
	EncryptionCertificate     *string   `json:"encryptionCertificate"`
	EncryptionCertificateID   *string   `json:"encryptionCertificateId"`
	NotificationURLAppID      *string   `json:"notificationUrlAppId"`
}

// List is the answer of GET /v1.0/subscriptions.
type List struct {
	Context string `json:"@odata.context"`
	Value   []View `json:"value"`
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewOf(s graphsub.Subscription) View {
	tls := s.LatestSupportedTLSVersion
	if tls == "" {
		tls = "v1_2" // Graph's default
	}
	return View{ID: s.ID, Resource: s.Resource, ChangeType: s.ChangeType, ClientState: opt(s.ClientState),
		NotificationURL: s.NotificationURL, LifecycleNotificationURL: opt(s.LifecycleNotificationURL),
		ExpirationDateTime: s.ExpirationDateTime, CreatorID: s.CreatorID, LatestSupportedTLSVersion: tls}
}

// Register mounts the subscriptions API.
func Register(s *server.Server) {
	h := &handler{s}
	const example = `{"changeType":"updated,deleted","notificationUrl":"https://webhook.contoso.example/api/notify","lifecycleNotificationUrl":"https://webhook.contoso.example/api/lifecycle","resource":"users","expirationDateTime":"2026-01-20T18:23:45.935Z","clientState":"secretClientValue"}`
	nf := []int{http.StatusForbidden, http.StatusNotFound}
	s.Route("POST /v1.0/subscriptions", openapi.Op{ID: "createGraphSubscription", Tag: "graph", Summary: "Create a change-notification subscription to users or groups",
		Description: "Before it is created, the notificationUrl (and the lifecycleNotificationUrl, if set) must answer a POST with a `validationToken` query parameter within 10 seconds with 200 OK, `text/plain` and the token as the body; otherwise 400. resource: `users`, `users/{id}`, `groups`, `groups/{id}`; changeType: `updated`, `deleted` (users and groups are notified as Graph documents: created, changed and soft-deleted objects as `updated`, objects deleted for good as `deleted`); expirationDateTime at most 41760 minutes ahead.",
		Body:        graphsub.Request{}, Example: example, Status: http.StatusCreated, Response: View{}, Errors: []int{http.StatusForbidden, http.StatusConflict}}, h.create)
	s.Route("GET /v1.0/subscriptions", openapi.Op{ID: "listGraphSubscriptions", Tag: "graph", Summary: "List the tenant's active subscriptions",
		Response: List{}, Errors: []int{http.StatusForbidden}}, h.list)
	s.Route("GET /v1.0/subscriptions/{id}", openapi.Op{ID: "getGraphSubscription", Tag: "graph", Summary: "Get a subscription (404 once expired)",
		Response: View{}, Errors: nf}, h.get)
	s.Route("PATCH /v1.0/subscriptions/{id}", openapi.Op{ID: "updateGraphSubscription", Tag: "graph", Summary: "Renew a subscription (expirationDateTime) or change its notification URLs",
		Description: "A new notificationUrl or lifecycleNotificationUrl is validated as on create.",
		Body:        graphsub.Request{}, Example: `{"expirationDateTime":"2026-01-22T11:00:00Z"}`, Response: View{}, Errors: nf}, h.update)
	s.Route("DELETE /v1.0/subscriptions/{id}", openapi.Op{ID: "deleteGraphSubscription", Tag: "graph", Summary: "Delete a subscription",
		Status: http.StatusNoContent, Errors: nf}, h.delete)
}

type handler struct{ s *server.Server }

func (h *handler) tenant(w http.ResponseWriter, r *http.Request) (*tenant.Tenant, *auth.Principal, bool) {
	t, p, err := h.s.Tenant(r)
	if err != nil {
		fail(w, r, err)
		return nil, nil, false
	}
	if !scope.Require(w, r, p, auth.ReadDirectory, t.ID) {
		return nil, nil, false
	}
	return t, p, true
}

// fail writes err in Graph's words: a refusal of package graphsub with
// its own Graph code, anything else as respond.Error.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	if code := graphsub.CodeOf(err); code != "" {
		respond.Status(w, r, http.StatusBadRequest, code, err.Error())
		return
	}
	respond.Error(w, r, err)
}

func contextURL(r *http.Request, what string) string {
	return server.Scheme(r) + "://" + r.Host + "/v1.0/$metadata#" + what
}

// entity is one subscription as an answer shows it, with its context.
func entity(r *http.Request, s graphsub.Subscription) View {
	v := viewOf(s)
	v.Context = contextURL(r, "subscriptions/$entity")
	return v
}

func (h *handler) now() time.Time { return h.s.RT.Now() }

func op(p *auth.Principal, now time.Time) licensing.Op {
	return licensing.Op{Actor: p.Actor(), Now: now}
}

// DecodeRequest reads a create or update body: unknown properties and
// wrong types are refused (EINVALID).
func DecodeRequest(r *http.Request) (graphsub.Request, error) {
	var req graphsub.Request
	err := respond.Decode(r, &req, MaxBody, true)
	return req, err
}

// validate runs the handshake with the URLs a request sets.
func validate(r *http.Request, urls ...string) error {
	for _, u := range urls {
		if u == "" {
			continue
		}
		if err := graphsub.ValidateEndpoint(r.Context(), u); err != nil {
			return err
		}
	}
	return nil
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenant(w, r)
	if !ok {
		return
	}
	req, err := DecodeRequest(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	sub, err := graphsub.NewSubscription(req, h.now())
	if err != nil {
		fail(w, r, err)
		return
	}
	sub.CreatorID = p.TokenID
	if err := validate(r, sub.NotificationURL, sub.LifecycleNotificationURL); err != nil {
		fail(w, r, err)
		return
	}
	if err := t.Do(r.Context(), op(p, h.now()), func(tx *tenant.Tx) error { return graphsub.Put(tx, sub) }); err != nil {
		fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusCreated, entity(r, sub))
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenant(w, r)
	if !ok {
		return
	}
	var subs []graphsub.Subscription
	var err error
	now := h.now()
	t.Read(func(st *tenant.State) { subs, err = graphsub.List(st, now) })
	if err != nil {
		fail(w, r, err)
		return
	}
	out := List{Context: contextURL(r, "subscriptions"), Value: make([]View, len(subs))}
	for i, s := range subs {
		out.Value[i] = viewOf(s)
	}
	respond.JSON(w, http.StatusOK, out)
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	t, _, ok := h.tenant(w, r)
	if !ok {
		return
	}
	var sub graphsub.Subscription
	var found bool
	now := h.now()
	t.Read(func(st *tenant.State) { sub, found = graphsub.Get(st, r.PathValue("id"), now) })
	if !found {
		fail(w, r, graphsub.NotFound(r.PathValue("id")))
		return
	}
	respond.JSON(w, http.StatusOK, entity(r, sub))
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenant(w, r)
	if !ok {
		return
	}
	req, err := DecodeRequest(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	now := h.now()
	// Check the change before the handshake, and the handshake before
	// the command (it may take ValidationTimeout).
	var cur graphsub.Subscription
	var found bool
	t.Read(func(st *tenant.State) { cur, found = graphsub.Get(st, id, now) })
	if !found {
		fail(w, r, graphsub.NotFound(id))
		return
	}
	if _, err := graphsub.Update(cur, req, now); err != nil {
		fail(w, r, err)
		return
	}
	var urls []string
	if req.NotificationURL != nil && *req.NotificationURL != cur.NotificationURL {
		urls = append(urls, *req.NotificationURL)
	}
	if req.LifecycleNotificationURL != nil && *req.LifecycleNotificationURL != cur.LifecycleNotificationURL {
		urls = append(urls, *req.LifecycleNotificationURL)
	}
	if err := validate(r, urls...); err != nil {
		fail(w, r, err)
		return
	}
	var sub graphsub.Subscription
	err = t.Do(r.Context(), op(p, h.now()), func(tx *tenant.Tx) error {
		var err error
		sub, err = graphsub.Modify(tx, id, func(s graphsub.Subscription) (graphsub.Subscription, error) {
			return graphsub.Update(s, req, tx.Op.Now)
		})
		return err
	})
	if err != nil {
		fail(w, r, err)
		return
	}
	respond.JSON(w, http.StatusOK, entity(r, sub))
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	t, p, ok := h.tenant(w, r)
	if !ok {
		return
	}
	if err := t.Do(r.Context(), op(p, h.now()), func(tx *tenant.Tx) error { return graphsub.Delete(tx, r.PathValue("id")) }); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
