package web

import "testing"

// Server-written text carries its times as <time> elements (the page's
// script formats them in the viewer's locale and zone); everything else
// is escaped text, and time-like parts of other tokens stay text.
func TestTimedMarksTheTimesInServerText(t *testing.T) {
	for in, want := range map[string]string{
		"a@contoso.example is licensed for SPE_E3 through group Sales and consumes one seat (since 2026-03-01T09:30:00Z).": `a@contoso.example is licensed for SPE_E3 through group Sales and consumes one seat (since <time datetime="2026-03-01T09:30:00Z">2026-03-01 09:30 UTC</time>).`,
		"waiting since 2026-03-01T09:30:00.5+02:00.":                             `waiting since <time datetime="2026-03-01T07:30:00Z">2026-03-01 07:30 UTC</time>.`,
		"granted 2025-11-02; no sign-in or feature use since":                    `granted <time datetime="2025-11-02" data-day>2025-11-02</time>; no sign-in or feature use since`,
		`{"oldValue":"2026-01-01T00:00:00Z"}`:                                    `{&#34;oldValue&#34;:&#34;<time datetime="2026-01-01T00:00:00Z">2026-01-01 00:00 UTC</time>&#34;}`,
		"<b>2026-13-45</b> v1.2026-01-01 id-2026-01-01 2026-01-01x 2026-01-01.5": "&lt;b&gt;2026-13-45&lt;/b&gt; v1.2026-01-01 id-2026-01-01 2026-01-01x 2026-01-01.5",
		"": "",
	} {
		if got := string(timed(in)); got != want {
			t.Errorf("timed(%q)\n = %s\nwant %s", in, got, want)
		}
	}
}
