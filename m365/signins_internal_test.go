package m365

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestSignInEvents: what a user's signInActivity says as sign-ins — the
// last successful one, and the last interactive and non-interactive
// attempts that are not after it (a later attempt failed); without a last
// successful sign-in (tenants that do not give it) the attempts; one time
// given twice is one sign-in, interactive if either is.
func TestSignInEvents(t *testing.T) {
	const a, b, c = "2026-11-01T08:00:00Z", "2026-11-02T09:30:00Z", "2026-11-03T10:00:00Z"
	q := func(s string) string {
		if s == "" {
			return "null"
		}
		return `"` + s + `"`
	}
	for _, tc := range []struct {
		interactive, nonInteractive, successful string
		want                                    string
	}{
		{a, b, b, "[u 2026-11-01T08:00:00Z true] [u 2026-11-02T09:30:00Z false]"},
		{b, a, b, "[u 2026-11-01T08:00:00Z false] [u 2026-11-02T09:30:00Z true]"},
		{c, a, b, "[u 2026-11-01T08:00:00Z false] [u 2026-11-02T09:30:00Z false]"}, // the interactive attempt at c failed
		{a, c, b, "[u 2026-11-01T08:00:00Z true] [u 2026-11-02T09:30:00Z false]"},  // the non-interactive one at c failed
		{a, b, "", "[u 2026-11-01T08:00:00Z true] [u 2026-11-02T09:30:00Z false]"},
		{"", "", a, "[u 2026-11-01T08:00:00Z false]"},
		{"", "", "", ""},
	} {
		raw := fmt.Sprintf(`{"id":"u","signInActivity":{"lastSignInDateTime":%s,"lastNonInteractiveSignInDateTime":%s,"lastSuccessfulSignInDateTime":%s}}`,
			q(tc.interactive), q(tc.nonInteractive), q(tc.successful))
		got := ""
		for i, e := range signInEvents(json.RawMessage(raw)) {
			if i > 0 {
				got += " "
			}
			got += fmt.Sprintf("[%s %s %v]", e.User, e.At.Format("2006-01-02T15:04:05Z07:00"), e.Interactive)
		}
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", raw, got, tc.want)
		}
	}
	for _, raw := range []string{`{"id":"u"}`, `{"id":"u","signInActivity":null}`, `{"signInActivity":{"lastSignInDateTime":"` + a + `"}}`, `not json`} {
		if e := signInEvents(json.RawMessage(raw)); len(e) != 0 {
			t.Errorf("%s: %v, want none", raw, e)
		}
	}
	if signInsOf([]json.RawMessage{json.RawMessage(`{"id":"u"}`)}) != nil {
		t.Error("a batch for users without sign-ins")
	}
}
