package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"allot/licensing"
	"allot/tenant"
	"allot/usage"
	"allot/web/demo"
)

func TestFindingsPageShowsEvidenceAndFixesByKind(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	r := c.get("/admin/findings")
	if r.Status != 200 {
		t.Fatalf("GET /admin/findings = %d", r.Status)
	}
	mustContain(t, r, "Findings", "Computed", "licenseErrors", "Compute again now", "Evidence", "Fix")
	r = c.get("/admin/findings?kind=licenseErrors")
	mustContain(t, r, "CountViolation")
	// Recomputing is a form: it needs the CSRF token.
	if r := c.post("/admin/findings/refresh", url.Values{}); r.Status != http.StatusForbidden {
		t.Fatalf("refresh without CSRF = %d", r.Status)
	}
	r = c.form("/admin/findings", "/admin/findings/refresh", nil)
	mustContain(t, r, "computed again")
	// A delegated owner has no findings page.
	owner := newClientSignedIn(t, env, info.OwnerToken)
	if r := owner.get("/admin/findings"); r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
		t.Fatalf("owner GET /admin/findings = %d", r.Status)
	}
}

func TestUserPageShowsGrantAndActivation(t *testing.T) {
	env, info := demoEnv(t, 300)
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	var holder string
	read(t, env, func(e *licensing.Engine) {
		e.ForEachUser(func(u *licensing.User) bool {
			for _, l := range e.Licenses(u.ID) {
				if l.Held {
					holder = u.ID
					return false
				}
			}
			return true
		})
	})
	r := c.get("/admin/users/" + holder)
	mustContain(t, r, "Seat granted")
	if !strings.Contains(r.Body, "activated") {
		t.Fatal("the user page says nothing about activation")
	}
}

// TestIdleFilterCountsIdleUsersAndFollowsUsageImports: the "idle 30 days"
// filter lists exactly the licensed users without a sign-in or feature
// use in 30 days, with their exact total, and a usage import that makes
// one of them active changes the list and the total at once.
func TestIdleFilterCountsIdleUsersAndFollowsUsageImports(t *testing.T) {
	env := newEnv(t)
	info, err := demo.Ensure(context.Background(), env.RT, env.Store, demo.Options{People: 300})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, env)
	c.signIn(info.AdminToken)
	tn, _ := env.RT.Get(demo.TenantID)
	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	idle := map[string]string{}   // id → userPrincipalName
	idleBySKU := map[string]int{} // skuId → idle users with a record of it
	all := 0
	tn.Read(func(s *tenant.State) {
		agg := usage.Of(s)
		s.Engine.ForEachUser(func(u *licensing.User) bool {
			all++
			ls := s.Engine.Licenses(u.ID)
			if len(ls) == 0 {
				return true
			}
			uu, _ := agg.User(u.ID)
			last := uu.SignIns.Last
			for _, f := range uu.Features {
				if f.Last.After(last) {
					last = f.Last
				}
			}
			if last.Before(cutoff) {
				idle[u.ID] = u.UserPrincipalName
				seen := map[string]bool{}
				for _, l := range ls {
					if !seen[l.SKUID] {
						seen[l.SKUID] = true
						idleBySKU[l.SKUID]++
					}
				}
			}
			return true
		})
	})
	// With a product filter, the total counts the idle users with a
	// record of that product.
	for sku, n := range idleBySKU {
		mustContain(t, c.get("/admin/users?state=idle&sku="+sku), plural(n)+"</span>")
	}
	if len(idle) == 0 || len(idle) == all {
		t.Fatalf("the demo has %d idle users of %d: the test needs some of each", len(idle), all)
	}
	r := c.get("/admin/users?state=idle")
	mustContain(t, r, `value="idle" selected`, plural(len(idle))+"</span>")
	var shown string
	for id := range idle {
		if strings.Contains(r.Body, `href="/admin/users/`+id+`"`) {
			shown = id
		}
	}
	if shown == "" {
		t.Fatal("no idle user on the first page")
	}
	for _, m := range userLinkRE.FindAllStringSubmatch(r.Body, -1) {
		if _, ok := idle[m[1]]; !ok {
			t.Fatalf("user %s is listed as idle but is not", m[1])
		}
	}
	// A sign-in now makes one of them active.
	line := fmt.Sprintf(`{"id":"idle-test-1","user":%q,"at":%q,"application":"Outlook","interactive":true}`, idle[shown], time.Now().UTC().Format(time.RFC3339))
	err = tn.Do(context.Background(), licensing.Op{Actor: "test"}, func(tx *tenant.Tx) error {
		_, err := usage.ParseSignIns([]byte(line)).Apply(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r = c.get("/admin/users?state=idle")
	mustContain(t, r, plural(len(idle)-1)+"</span>")
	if strings.Contains(r.Body, `href="/admin/users/`+shown+`"`) {
		t.Fatal("the user who signed in is still listed as idle")
	}
}

var userLinkRE = regexp.MustCompile(`href="/admin/users/([0-9a-f-]{36})"`)
