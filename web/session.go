package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"allot"
	"allot/api/respond"
	"allot/api/server"
	"allot/auth"
	"allot/internal/token64"
	"allot/store"
)

// Cookies of the admin center. All are HttpOnly and SameSite=Strict, and
// Secure when the request came over TLS.
const (
	cookieSession = "allot_session" // the session id (see sessions)
	cookieTenant  = "allot_tenant"  // the customer a partner administrator works on
	cookiePre     = "allot_pre"     // a random id protecting the sign-in form
	cookieFlash   = "allot_flash"   // the outcome of the last form, shown once
)

// cookiePath is where the browser sends the cookies: the whole site, so
// that the reports the admin center links to (/allot/v1/position.html and
// .csv, registered with server.HandleBrowsable) can be opened in the
// signed-in browser. Only those read-only GET routes accept the session;
// every other API route takes bearer tokens only, and SameSite=Strict keeps
// the cookies off requests that start on another site.
const cookiePath = "/"

// legacyCookiePath is where earlier versions set the cookies; sign-in and
// sign-out clear them there too.
const legacyCookiePath = "/admin"

// sessionTTL is how long a sign-in lasts.
const sessionTTL = 12 * time.Hour

// maxSessions bounds the sessions held; the oldest go first.
const maxSessions = 100_000

// sessions are the admin center's signed-in browsers, held server-side:
// the cookie carries only a random session id (never the API token); the
// server keeps the SHA-256 of that id with the hash of the token it signed
// in with (never the token) and an expiry — in the store when it keeps
// sessions (store.SessionStore: both backends do), so that a restart signs
// nobody out, else in this process's memory. A session ends at sign-out,
// after sessionTTL, and when its token is revoked (every request
// authenticates the token again, and a revoked token ends the session).
type sessions struct {
	st store.SessionStore // nil: memory only
	mu sync.Mutex
	m  map[string]store.Session // by hash, when st is nil
}

// open starts a session for a token of a tenant and returns its id.
func (ss *sessions) open(ctx context.Context, tenantID, tokenHash string, now time.Time) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	s := store.Session{TenantID: tenantID, Hash: auth.Hash(id), TokenHash: tokenHash, CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}
	if ss.st != nil {
		// Expired sessions go when new ones come: the table stays small.
		if _, err := ss.st.DeleteExpiredSessions(ctx, now); err != nil {
			return "", err
		}
		return id, ss.st.CreateSession(ctx, s)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]store.Session{}
	}
	if len(ss.m) >= maxSessions {
		for k, x := range ss.m {
			if !now.Before(x.ExpiresAt) {
				delete(ss.m, k)
			}
		}
		for len(ss.m) >= maxSessions { // all alive: drop the oldest
			var oldest string
			for k, x := range ss.m {
				if oldest == "" || x.ExpiresAt.Before(ss.m[oldest].ExpiresAt) {
					oldest = k
				}
			}
			delete(ss.m, oldest)
		}
	}
	ss.m[s.Hash] = s
	return id, nil
}

// get returns the live session of an id.
func (ss *sessions) get(ctx context.Context, id string, now time.Time) (store.Session, bool) {
	h := auth.Hash(id)
	var s store.Session
	if ss.st != nil {
		var err error
		if s, err = ss.st.SessionByHash(ctx, h); err != nil {
			return store.Session{}, false
		}
	} else {
		ss.mu.Lock()
		x, ok := ss.m[h]
		ss.mu.Unlock()
		if !ok {
			return store.Session{}, false
		}
		s = x
	}
	if !now.Before(s.ExpiresAt) {
		ss.end(ctx, id)
		return store.Session{}, false
	}
	return s, true
}

// end ends a session.
func (ss *sessions) end(ctx context.Context, id string) error {
	h := auth.Hash(id)
	if ss.st != nil {
		return ss.st.DeleteSession(ctx, h)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, h)
	return nil
}

func (h *handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
}

func (h *handler) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	h.setCookie(w, r, name, "", -1)
}

// clearLegacy clears the session and tenant cookies of earlier versions.
func (h *handler) clearLegacy(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{cookieSession, cookieTenant} {
		http.SetCookie(w, &http.Cookie{Name: name, Path: legacyCookiePath, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	}
}

// browserSession is the server's Browser hook: the principal of the
// request's session and the tenant it works on (a partner
// administrator's chosen customer), or nil.
func (h *handler) browserSession(r *http.Request) (*auth.Principal, string) {
	p, _ := h.session(r)
	if p == nil {
		return nil, ""
	}
	if !p.IsPartner() {
		return p, p.TenantID
	}
	c, err := r.Cookie(cookieTenant)
	if err != nil {
		return p, ""
	}
	return p, c.Value
}

// secure reports whether the viewer reached allot over HTTPS (directly or
// through a trusted proxy that says so: server.Scheme).
func secure(r *http.Request) bool {
	return server.Scheme(r) == "https"
}

// session returns the signed-in principal and the session id, or nil when
// the request has no live session (no cookie, an ended or unknown session,
// or a revoked token, which also ends the session).
func (h *handler) session(r *http.Request) (*auth.Principal, string) {
	c, err := r.Cookie(cookieSession)
	if err != nil || c.Value == "" {
		return nil, ""
	}
	s, ok := h.sessions.get(r.Context(), c.Value, h.now())
	if !ok {
		return nil, ""
	}
	p, err := h.s.Auth.AuthenticateHash(r.Context(), s.TokenHash)
	if err != nil {
		if errors.Is(err, auth.ErrUnauthenticated) {
			_ = h.sessions.end(r.Context(), c.Value)
		}
		return nil, ""
	}
	return p, c.Value
}

// csrfToken is the session's form token: an HMAC under the session's
// secret (the cookie's value, or the sign-in form's pre-session id), so
// that a page of another site, which can neither read the cookie nor the
// page, cannot compute it; and every allot process sharing the database
// (allot serve --ha) computes the same one, so a form rendered by one
// process is accepted by another (a form forwarded to the tenant's owner,
// or sent to another process behind a load balancer).
func (h *handler) csrfToken(secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("allot admin center form"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF reports whether a POST carries the session's token, in the
// form field csrf or (from the page's scripts) the X-CSRF-Token header.
func (h *handler) checkCSRF(r *http.Request, secret string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	return secret != "" && got != "" && hmac.Equal([]byte(got), []byte(h.csrfToken(secret)))
}

// preSession returns the sign-in form's random id, setting its cookie when
// the browser has none.
func (h *handler) preSession(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(cookiePre); err == nil && len(c.Value) >= 16 {
		return c.Value
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	id := base64.RawURLEncoding.EncodeToString(b)
	h.setCookie(w, r, cookiePre, id, 3600)
	return id
}

// safeNext keeps a post-sign-in redirect on the admin center.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/admin/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/admin/"
}

func (h *handler) signInPage(w http.ResponseWriter, r *http.Request) {
	if p, _ := h.session(r); p != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	pre := h.preSession(w, r)
	h.render(w, r, nil, http.StatusOK, "signin", pageData{Title: "Sign in", Data: signInData{CSRF: h.csrfToken(pre), Next: safeNext(r.URL.Query().Get("next"))}})
}

type signInData struct {
	CSRF, Next, Error string
}

// signIn checks the token and opens a session. The form is protected by the
// pre-session cookie (login CSRF).
func (h *handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pre := ""
	if c, err := r.Cookie(cookiePre); err == nil {
		pre = c.Value
	}
	if !h.checkCSRF(r, pre) {
		h.fail(w, r, nil, http.StatusForbidden, "The sign-in form has expired. Reload the page and try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	p, err := h.s.Auth.Authenticate(r.Context(), "Bearer "+token)
	if token == "" || err != nil {
		d := signInData{CSRF: h.csrfToken(pre), Next: next, Error: "That token is not valid. Check that you copied all of it, and that it has not been revoked."}
		h.render(w, r, nil, http.StatusUnauthorized, "signin", pageData{Title: "Sign in", Data: d})
		return
	}
	sid, err := h.sessions.open(r.Context(), p.TenantID, auth.Hash(token), h.now())
	if err != nil {
		h.failErr(w, r, nil, err)
		return
	}
	h.clearCookie(w, r, cookiePre)
	h.clearLegacy(w, r)
	h.setCookie(w, r, cookieSession, sid, int(sessionTTL/time.Second))
	if p.IsPartner() {
		next = "/admin/tenants"
	} else if next == "/admin/" && !auth.Can(p, auth.ReadReports, p.TenantID) {
		next = "/admin/allotments"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the session server-side (a POST with the session's CSRF
// token): its id is worthless afterwards, whoever holds the cookie.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_, sid := h.session(r)
	if sid != "" && !h.checkCSRF(r, sid) {
		h.fail(w, r, nil, http.StatusForbidden, "The form has expired. Reload the page and try again.")
		return
	}
	if sid != "" {
		if err := h.sessions.end(r.Context(), sid); err != nil {
			h.failErr(w, r, nil, err)
			return
		}
	}
	h.clearCookie(w, r, cookieSession)
	h.clearCookie(w, r, cookieTenant)
	h.clearLegacy(w, r)
	http.Redirect(w, r, "/admin/signin", http.StatusSeeOther)
}

// flash is the outcome of the last form, shown once on the next page.
type flash struct {
	OK   bool
	Text string
}

func (h *handler) setFlash(w http.ResponseWriter, r *http.Request, ok bool, text string) {
	kind := "e"
	if ok {
		kind = "o"
	}
	if len(text) > 1000 { // a cookie holds about 4 KB
		text = strings.ToValidUTF8(text[:1000], "") + "…"
	}
	h.setCookie(w, r, cookieFlash, token64.Encode([]byte(kind+text)), 120)
}

// takeFlash reads and clears the flash message.
func (h *handler) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(cookieFlash)
	if err != nil {
		return nil
	}
	h.clearCookie(w, r, cookieFlash)
	b, err := token64.Decode(c.Value)
	if err != nil || len(b) < 2 {
		return nil
	}
	return &flash{OK: b[0] == 'o', Text: string(b[1:])}
}

// done ends a form: it keeps the outcome for the next page and sends the
// browser there (303, so a reload does not post again).
func (h *handler) done(w http.ResponseWriter, r *http.Request, to string, err error, okText string) {
	if err != nil {
		if respond.StatusOf(err) == http.StatusInternalServerError {
			h.s.Log.Error("admin center command failed", "path", r.URL.Path, "err", err)
		}
		h.setFlash(w, r, false, allot.ErrorMessage(err))
	} else {
		h.setFlash(w, r, true, okText)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
