package web_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Browser tests drive a real headless Chromium (Debian's chromium package)
// through chromedp. Without a browser they are skipped, unless
// ALLOT_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure; with
// -short they are skipped. ALLOT_CHROMIUM names the browser binary when it
// is not on the PATH.

// chromiumPath finds the browser, or "".
func chromiumPath() string {
	if p := os.Getenv("ALLOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// stepTimeout guards each browser step against a hang; it is no
// performance assertion (the machine may be slow).
const stepTimeout = 90 * time.Second

// startBrowser starts one headless browser for a test and returns its
// context; sessions (newSession) are separate browser contexts with their
// own cookies.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser tests run without -short (CI runs them in its full test run)")
	}
	path := chromiumPath()
	if path == "" {
		if os.Getenv("ALLOT_REQUIRE_BROWSER") == "1" {
			t.Fatal("ALLOT_REQUIRE_BROWSER=1 but no Chromium was found (install Debian's chromium, or set ALLOT_CHROMIUM)")
		}
		t.Skip("no Chromium found; install Debian's chromium package to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// session is one visitor: a browser context (own cookies) and one tab.
type session struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func newSession(t *testing.T, browser context.Context, base string) *session {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return &session{t: t, ctx: ctx, base: base}
}

// do runs steps, failing the test on an error.
func (s *session) do(steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.t.Fatalf("browser: %v (at %s)", err, s.location())
	}
}

func (s *session) location() string {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	u, _ := chromedp.Run(ctx, chromedp.Location())
	return u
}

// text returns the text of the first element matching a CSS selector,
// waiting until it is visible.
func (s *session) text(sel string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		s.t.Fatalf("browser: text of %s: %v (at %s)", sel, err, s.location())
	}
	return v
}

// open navigates to a path of the admin center and waits for its heading.
func (s *session) open(path string) {
	s.t.Helper()
	s.do(chromedp.Navigate(s.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// signIn signs in with a token through the sign-in form.
func (s *session) signIn(token string) {
	s.t.Helper()
	s.open("/admin/")
	s.do(chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS(`form[action="/admin/signin"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("nav.side")))
}

// waitText waits until the element's text contains want.
func (s *session) waitText(sel, want string) {
	s.t.Helper()
	js := `(() => { const e = document.querySelector(` + jsString(sel) + `); return !!e && e.textContent.includes(` + jsString(want) + `); })()`
	ctx, cancel := context.WithTimeout(s.ctx, stepTimeout)
	defer cancel()
	// Evaluated in a loop rather than with chromedp.Poll, which gives up
	// at the first error: while a form's answer loads, the page being
	// replaced cannot evaluate, which is expected.
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil {
			got, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`(document.querySelector(`+jsString(sel)+`)||{}).textContent||""`))
			s.t.Fatalf("browser: %s never contained %q (got %q) at %s", sel, want, strings.TrimSpace(got), s.location())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "`", "\\`", "$", `\$`)
	return "`" + r.Replace(s) + "`"
}
