package usage

import (
	"bytes"
	"errors"
	"strconv"
)

// BatchKind says what a Batch holds.
type BatchKind byte

const (
	// FeatureEvents are {"id","user","feature","at"} objects.
	FeatureEvents BatchKind = 'e'
	// SignIns are {"id","user","at","application","interactive"} objects;
	// Microsoft Graph signIn objects (userPrincipalName or userId,
	// createdDateTime, isInteractive) are read as well. The application is
	// accepted and not kept: a sign-in counts for the user, not a workload.
	SignIns BatchKind = 's'
)

// Batch is parsed feature events or sign-ins, ready to be aggregated by one
// command (Apply). Parsing is pure: it needs no tenant, so it runs before
// Tenant.Do. The input may be JSON lines (one object per line), a JSON
// array of objects, or an object whose "value" is such an array (Graph's
// collection shape), and may start with a UTF-8 BOM.
//
// A line that cannot be read is rejected with its line number and the rest
// is read. In a JSON array a syntax error stops the reading (the position
// is reported); objects that are well-formed but invalid (no user, a bad
// time, an unknown feature) are rejected one by one.
type Batch struct {
	Kind     BatchKind
	Rejected []Rejection // in input order
	Read     int         // objects read, rejected ones included

	users    []string
	userLine []int32 // line of each user's first event
	userIdx  map[string]uint32
	items    []item

	scratch [5][]byte
	res     resolver
}

type item struct {
	idh         uint64 // hash of the event id; 0 = none
	user        uint32 // index in users
	line        int32
	t           stamp
	f           featureIdx
	interactive bool
}

// Rejection is an input row that was not ingested.
type Rejection struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// NewBatch returns an empty batch of the kind.
func NewBatch(kind BatchKind) *Batch {
	return &Batch{Kind: kind, userIdx: map[string]uint32{}}
}

// ParseEvents parses feature events.
func ParseEvents(data []byte) *Batch {
	b := NewBatch(FeatureEvents)
	b.Parse(data, 1)
	return b
}

// ParseSignIns parses sign-ins.
func ParseSignIns(data []byte) *Batch {
	b := NewBatch(SignIns)
	b.Parse(data, 1)
	return b
}

// Len returns the number of events ready to be aggregated.
func (b *Batch) Len() int { return len(b.items) }

var bom = []byte{0xEF, 0xBB, 0xBF}

// Parse reads data and appends its events to the batch; firstLine is the
// line number of data's first line (to parse a large JSON-lines file in
// chunks that end at line ends).
func (b *Batch) Parse(data []byte, firstLine int) {
	s := &scanner{b: data, line: firstLine}
	if want := len(b.items) + bytes.Count(data, []byte{'\n'}) + 1; cap(b.items) < want {
		b.items = append(make([]item, 0, want), b.items...)
	}
	if bytes.HasPrefix(data, bom) {
		s.i = len(bom)
	}
	if s.ws() == '[' {
		s.i++
		line := s.line
		if err := b.array(s); err != nil {
			b.syntax(err, line, "; the rest of the input was not read")
			return
		}
		if s.ws() != 0 {
			b.reject(s.line, "unexpected data after the JSON array; it was not read")
		}
		return
	}
	for s.ws() != 0 {
		line, start := s.line, s.i
		if s.b[s.i] != '{' {
			b.Read++
			b.reject(line, "expected a JSON object")
			s.toLineEnd()
			continue
		}
		wrapper, err := b.object(s, true)
		if err != nil && wrapper {
			// A collection cannot be resynchronised: stop.
			b.syntax(err, line, "; the rest of the input was not read")
			return
		}
		if err != nil {
			// Report the object's line and resume on the next line: in
			// JSON lines an object does not span lines.
			b.Read++
			msg := "invalid JSON: " + err.Error()
			var se *syntaxError
			if errors.As(err, &se) && se.line != line {
				msg += " (on line " + strconv.Itoa(se.line) + ")"
			}
			b.reject(line, msg)
			s.i, s.line = start, line
			s.toLineEnd()
		}
	}
}

func (b *Batch) syntax(err error, line int, suffix string) {
	var se *syntaxError
	if errors.As(err, &se) {
		line = se.line
	}
	b.reject(line, "invalid JSON: "+err.Error()+suffix)
}

func (b *Batch) reject(line int, reason string) {
	b.Rejected = append(b.Rejected, Rejection{Line: line, Reason: reason})
}

// array reads the elements of a JSON array (after its '[').
func (b *Batch) array(s *scanner) error {
	if s.ws() == ']' {
		s.i++
		return nil
	}
	for {
		line := s.line
		if s.ws() == '{' {
			if _, err := b.object(s, false); err != nil {
				return err
			}
		} else {
			b.Read++
			b.reject(line, "expected a JSON object")
			if err := s.skip(); err != nil {
				return err
			}
		}
		switch s.ws() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.errf("expected ',' or ']' in the array")
		}
	}
}

// fields are the members of one event object.
type fields struct {
	id, user, feature, at []byte
	userRank              int // which member gave user: user > userPrincipalName > userId
	interactive           bool
}

// object reads one object (at its '{'). At the top level an object whose
// "value" member is an array is a collection: its elements are the events
// (wrapper reports it, also on error).
func (b *Batch) object(s *scanner, top bool) (wrapper bool, err error) {
	line := s.line
	s.i++ // '{'
	var f fields
	if s.ws() == '}' {
		s.i++
	} else {
		for {
			k, err := s.str(&b.scratch[4])
			if err != nil {
				return wrapper, err
			}
			if err := s.expect(':'); err != nil {
				return wrapper, err
			}
			switch string(k) {
			case "id":
				f.id, err = b.scalar(s, 0)
			case "user", "userPrincipalName", "userId":
				rank := 1 // userId
				switch string(k) {
				case "user":
					rank = 3
				case "userPrincipalName":
					rank = 2
				}
				if rank > f.userRank {
					f.user, err = b.scalar(s, 1)
					f.userRank = rank
				} else {
					err = s.skip()
				}
			case "feature":
				f.feature, err = b.scalar(s, 2)
			case "at", "createdDateTime":
				f.at, err = b.scalar(s, 3)
			case "interactive", "isInteractive":
				if s.ws() == 't' || s.ws() == 'f' {
					var c byte
					c, err = s.literal()
					f.interactive = c == 't'
				} else {
					err = s.skip()
				}
			case "value":
				if top && s.ws() == '[' {
					s.i++
					wrapper = true
					err = b.array(s)
				} else {
					err = s.skip()
				}
			default:
				err = s.skip()
			}
			if err != nil {
				return wrapper, err
			}
			c := s.ws()
			if c == ',' {
				s.i++
				continue
			}
			if c == '}' {
				s.i++
				break
			}
			return wrapper, s.errf("expected ',' or '}' in an object")
		}
	}
	if !wrapper {
		b.Read++
		b.add(line, &f)
	}
	return wrapper, nil
}

// scalar reads a string, or a number or literal as its text; null is empty.
func (b *Batch) scalar(s *scanner, slot int) ([]byte, error) {
	switch c := s.ws(); {
	case c == '"':
		return s.str(&b.scratch[slot])
	case c == '-' || ('0' <= c && c <= '9'):
		start := s.i
		s.number()
		return s.b[start:s.i], nil
	case c == 'n':
		_, err := s.literal()
		return nil, err
	default:
		return nil, s.skip()
	}
}

// add validates one event and appends it.
func (b *Batch) add(line int, f *fields) {
	user := bytes.TrimSpace(f.user)
	if len(user) == 0 {
		b.reject(line, "missing user")
		return
	}
	unix, ok := parseTime(bytes.TrimSpace(f.at))
	if !ok {
		if len(f.at) == 0 {
			b.reject(line, "missing at")
		} else {
			b.reject(line, "invalid at "+strconv.Quote(string(f.at))+": want an RFC 3339 date and time")
		}
		return
	}
	t, ok := toStamp(unix)
	if !ok {
		b.reject(line, "at "+strconv.Quote(string(f.at))+" is out of range (2000 to 2136)")
		return
	}
	it := item{t: t, line: int32(line), interactive: f.interactive}
	if b.Kind == FeatureEvents {
		name := bytes.TrimSpace(f.feature)
		if len(name) == 0 {
			b.reject(line, "missing feature")
			return
		}
		fi, ok := lookupFeature(name)
		if !ok {
			b.reject(line, "unknown feature "+strconv.Quote(string(name))+": not in the feature map and not a service plan")
			return
		}
		it.f = fi
	}
	if len(f.id) > 0 {
		it.idh = fnv64(byte(b.Kind), f.id)
	}
	ui, ok := b.userIdx[string(user)]
	if !ok {
		key := string(user)
		ui = uint32(len(b.users))
		b.users = append(b.users, key)
		b.userLine = append(b.userLine, int32(line))
		b.userIdx[key] = ui
	}
	it.user = ui
	b.items = append(b.items, it)
}
