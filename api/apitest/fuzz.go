package apitest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"allot/store"
)

// Fuzzing an HTTP surface (the *_fuzz_test.go files beside each API
// package): a Fuzz world is a server with every surface the caller mounts
// and a small tenant in it; each fuzzed request runs in process through
// the server's handler and must keep three invariants:
//   - no panic and never a 5xx;
//   - an answer of 400-499 changes nothing: the store (every tenant, its
//     objects, tokens and audit log) is the same before and after.
// The world's ids (Tenant, Users, Groups, Allotment) are fixed at setup, so
// that seeds naming them reach past the lookups.

// Fuzz is a world for fuzzing.
type Fuzz struct {
	*Env
	Tenant    string
	Admin     string // Global Administrator of Tenant
	Reader    string // Global Reader of Tenant
	Owner     string // AllotmentOwner of Allotment
	Users     []string
	Groups    []string // Groups[0] has SPE_E3 and Users[0]
	Allotment string   // 2 units of SPE_E3, assigned to Groups[1]

	handler http.Handler
}

// FuzzRequests counts the requests fuzzed in this process (all worlds).
var FuzzRequests atomic.Int64

// NewFuzz builds the world. mounts must include partner.Register,
// admin.Register, cloudlicensing.Register and graph.Register.
func NewFuzz(t testing.TB, mounts ...Mount) *Fuzz {
	t.Helper()
	e := New(t, mounts...)
	f := &Fuzz{Env: e, handler: e.Server.Handler()}
	f.Tenant = e.Customer("Contoso", "US")
	e.Subscribe(f.Tenant, "SPE_E3", 10)
	e.Subscribe(f.Tenant, "ENTERPRISEPACK", 3)
	f.Admin = e.Token(f.Tenant, "GlobalAdministrator")
	f.Reader = e.Token(f.Tenant, "GlobalReader")
	for i := range 3 {
		r := e.Must(201, "POST", "/v1.0/users", f.Admin, map[string]any{"accountEnabled": true, "displayName": fmt.Sprintf("User %d", i),
			"mailNickname": fmt.Sprintf("user%d", i), "userPrincipalName": fmt.Sprintf("user%d@contoso.example", i), "usageLocation": "US",
			"department": "Sales", "passwordProfile": map[string]any{"password": "x"}})
		f.Users = append(f.Users, r.JSON()["id"].(string))
	}
	for i := range 2 {
		r := e.Must(201, "POST", "/v1.0/groups", f.Admin, map[string]any{"displayName": fmt.Sprintf("Group %d", i), "mailEnabled": false,
			"mailNickname": fmt.Sprintf("group%d", i), "securityEnabled": true})
		f.Groups = append(f.Groups, r.JSON()["id"].(string))
	}
	e.Must(202, "POST", "/v1.0/groups/"+f.Groups[0]+"/assignLicense", f.Admin, map[string]any{
		"addLicenses": []any{map[string]any{"skuId": "05e9a617-0261-4cee-bb44-138d3ef5d965"}}, "removeLicenses": []any{}})
	e.Must(204, "POST", "/v1.0/groups/"+f.Groups[0]+"/members/$ref", f.Admin,
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + f.Users[0]})
	f.Allotment = e.Must(201, "POST", "/beta/admin/cloudLicensing/allotments", f.Admin,
		`{"displayName":"Sales","skuPartNumber":"SPE_E3","allottedUnits":2}`).JSON()["id"].(string)
	e.Must(201, "POST", "/beta/admin/cloudLicensing/assignments", f.Admin, map[string]any{
		"allotment@odata.bind":  "https://graph.microsoft.com/beta/admin/cloudLicensing/allotments/" + f.Allotment,
		"assignedTo@odata.bind": "https://graph.microsoft.com/beta/groups/" + f.Groups[1]})
	e.Must(204, "POST", "/v1.0/groups/"+f.Groups[1]+"/members/$ref", f.Admin,
		map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + f.Users[1]})
	f.Owner = e.Must(201, "POST", "/allot/v1/tenants/"+f.Tenant+"/tokens", PartnerToken, map[string]any{
		"displayName": "owner", "roles": []string{"AllotmentOwner"}, "allotmentIds": []string{f.Allotment}}).JSON()["token"].(string)
	return f
}

// Expand replaces the placeholders {tenant}, {user0}…{user2}, {group0},
// {group1} and {allotment} in s by the world's ids, so that seeds can name
// them before the world exists.
func (f *Fuzz) Expand(s string) string {
	pairs := []string{"{tenant}", f.Tenant, "{allotment}", f.Allotment}
	for i, u := range f.Users {
		pairs = append(pairs, fmt.Sprintf("{user%d}", i), u)
	}
	for i, g := range f.Groups {
		pairs = append(pairs, fmt.Sprintf("{group%d}", i), g)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Token picks a credential by a fuzzed selector: the tenant's Global
// Administrator, the partner administrator, a Global Reader, the allotment
// owner, or none.
func (f *Fuzz) Token(sel uint8) string {
	return []string{f.Admin, PartnerToken, f.Reader, f.Owner, ""}[int(sel)%5]
}

// ContentTypes are the media types a fuzzed request may declare.
var ContentTypes = []string{"application/json", "application/zip", "text/csv", "application/x-www-form-urlencoded",
	"application/scim+json", "", "text/plain", "application/json; charset=utf-8", "multipart/form-data; boundary=x",
	"application/x-ndjson", "application/octet-stream"}

// Request is one fuzzed request.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// Check sends req through the handler and fails t if it breaks an
// invariant. It returns the response. A request Go cannot even build
// (a method or path net/http refuses) is skipped.
func (f *Fuzz) Check(t *testing.T, req Request) *httptest.ResponseRecorder {
	t.Helper()
	hr, err := http.NewRequest(req.Method, "http://allot.test"+req.Path, bytes.NewReader(req.Body))
	if err != nil || !strings.HasPrefix(req.Path, "/") {
		return nil
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	FuzzRequests.Add(1)
	before := f.Fingerprint(t)
	w := httptest.NewRecorder()
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s %s panics: %v\nbody: %q", req.Method, req.Path, p, req.Body)
			}
		}()
		f.handler.ServeHTTP(w, hr)
	}()
	if os.Getenv("ALLOT_FUZZ_TRACE") != "" { // to see how deep the seeds reach
		t.Logf("%s %s → %d", req.Method, req.Path, w.Code)
	}
	switch {
	case w.Code >= 500:
		t.Fatalf("%s %s answers %d: %s\nbody: %q\nheaders: %v", req.Method, req.Path, w.Code, w.Body.Bytes(), req.Body, req.Header)
	case w.Code >= 400:
		if diff := Diff(before, f.Fingerprint(t)); diff != "" {
			t.Fatalf("%s %s answers %d but changed the store (%s): %s\nbody: %q", req.Method, req.Path, w.Code, diff, w.Body.Bytes(), req.Body)
		}
	}
	return w
}

// Fingerprint is the store's state: one hash per tenant, object, token and
// the audit log's length per tenant.
func (f *Fuzz) Fingerprint(t testing.TB) map[string]string {
	t.Helper()
	ctx := context.Background()
	fp := map[string]string{}
	ts, err := f.Store.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{store.PartnerTenant}
	for _, tn := range ts {
		fp["tenant/"+tn.ID] = hash([]byte(fmt.Sprintf("%+v", tn)))
		ids = append(ids, tn.ID)
	}
	for _, id := range ids {
		if err := f.Store.LoadObjects(ctx, id, func(o store.Object) error {
			fp["object/"+id+"/"+string(o.Kind)+"/"+o.ID] = hash(o.Body)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		toks, err := f.Store.ListTokens(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range toks {
			fp["token/"+tk.ID] = hash([]byte(fmt.Sprintf("%+v", tk)))
		}
		seq, err := f.Store.MaxAuditSeq(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		fp["audit/"+id] = fmt.Sprint(seq)
	}
	return fp
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:8])
}

// Diff lists the keys that differ between two fingerprints ("" if none).
func Diff(a, b map[string]string) string {
	var d []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			d = append(d, "-"+k)
		} else if w != v {
			d = append(d, "~"+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "+"+k)
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("… %d more", len(d)-10))
	}
	return strings.Join(d, " ")
}

// WebSession signs token in to the admin center through its forms and
// returns the session's cookies and CSRF token (for the partner
// administrator, with tenant chosen).
func (f *Fuzz) WebSession(t testing.TB, token string) (cookies []*http.Cookie, csrf string) {
	t.Helper()
	do := func(method, path string, body string, cs []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range cs {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		return w
	}
	merge := func(cs []*http.Cookie, w *httptest.ResponseRecorder) []*http.Cookie {
		for _, n := range w.Result().Cookies() {
			cs = append(slicesDeleteCookie(cs, n.Name), n)
		}
		return cs
	}
	w := do("GET", "/admin/signin", "", nil)
	cookies = merge(nil, w)
	csrf = csrfOf(w.Body.String())
	w = do("POST", "/admin/signin", "token="+token+"&csrf="+csrf+"&next=/admin/", cookies)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", w.Code, w.Body.String())
	}
	cookies = merge(cookies, w)
	page := w.Header().Get("Location")
	if token == PartnerToken {
		page = "/admin/"
		w = do("GET", "/admin/tenants", "", cookies)
		w = do("POST", "/admin/tenants", "tenant="+f.Tenant+"&csrf="+csrfOf(w.Body.String()), cookies)
		cookies = merge(cookies, w)
	}
	w = do("GET", page, "", cookies)
	if w.Code != 200 {
		t.Fatalf("%s after sign-in: %d %s", page, w.Code, w.Body.String())
	}
	return cookies, csrfOf(w.Body.String())
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"|name="csrf-token" content="([^"]+)"`)

func csrfOf(html string) string {
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

func slicesDeleteCookie(cs []*http.Cookie, name string) []*http.Cookie {
	out := cs[:0]
	for _, c := range cs {
		if c.Name != name {
			out = append(out, c)
		}
	}
	return out
}

// Seed is a valid (or interesting) request to start a surface's fuzzing
// from. Path and Body may hold the placeholders of Expand.
type Seed struct {
	Token  uint8 // see Fuzz.Token
	Method string
	Path   string
	Body   string
	CT     uint8 // index into ContentTypes
}

// Content type indexes for seeds.
const (
	CTJSON   = 0
	CTZip    = 1
	CTCSV    = 2
	CTForm   = 3
	CTSCIM   = 4
	CTNone   = 5
	CTNDJSON = 9
)

// Zip returns a zip archive of the files (name → content), for seeds.
func Zip(files map[string]string) string {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, _ := z.Create(n)
		w.Write([]byte(files[n]))
	}
	z.Close()
	return b.String()
}

// Methods are the methods a fuzzed request may use.
var Methods = []string{"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"}

// Surface runs fz over one HTTP surface: fuzzed paths are kept under
// prefixes[0] unless they start with one of prefixes, the partner
// administrator names the world's tenant in X-Allot-Tenant, and extra (if
// set) adds to each request (cookies, CSRF). Every request must keep the
// invariants of Check.
func (f *Fuzz) Surface(fz *testing.F, prefixes []string, seeds []Seed, extra func(r *Request, tok uint8)) {
	for _, s := range seeds {
		m := 0
		for i, x := range Methods {
			if x == s.Method {
				m = i
			}
		}
		fz.Add(s.Token, uint8(m), s.CT, s.Path, []byte(s.Body))
	}
	fz.Fuzz(func(t *testing.T, tok, meth, ct uint8, path string, body []byte) {
		path = f.Expand(path)
		under := false
		for _, p := range prefixes {
			under = under || strings.HasPrefix(path, p)
		}
		if !under {
			path = prefixes[0] + strings.TrimPrefix(path, "/")
		}
		req := Request{Method: Methods[int(meth)%len(Methods)], Path: path, Header: http.Header{}, Body: []byte(f.Expand(string(body)))}
		if c := ContentTypes[int(ct)%len(ContentTypes)]; c != "" {
			req.Header.Set("Content-Type", c)
		}
		if token := f.Token(tok); token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
			if token == PartnerToken {
				req.Header.Set("X-Allot-Tenant", f.Tenant)
			}
		}
		if extra != nil {
			extra(&req, tok)
		}
		f.Check(t, req)
	})
}
