package usage

import (
	"testing"
	"time"
)

// parseTime reads the RFC 3339 forms the inputs carry and refuses the rest.
func TestParseTimeFormsAndRefusals(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2024-06-30":                time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC),
		"2024-06-30T10:11:12Z":      time.Date(2024, 6, 30, 10, 11, 12, 0, time.UTC),
		"2024-06-30t10:11:12z":      time.Date(2024, 6, 30, 10, 11, 12, 0, time.UTC),
		"2024-06-30 10:11:12.123Z":  time.Date(2024, 6, 30, 10, 11, 12, 0, time.UTC),
		"2024-06-30T10:11:12+02:30": time.Date(2024, 6, 30, 7, 41, 12, 0, time.UTC),
		"2024-06-30T10:11:12-01:00": time.Date(2024, 6, 30, 11, 11, 12, 0, time.UTC),
		"2024-02-29T23:59:60Z":      time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
	} {
		got, ok := parseTime([]byte(in))
		if !ok || got != want.Unix() {
			t.Errorf("%s: %d %v, want %d", in, got, ok, want.Unix())
		}
	}
	for _, in := range []string{"", "2024-6-30", "2023-02-29", "2024-06-30T", "2024-06-30T24:00:00Z", "2024-06-30T10:11:12",
		"2024-06-30T10:11:12.Z", "2024-06-30T10:11:12+2:00", "2024-06-30T10:11:12+24:00", "2024-06-30X10:11:12Z", "2024-13-01"} {
		if _, ok := parseTime([]byte(in)); ok {
			t.Errorf("%q accepted", in)
		}
	}
}
