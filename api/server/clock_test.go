package server_test

import (
	"testing"
	"time"

	"allot/api/apitest"
	"allot/api/partner"
)

// An error's innerError.date is the runtime's clock, not the wall clock:
// with a runtime whose clock stands in 2031, errors are dated 2031.
func TestErrorsAreDatedByTheRuntimeClock(t *testing.T) {
	at := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	e := apitest.NewWith(t, apitest.Options{Now: func() time.Time { return at }}, partner.Register)
	r := e.Must(404, "GET", "/partner/v1/noSuchThing", apitest.PartnerToken, nil)
	var body struct {
		Error struct {
			InnerError struct {
				Date string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	r.Decode(t, &body)
	if got := body.Error.InnerError.Date; got != "2031-02-03T04:05:06" {
		t.Fatalf("innerError.date %q, want the runtime's 2031-02-03T04:05:06", got)
	}
}
