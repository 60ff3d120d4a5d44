package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pageData is what every page template receives.
type pageData struct {
	Title string
	Nav   string // the navigation entry to mark as current
	V     *viewer
	Flash *flash
	Data  any
}

// parseTemplates parses every page with the layout and the shared
// partials. A template error is a defect of the binary: it panics at start.
func parseTemplates() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t := template.New(base).Funcs(funcs)
		out[base] = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/partials.html", n))
	}
	return out
}

// render writes a page. It renders into a buffer first so that a template
// error becomes a 500, not half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, v *viewer, status int, name string, d pageData) {
	d.V = v
	if d.Flash == nil && r.Method == http.MethodGet {
		d.Flash = h.takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		h.s.Log.Error("rendering a page", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var funcs = template.FuncMap{
	"num":        num,
	"when":       when,
	"timed":      timed,
	"date":       func(t time.Time) template.HTML { return day(t.UTC().Format(time.DateOnly)) },
	"day":        day,
	"plural":     plural,
	"pct":        pct,
	"query":      withQuery,
	"lower":      strings.ToLower,
	"add":        func(a, b int) int { return a + b },
	"sub":        func(a, b int) int { return a - b },
	"short":      shortID,
	"joinStr":    strings.Join,
	"list":       func(v ...any) []any { return v },
	"field":      field,
	"saving":     monthly,
	"money":      func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) },
	"stateTitle": stateTitle,
	"licenseForm": func(kind, id string, f *licenseForm, assignable []skuRow, v *viewer) licenseFormView {
		return licenseFormView{Kind: kind, ID: id, Form: f, Assignable: assignable, V: v}
	},
	"chartPair": func(c chart, class string) any {
		return struct {
			Chart chart
			Class string
		}{c, class}
	},
	"deref": func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	},
}

// num formats an integer with thousands separators: 1234567 → 1,234,567.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// when renders a time as a <time> element in UTC; the page's script shows
// it in the viewer's zone.
func when(t time.Time) template.HTML {
	if t.IsZero() {
		return "—"
	}
	t = t.UTC()
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s</time>`, t.Format(time.RFC3339), t.Format("2006-01-02 15:04 UTC")))
}

// day renders a calendar date (YYYY-MM-DD, a day without a time or zone)
// as a <time> element; the page's script shows it in the viewer's locale,
// without moving it to another day. Anything else is shown as it is.
func day(d string) template.HTML {
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return template.HTML(template.HTMLEscapeString(d))
	}
	return template.HTML(`<time datetime="` + d + `" data-day>` + d + `</time>`)
}

// instantRE finds the times in server-written text: RFC 3339 instants
// ("2026-03-01T09:30:00Z", as the engine's explanations and the audit's
// details write them) and calendar days ("2026-03-01", as the findings
// write grant dates).
var instantRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?`)

// timed renders server-written text — an explanation, a finding's
// evidence, an audit entry's detail, a refusal — as escaped text whose
// times are <time> elements (when, day), so that the page's script shows
// them in the viewer's locale and zone like every other date. A match
// inside a longer token (an id, a version) or that is no valid time stays
// text.
func timed(s string) template.HTML {
	var b strings.Builder
	last := 0
	for _, m := range instantRE.FindAllStringIndex(s, -1) {
		if m[0] > 0 && isWordByte(s[m[0]-1]) || continues(s[m[1]:]) {
			continue
		}
		tok := s[m[0]:m[1]]
		var out template.HTML
		if len(tok) == len(time.DateOnly) {
			if _, err := time.Parse(time.DateOnly, tok); err != nil {
				continue
			}
			out = day(tok)
		} else {
			t, err := time.Parse(time.RFC3339Nano, tok)
			if err != nil {
				continue
			}
			out = when(t)
		}
		b.WriteString(template.HTMLEscapeString(s[last:m[0]]))
		b.WriteString(string(out))
		last = m[1]
	}
	b.WriteString(template.HTMLEscapeString(s[last:]))
	return template.HTML(b.String())
}

// isWordByte: a byte that continues a token (letters, digits, '-', '.',
// ':'), so that a time-like part of it is not a time.
func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '.' || c == ':' || c == '_'
}

// continues reports whether the text after a time-like match continues
// its token: a letter, digit, '-' or '_', or a '.' or ':' before one (a
// '.' that ends a sentence does not).
func continues(rest string) bool {
	if rest == "" {
		return false
	}
	if c := rest[0]; c == '.' || c == ':' {
		return len(rest) > 1 && isWordByte(rest[1]) && rest[1] != '.' && rest[1] != ':'
	}
	return isWordByte(rest[0])
}

// plural returns "1 user" or "3 users" (with thousands separators).
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return num(n) + " " + many
}

// pct returns part of whole as a percentage in [0, 100].
func pct(part, whole int) float64 {
	if whole <= 0 {
		return 0
	}
	return min(100, max(0, float64(part)*100/float64(whole)))
}

// withQuery returns the URL u with the query parameters given as name,
// value pairs set (an empty value removes the parameter).
func withQuery(u *url.URL, kv ...string) string {
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	out := url.URL{Path: u.Path, RawQuery: q.Encode()}
	return out.String()
}

// shortID shortens a GUID for display: its first block.
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i]
	}
	return id
}
