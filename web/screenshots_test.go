package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"allot/tenant"
	"allot/web/demo"
)

// TestScreenshots saves screenshots of the main pages of the demo tenant
// to docs/screenshots (for the user guide):
//
//	ALLOT_SCREENSHOTS=1 go test ./web -run Screenshots
func TestScreenshots(t *testing.T) {
	if os.Getenv("ALLOT_SCREENSHOTS") != "1" {
		t.Skip("set ALLOT_SCREENSHOTS=1 to write docs/screenshots")
	}
	browser := startBrowser(t)
	env := newEnv(t)
	info, err := demo.Ensure(context.Background(), env.RT, env.Store, demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The visible part of each page (the top), as a visitor sees it first.
	shot := func(s *session, name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	admin := newSession(t, browser, env.URL)
	admin.do(chromedp.EmulateViewport(1280, 1000))
	admin.open("/admin/signin")
	shot(admin, "signin")
	admin.signIn(info.AdminToken)
	var e5, user, group string
	t1, _ := env.RT.Get(demo.TenantID)
	t1.Read(func(st *tenant.State) {
		sku, _ := st.Engine.Catalog().SKU("SPE_E5")
		e5 = sku.ID
		if room := st.Engine.WaitingRoom(e5); len(room) > 0 {
			user = room[0].UserID
		}
		for _, id := range st.Engine.GroupIDs() {
			if g, _ := st.Engine.Group(id); g.DisplayName == "M365 E5 – Sales & Marketing" {
				group = id
			}
		}
	})
	pages := []struct{ name, path string }{
		{"dashboard", "/admin/"},
		{"products", "/admin/products"},
		{"users", "/admin/users?sku=" + e5 + "&dept=Sales"},
		{"user", "/admin/users/" + user},
		{"groups", "/admin/groups"},
		{"group", "/admin/groups/" + group},
		{"allotment", "/admin/allotments/" + info.OwnedAllotment},
		{"errors", "/admin/errors"},
		{"waiting", "/admin/waiting?sku=" + e5},
		{"audit", "/admin/audit"},
		{"findings", "/admin/findings"},
	}
	for _, p := range pages {
		admin.open(p.path)
		// The findings page computes the position in the background at
		// its first view: reload until it shows the position.
		for i := 0; p.name == "findings" && i < 300 && !strings.Contains(admin.text("main"), "Computed "); i++ {
			time.Sleep(100 * time.Millisecond)
			admin.open(p.path)
		}
		shot(admin, p.name)
	}
	owner := newSession(t, browser, env.URL)
	owner.do(chromedp.EmulateViewport(1280, 560))
	owner.signIn(info.OwnerToken)
	owner.open("/admin/allotments")
	shot(owner, "owner-allotments")
	phone := newSession(t, browser, env.URL)
	phone.signIn(info.AdminToken)
	phone.do(chromedp.EmulateViewport(390, 1300, chromedp.EmulateScale(2)))
	phone.open("/admin/")
	shot(phone, "dashboard-phone")
}
