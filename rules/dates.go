package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a date value: RFC 3339 (2020-06-10T18:13:20Z, with or
// without fractional seconds or a zone offset), a local date-time without a
// zone (taken as UTC), or a date (2020-06-10, midnight UTC).
func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false // cheap rejection, without time.Parse's error allocation
	}
	if len(s) == 10 {
		t, err := time.Parse("2006-01-02", s)
		return t, err == nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range [...]string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// isoDuration is an ISO 8601 duration such as P1D, P1Y2M, P2W or PT12H30M.
// Calendar parts are applied with time.AddDate so that P1M from 31 January
// behaves like Go's (and .NET's) month arithmetic; the clock part is exact.
type isoDuration struct {
	years, months, days int
	clock               time.Duration
}

// parseISODuration parses s case-insensitively; the "P" is required and at
// least one part must be present.
func parseISODuration(s string) (isoDuration, bool) {
	var d isoDuration
	u := strings.ToUpper(s)
	if len(u) < 2 || u[0] != 'P' {
		return d, false
	}
	u = u[1:]
	inTime, parts := false, 0
	for len(u) > 0 {
		if u[0] == 'T' {
			if inTime {
				return d, false
			}
			inTime = true
			u = u[1:]
			if len(u) == 0 {
				return d, false
			}
			continue
		}
		j := 0
		for j < len(u) && ('0' <= u[j] && u[j] <= '9' || u[j] == '.' || u[j] == ',') {
			j++
		}
		if j == 0 || j == len(u) {
			return d, false
		}
		num := strings.ReplaceAll(u[:j], ",", ".")
		unit := u[j]
		u = u[j+1:]
		parts++
		if !inTime {
			n, err := strconv.Atoi(num)
			if err != nil || n > 100000 {
				return d, false
			}
			switch unit {
			case 'Y':
				d.years += n
			case 'M':
				d.months += n
			case 'W':
				d.days += 7 * n
			case 'D':
				d.days += n
			default:
				return d, false
			}
			continue
		}
		var unitLen time.Duration
		switch unit {
		case 'H':
			unitLen = time.Hour
		case 'M':
			unitLen = time.Minute
		case 'S':
			unitLen = time.Second
		default:
			return d, false
		}
		part, ok := parseDecimal(num, unitLen)
		if !ok {
			return d, false
		}
		if d.clock += part; d.clock > maxClock {
			return d, false
		}
	}
	return d, parts > 0
}

// maxClock bounds the clock part of a duration (about 114 years).
const maxClock = 1_000_000 * time.Hour

// parseDecimal returns num (digits, optionally with a fraction) times unit,
// exactly for whole numbers and seconds, to the nanosecond otherwise. It
// refuses values beyond maxClock so that sums can't overflow.
func parseDecimal(num string, unit time.Duration) (time.Duration, bool) {
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" && frac == "" || strings.Contains(frac, ".") || len(frac) > 9 {
		return 0, false
	}
	n := 0
	if whole != "" {
		var err error
		if n, err = strconv.Atoi(whole); err != nil || n > int(maxClock/unit) {
			return 0, false
		}
	}
	d := time.Duration(n) * unit
	if frac != "" {
		f, err := strconv.Atoi(frac)
		if err != nil {
			return 0, false
		}
		scale := time.Duration(1)
		for range len(frac) {
			scale *= 10
		}
		// unit/scale is exact for seconds (unit 1e9, scale ≤ 1e9); for hours
		// and minutes it rounds to the nanosecond.
		d += time.Duration(float64(f) * float64(unit) / float64(scale))
	}
	return d, true
}

// addTo returns t moved by d, backwards when sign is negative.
func (d isoDuration) addTo(t time.Time, sign int) time.Time {
	return t.AddDate(sign*d.years, sign*d.months, sign*d.days).Add(time.Duration(sign) * d.clock)
}

// String formats d in canonical ISO 8601 form, e.g. P1Y2M3DT4H.
func (d isoDuration) String() string {
	var b strings.Builder
	b.WriteByte('P')
	if d.years != 0 {
		b.WriteString(strconv.Itoa(d.years) + "Y")
	}
	if d.months != 0 {
		b.WriteString(strconv.Itoa(d.months) + "M")
	}
	if d.days != 0 {
		b.WriteString(strconv.Itoa(d.days) + "D")
	}
	if d.clock != 0 {
		b.WriteByte('T')
		c := d.clock
		if h := c / time.Hour; h != 0 {
			b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
			c -= h * time.Hour
		}
		if m := c / time.Minute; m != 0 {
			b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
			c -= m * time.Minute
		}
		if c != 0 {
			sec, ns := c/time.Second, c%time.Second
			b.WriteString(strconv.FormatInt(int64(sec), 10))
			if ns != 0 {
				b.WriteString(strings.TrimRight("."+fmt.Sprintf("%09d", int64(ns)), "0"))
			}
			b.WriteByte('S')
		}
	}
	if b.Len() == 1 {
		b.WriteString("T0S")
	}
	return b.String()
}
