package usage

import "strings"

// Parsing of the dates and times the inputs carry, without allocating.

// parseTime reads an RFC 3339 date-time (offset Z or ±hh:mm, optional
// fraction, 'T' or a space between date and time) or a bare date (00:00
// UTC), returning Unix seconds.
func parseTime(b []byte) (int64, bool) {
	if len(b) < 10 {
		return 0, false
	}
	days, ok := parseISODate(b[:10])
	if !ok {
		return 0, false
	}
	if len(b) == 10 {
		return days * 86400, true
	}
	if len(b) < 20 {
		return 0, false
	}
	secs, ok := parseClock(b[10:19])
	if !ok {
		return 0, false
	}
	off, ok := parseZone(b[19:])
	if !ok {
		return 0, false
	}
	return days*86400 + secs - off, true
}

// parseISODate reads yyyy-mm-dd as days since 1970-01-01.
func parseISODate(b []byte) (int64, bool) {
	if b[4] != '-' || b[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(b[0:4])
	mo, ok2 := digits(b[5:7])
	d, ok3 := digits(b[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, false
	}
	return daysFromCivil(y, mo, d), true
}

// parseClock reads "Thh:mm:ss" ('T', 't' or a space first) as seconds
// into the day; a leap second is kept within its minute.
func parseClock(b []byte) (int64, bool) {
	if (b[0] != 'T' && b[0] != 't' && b[0] != ' ') || b[3] != ':' || b[6] != ':' {
		return 0, false
	}
	h, ok1 := digits(b[1:3])
	mi, ok2 := digits(b[4:6])
	sec, ok3 := digits(b[7:9])
	if !ok1 || !ok2 || !ok3 || h > 23 || mi > 59 || sec > 60 {
		return 0, false
	}
	if sec == 60 {
		sec = 59 // a leap second: keep it within its minute
	}
	return int64(h*3600 + mi*60 + sec), true
}

// parseZone reads what follows the seconds: an optional fraction (ignored)
// and the offset, Z or ±hh:mm, returned in seconds east of UTC.
func parseZone(rest []byte) (int64, bool) {
	if rest[0] == '.' {
		j := 1
		for j < len(rest) && '0' <= rest[j] && rest[j] <= '9' {
			j++
		}
		if j == 1 {
			return 0, false
		}
		rest = rest[j:]
	}
	switch {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		return 0, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		off := int64(oh*3600 + om*60)
		if rest[0] == '-' {
			off = -off
		}
		return off, true
	}
	return 0, false
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d (proleptic
// Gregorian; Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseDate reads a report date: YYYY-MM-DD (Graph) or M/D/YYYY (the admin
// center's export).
func parseDate(s string) (Day, bool) {
	if unix, ok := parseTime([]byte(s)); ok && len(s) == 10 {
		return Day(unix / 86400), true
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 || len(parts[2]) != 4 || len(parts[0]) == 0 || len(parts[0]) > 2 || len(parts[1]) == 0 || len(parts[1]) > 2 {
		return 0, false
	}
	m, ok1 := digits([]byte(parts[0]))
	d, ok2 := digits([]byte(parts[1]))
	y, ok3 := digits([]byte(parts[2]))
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return Day(daysFromCivil(y, m, d)), true
}
