package licensing

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"allot"
	"allot/catalog"
	"allot/userprop"
)

// codec is one record type's binary and JSON forms, for the generic tests.
type codec struct {
	name   string
	typ    reflect.Type
	encode func(dst []byte, v any) []byte // v is a pointer to the record
	decode func(b []byte) (any, error)    // a pointer to the record
}

var codecs = []codec{
	{"User", reflect.TypeFor[User](),
		func(dst []byte, v any) []byte { return AppendUserBinary(dst, v.(*User)) },
		func(b []byte) (any, error) { u, err := DecodeUser(b); return &u, err }},
	{"Group", reflect.TypeFor[Group](),
		func(dst []byte, v any) []byte { return AppendGroupBinary(dst, v.(*Group)) },
		func(b []byte) (any, error) { g, err := DecodeGroup(b); return &g, err }},
	{"LicenseSource", reflect.TypeFor[LicenseSource](),
		func(dst []byte, v any) []byte { return AppendLicenseSourceBinary(dst, v.(*LicenseSource)) },
		func(b []byte) (any, error) { s, err := DecodeLicenseSource(b); return &s, err }},
	{"License", reflect.TypeFor[License](),
		func(dst []byte, v any) []byte { return AppendLicenseBinary(dst, v.(*License)) },
		func(b []byte) (any, error) { l, err := DecodeLicense(b); return &l, err }},
}

// gen fills values of the record types at random, by reflection, so that
// a field added to a type is generated without a change here (a type it
// does not know fails the test, naming the field).
type gen struct {
	t     testing.TB
	r     *rand.Rand
	times []time.Time // times generated so far: records often repeat one
}

func (g *gen) fill(v reflect.Value, path string) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(g.time()))
		return
	case reflect.TypeFor[Instant]():
		if g.r.Intn(4) > 0 {
			t := time.Unix(g.r.Int63n(1<<33)-1<<32, g.r.Int63n(1e9)*int64(g.r.Intn(2)))
			v.SetUint(uint64(InstantOf(t)))
		}
		return
	case reflect.TypeFor[SourceStatus]():
		v.SetUint(uint64(g.r.Intn(len(statusWords))))
		return
	case reflect.TypeFor[SourceErrorCode]():
		v.SetUint(uint64(g.r.Intn(len(errorWords))))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(g.str())
	case reflect.Bool:
		v.SetBool(g.r.Intn(2) == 0)
	case reflect.Slice:
		switch g.r.Intn(4) {
		case 0: // nil
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + g.r.Intn(4)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				g.fill(s.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
			v.Set(s)
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
			g.t.Fatalf("%s: the generator knows maps of strings, not %s", path, v.Type())
		}
		switch g.r.Intn(4) {
		case 0:
		case 1:
			v.Set(reflect.MakeMap(v.Type()))
		default:
			m := reflect.MakeMap(v.Type())
			for range 1 + g.r.Intn(5) {
				m.SetMapIndex(reflect.ValueOf(g.str()), reflect.ValueOf(g.str()))
			}
			v.Set(m)
		}
	case reflect.Pointer:
		if g.r.Intn(3) == 0 {
			p := reflect.New(v.Type().Elem())
			g.fill(p.Elem(), path)
			v.Set(p)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				g.fill(v.Field(i), path+"."+f.Name)
			}
		}
	default:
		g.t.Fatalf("%s: type %s the generator does not know: teach it (and the codec)", path, v.Type())
	}
}

// str is a string of one of the shapes the codec tells apart: empty, a
// dictionary word, a canonical GUID, a GUID in capitals, and text.
func (g *gen) str() string {
	switch g.r.Intn(8) {
	case 0:
		return ""
	case 1:
		return words[g.r.Intn(len(words))]
	case 2, 3:
		var b [16]byte
		g.r.Read(b[:])
		s := formatGUID(b[:])
		if g.r.Intn(4) == 0 {
			s = strings.ToUpper(s)
		}
		return s
	case 4:
		return words[g.r.Intn(len(words))] + "x"
	default:
		const alphabet = "abcXYZ019 -_@.\u00e9\u00df\u4e16\U0001f600"
		rs := []rune(alphabet)
		var b strings.Builder
		for range g.r.Intn(40) {
			b.WriteRune(rs[g.r.Intn(len(rs))])
		}
		return b.String()
	}
}

// time is a time JSON can write: the zero time, a time of the record
// again, or a new one in UTC or at an offset, with or without
// nanoseconds, in the years 0 to 9999.
func (g *gen) time() time.Time {
	switch {
	case g.r.Intn(5) == 0:
		return time.Time{}
	case len(g.times) > 0 && g.r.Intn(3) == 0:
		t := g.times[g.r.Intn(len(g.times))]
		if g.r.Intn(2) == 0 {
			t = t.Add(time.Duration(g.r.Intn(1000)))
		}
		return t
	}
	sec := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix() + g.r.Int63n(1<<30) - 1<<29
	if g.r.Intn(8) == 0 {
		sec = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix() + g.r.Int63n(315537897599-24*3600)
	}
	t := time.Unix(sec, g.r.Int63n(1e9)*int64(g.r.Intn(2))).UTC()
	if g.r.Intn(4) == 0 {
		t = t.In(time.FixedZone("", (g.r.Intn(48*60-1)-(24*60-1))*60))
	}
	g.times = append(g.times, t)
	return t
}

// Every value round-trips through the binary format exactly as it does
// through JSON (the format bodies had before), the encoding is canonical,
// and nil and empty lists stay apart where JSON keeps them apart.
func TestBinaryRoundTripMatchesJSON(t *testing.T) {
	for _, c := range codecs {
		t.Run(c.name, func(t *testing.T) {
			g := &gen{t: t, r: rand.New(rand.NewSource(1))}
			for i := range 5000 {
				g.times = g.times[:0]
				x := reflect.New(c.typ)
				g.fill(x.Elem(), c.name)
				b := c.encode([]byte("prefix"), x.Interface())
				if !bytes.HasPrefix(b, []byte("prefix")) || !IsBinary(b[6:]) {
					t.Fatalf("%d: the body is not appended: %q", i, b)
				}
				b = b[6:]
				got, err := c.decode(b)
				if err != nil {
					t.Fatalf("%d: %v\nvalue %+v\nbody %x", i, err, x.Elem(), b)
				}
				j, err := json.Marshal(x.Interface())
				if err != nil {
					t.Fatal(err)
				}
				want := reflect.New(c.typ)
				if err := json.Unmarshal(j, want.Interface()); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want.Interface()) {
					gj, _ := json.Marshal(got)
					t.Fatalf("%d: binary and JSON round-trips differ\nvalue  %+v\nbinary %+v\nJSON   %+v\n%s\n%s", i, x.Elem(), got, want.Elem(), gj, j)
				}
				if again := c.encode(nil, got); !bytes.Equal(again, b) {
					t.Fatalf("%d: not canonical: %x, again %x", i, b, again)
				}
			}
		})
	}
}

// variants are values of typ with exactly one field set, for every field
// down to the leaves (fields of list elements and pointed-to structs
// too), each named by its path.
func variants(t *testing.T, typ reflect.Type, path string) (out []variant) {
	t.Helper()
	leaf := func(v any) { out = append(out, variant{path, reflect.ValueOf(v).Convert(typ)}) }
	switch typ {
	case reflect.TypeFor[time.Time]():
		leaf(time.Date(2025, 6, 1, 12, 0, 0, 5, time.UTC))
		return
	case reflect.TypeFor[Instant]():
		leaf(InstantOf(time.Date(2025, 6, 1, 12, 0, 0, 5, time.UTC)))
		return
	case reflect.TypeFor[SourceStatus]():
		leaf(StateActive)
		return
	case reflect.TypeFor[SourceErrorCode]():
		leaf(ErrCountViolation)
		return
	}
	switch typ.Kind() {
	case reflect.String:
		leaf("x")
	case reflect.Bool:
		leaf(true)
	case reflect.Map:
		m := reflect.MakeMap(typ)
		m.SetMapIndex(reflect.ValueOf("k").Convert(typ.Key()), reflect.ValueOf("v").Convert(typ.Elem()))
		out = append(out, variant{path, m})
	case reflect.Slice:
		out = append(out, variant{path + "(empty)", reflect.MakeSlice(typ, 0, 0)})
		for _, e := range variants(t, typ.Elem(), path+"[0]") {
			s := reflect.MakeSlice(typ, 1, 1)
			s.Index(0).Set(e.v)
			out = append(out, variant{e.path, s})
		}
	case reflect.Pointer:
		for _, e := range variants(t, typ.Elem(), path) {
			p := reflect.New(typ.Elem())
			p.Elem().Set(e.v)
			out = append(out, variant{e.path, p})
		}
	case reflect.Struct:
		for i := range typ.NumField() {
			f := typ.Field(i)
			if typ == reflect.TypeFor[User]() && f.Name == "texts" {
				// the packed profile: a variant per profile text
				for k := range userprop.NTexts {
					out = append(out, variant{fmt.Sprintf("%s.Text(%d)", path, k), reflect.ValueOf(User{}.With(userprop.Text(k), "x"))})
				}
				continue
			}
			if typ == reflect.TypeFor[User]() && f.Name == "lists" {
				out = append(out, variant{path + ".ProxyAddresses()", reflect.ValueOf(User{}.WithProxyAddresses([]string{"x"}))},
					variant{path + ".OtherMails()", reflect.ValueOf(User{}.WithOtherMails([]string{"x"}))})
				continue
			}
			if !f.IsExported() {
				t.Fatalf("%s.%s: unexported field of a stored record", path, f.Name)
			}
			for _, e := range variants(t, f.Type, path+"."+f.Name) {
				s := reflect.New(typ).Elem()
				s.Field(i).Set(e.v)
				out = append(out, variant{e.path, s})
			}
		}
	default:
		t.Fatalf("%s: type %s the codec test does not know: teach the codec and its tests", path, typ)
	}
	return out
}

type variant struct {
	path string
	v    reflect.Value
}

// A field added to a stored record type must be added to the codec (as a
// new format version): a value with only that field set has to survive
// the binary round trip. (An empty list survives only where JSON keeps it,
// so those variants are compared with JSON's round trip.)
func TestBinaryCodecKnowsEveryField(t *testing.T) {
	for _, c := range codecs {
		vs := variants(t, c.typ, c.name)
		if len(vs) < c.typ.NumField() {
			t.Fatalf("%s: %d variants for %d fields", c.name, len(vs), c.typ.NumField())
		}
		for _, v := range vs {
			x := reflect.New(c.typ)
			x.Elem().Set(v.v)
			got, err := c.decode(c.encode(nil, x.Interface()))
			if err != nil {
				t.Fatalf("%s: %v", v.path, err)
			}
			want := x.Interface()
			if strings.HasSuffix(v.path, "(empty)") {
				j, _ := json.Marshal(x.Interface())
				w := reflect.New(c.typ)
				_ = json.Unmarshal(j, w.Interface())
				want = w.Interface()
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s is not in the binary format (or does not round-trip): wrote %+v, read %+v", v.path, x.Elem(), reflect.ValueOf(got).Elem())
			}
		}
	}
}

// Decoding refuses, with an error, a body that is cut short, has bytes
// after its record, another format byte, or a non-canonical encoding.
func TestBinaryDecodeRefusesBadBodies(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 7, time.UTC)
	l := License{UserID: "u1", SKUID: "6fd2c87f-b296-42f0-b197-1e91e994b900", LicenseState: LicenseState{Claimed: true, Since: InstantOf(now), Held: true, HeldSince: InstantOf(now), Sources: []SourceState{{State: StateActive, Error: ErrNone, LastUpdated: InstantOf(now), AssignedAt: InstantOf(now), AppliesSince: InstantOf(now), DisabledPlans: []string{}}}}}
	b := AppendLicenseBinary(nil, &l)
	for i := range len(b) {
		if _, err := DecodeLicense(b[:i]); err == nil {
			t.Fatalf("the body cut at %d of %d bytes decodes", i, len(b))
		}
	}
	if _, err := DecodeLicense(append(b[:len(b):len(b)], 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("trailing byte: %v", err)
	}
	for name, body := range map[string][]byte{
		"JSON":                 []byte(`{"userId":"u1"}`),
		"format 2":             {2, 0},
		"unknown field":        {1, 0x80, 0x04},
		"non-minimal varint":   {1, 0x81, 0x00, 2, 'u'},
		"empty present string": {1, 1, 0},
		"raw dictionary word":  append([]byte{1, 1, 12}, "Active"...),
		"raw GUID":             append([]byte{1, 1, 72}, "6fd2c87f-b296-42f0-b197-1e91e994b900"...),
		"unknown word":         {1, 1, 0x7f},
		"zero time":            binary.AppendVarint([]byte{1, licSince, 1}, zeroUnix-timeBase),
		"time flag, no change": {1, licSince, 1, 0},
		"nanoseconds ≥ 1e9":    binary.AppendVarint([]byte{1, licSince, 2}, 1e9),
		"huge list":            {1, 64, 0xff, 0xff, 0x03},
		// A source's state and error are words of their own sets.
		"unknown source state":   append([]byte{1, licSources, 1, ssState, 7 << 1}, "Pending"...),
		"error word as a state":  {1, licSources, 1, ssState, byte(3 + 2*wordIndex["None"])},
		"unknown source error":   append([]byte{1, licSources, 1, ssError, 4 << 1}, "Oops"...),
		"state word as an error": {1, licSources, 1, ssError, byte(3 + 2*wordIndex["Active"])},
	} {
		if _, err := DecodeLicense(body); err == nil {
			t.Errorf("%s: decodes", name)
		}
	}
	if _, err := DecodeUser(append(binary.AppendUvarint([]byte{1}, userAttributes), 2, 2, 'k', 2, 'v', 2, 'a', 2, 'v')); err == nil {
		t.Error("unsorted attribute keys decode")
	}
}

// Strings read from a body are copies: the store may reuse the buffer.
func TestBinaryDecodedStringsDoNotAliasTheBody(t *testing.T) {
	u := User{ID: "00000000-0000-4000-8000-000000000001", UserPrincipalName: "ann@contoso.example",
		Attributes: map[string]string{"state": "WA"}}.WithProxyAddresses([]string{"smtp:a@b"})
	b := AppendUserBinary(nil, &u)
	got, err := DecodeUser(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if !reflect.DeepEqual(got, u) {
		t.Fatalf("overwriting the body changed the decoded user: %+v", got)
	}
}

func fuzzSeeds(f *testing.F, c codec) {
	g := &gen{t: f, r: rand.New(rand.NewSource(2))}
	for range 20 {
		g.times = g.times[:0]
		x := reflect.New(c.typ)
		g.fill(x.Elem(), c.name)
		f.Add(c.encode(nil, x.Interface()))
	}
	f.Add([]byte{1})
	f.Add([]byte(`{}`))
}

// fuzzCodec checks that decoding never panics and that a body that
// decodes is the canonical encoding of what it decodes to — but for a
// license record's dates written with a UTC offset (while they were
// time.Time), which read back as the same instants in UTC: such a body
// re-encodes, once, to the canonical body of the same record.
func fuzzCodec(f *testing.F, c codec) {
	fuzzSeeds(f, c)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := c.decode(b)
		if err != nil {
			return
		}
		again := c.encode(nil, v)
		if bytes.Equal(again, b) {
			return
		}
		if _, offsets, _ := decodeLicense(b); c.name != "License" || offsets == 0 {
			t.Fatalf("decodes but is not canonical: %x, again %x", b, again)
		}
		w, err := c.decode(again)
		if err != nil || !reflect.DeepEqual(v, w) || !bytes.Equal(c.encode(nil, w), again) {
			t.Fatalf("a legacy body does not settle in one step: %x, again %x (%v)", b, again, err)
		}
	})
}

func FuzzDecodeUser(f *testing.F)          { fuzzCodec(f, codecs[0]) }
func FuzzDecodeGroup(f *testing.F)         { fuzzCodec(f, codecs[1]) }
func FuzzDecodeLicenseSource(f *testing.F) { fuzzCodec(f, codecs[2]) }
func FuzzDecodeLicense(f *testing.F)       { fuzzCodec(f, codecs[3]) }

// TestTimesWrittenWithAnOffsetReadAsInstants: license records written
// while Since, HeldSince, GrantedAt and a source's dates were time.Time
// kept the offset they were given; they read back as the same instants.
func TestTimesWrittenWithAnOffsetReadAsInstants(t *testing.T) {
	at := time.Date(2025, 3, 1, 10, 0, 0, 7, time.FixedZone("", 2*3600))
	e := encoder{b: []byte{BinaryFormat}, sec: timeBase}
	e.uvarint(licUserID | licSince | licHeld | licHeldSince | licGrantedAt)
	e.str("u1")
	e.time(at)
	e.time(at.Add(time.Hour))
	e.time(at.Add(-time.Hour))
	l, err := DecodeLicense(e.b)
	if err != nil {
		t.Fatal(err)
	}
	if l.Since != InstantOf(at) || !l.Since.Time().Equal(at) || l.HeldSince.Time() != at.Add(time.Hour).UTC() || l.GrantedAt.Time() != at.Add(-time.Hour).UTC() {
		t.Fatalf("decoded %v %v %v", l.Since, l.HeldSince, l.GrantedAt)
	}
	var j License
	if err := json.Unmarshal([]byte(`{"userId":"u1","since":"2025-03-01T10:00:00.000000007+02:00","held":false,"heldSince":"0001-01-01T00:00:00Z","sources":null}`), &j); err != nil {
		t.Fatal(err)
	}
	if j.Since != InstantOf(at) || !j.HeldSince.IsZero() {
		t.Fatalf("from JSON: %v %v", j.Since, j.HeldSince)
	}
	if err := json.Unmarshal([]byte(`{"since":"2300-01-01T00:00:00Z"}`), &j); err == nil {
		t.Fatal("a time an Instant cannot hold was read")
	}
}

// instantUTC reads every time as InstantIn of the time it was written
// as, in UTC or with an offset, near the ends of an Instant's years and
// beyond them (an error), including those its path without a time.Time
// reads.
func TestInstantUTCIsInstantInOfTheTimeWritten(t *testing.T) {
	rnd := rand.New(rand.NewSource(7))
	edges := []time.Time{
		time.Unix(0, 0), time.Unix(-1, 999999999), time.Unix(1, 1),
		time.Unix(instantSafeSec-1, 999999999), time.Unix(instantSafeSec, 0), time.Unix(-instantSafeSec+1, 0), time.Unix(-instantSafeSec, 5),
		time.Unix(0, math.MaxInt64), time.Unix(0, math.MinInt64+1), time.Unix(0, math.MaxInt64).Add(time.Second), time.Unix(0, math.MinInt64).Add(-time.Second),
		time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), time.Date(1677, 9, 21, 0, 12, 43, 145224193, time.UTC),
		time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
	}
	for range 2000 {
		edges = append(edges, time.Unix(rnd.Int63n(2*instantSafeSec)-instantSafeSec, rnd.Int63n(1e9)))
	}
	for i, at := range edges {
		for _, loc := range []*time.Location{time.UTC, time.FixedZone("", -5*3600)} {
			at := at.In(loc)
			e := encoder{b: []byte{BinaryFormat}, sec: timeBase}
			e.uvarint(licUserID | licSince)
			e.str("u1")
			e.time(at)
			l, err := DecodeLicense(e.b)
			want, ok := InstantIn(at.UTC())
			if !ok || want == 0 {
				if err == nil {
					t.Fatalf("%d: %v read as %v, want an error (an Instant cannot hold it)", i, at, l.Since)
				}
				continue
			}
			if err != nil || l.Since != want {
				t.Fatalf("%d: %v read as %v, %v; want %v", i, at, l.Since, err, want)
			}
		}
	}
}

// TestImportRefusesDatesAnInstantCannotHold: the import's check refuses
// a source's or a seat's date outside the years 1678 to 2262 and changes
// nothing; SetGrantDates leaves such a date out.
func TestImportRefusesDatesAnInstantCannotHold(t *testing.T) {
	e := New(catalog.Default(), Settings{})
	far := time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []ImportData{
		{Users: []User{{ID: "u1", UserPrincipalName: "u1@c.example", AccountEnabled: true, UsageLocation: "US"}},
			DirectLicenses: []OwnedSource{{Owner: "u1", LicenseSource: LicenseSource{SKUID: "05e9a617-0261-4cee-bb44-138d3ef5d965", AssignedAt: far}}}},
		{SeatDates: []SeatDate{{UserID: "u1", SKUID: "05e9a617-0261-4cee-bb44-138d3ef5d965", GrantedAt: far}}},
		{SeatDates: []SeatDate{{UserID: "u1", SKUID: "05e9a617-0261-4cee-bb44-138d3ef5d965", Updated: map[string]time.Time{"": far.AddDate(-700, 0, 0)}}}},
	} {
		_, err := e.Import(Op{Now: time.Now().UTC()}, d)
		if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(err.Error(), "outside the years 1678 to 2262") {
			t.Fatalf("import: %v", err)
		}
		if len(e.users) != 0 {
			t.Fatal("a refused import changed the engine")
		}
	}
	if n := e.SetGrantDates([]SeatDate{{UserID: "u1", SKUID: "05e9a617-0261-4cee-bb44-138d3ef5d965", GrantedAt: far}}); n != 0 {
		t.Fatalf("SetGrantDates dated %d records with a date out of range", n)
	}
}

// A LicenseDecoder decodes what DecodeLicense does, and its records share
// one string per product, group and disabled plan (the bodies and the decoder's strings
// stay apart: overwriting a body changes nothing decoded; the user ids
// written into its blocks stay what they were over more records than a
// block holds).
func TestLicenseDecoderDecodesAsDecodeLicenseAndSharesGUIDs(t *testing.T) {
	c := codecs[3]
	var d LicenseDecoder
	type decoded struct {
		got  *LicenseRecord
		want License
	}
	var all []decoded
	randomBodies(t, c, 5, 8*guidBlock, func(b []byte) {
		want, werr := DecodeLicense(b)
		got, gerr := d.Decode(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("DecodeLicense: %v; LicenseDecoder: %v", werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got.license(), want) {
			t.Fatalf("LicenseDecoder decoded %+v, DecodeLicense %+v", got.license(), want)
		}
		if werr == nil {
			all = append(all, decoded{got, want})
		}
	})
	guids, states := 0, 0
	for _, x := range all {
		if !reflect.DeepEqual(x.got.license(), x.want) {
			t.Fatalf("a record decoded as %+v is %+v after more records", x.want, x.got.license())
		}
		if _, ok := parseGUID(x.want.UserID); ok {
			guids++
		}
		states += len(x.want.Sources)
	}
	if guids <= guidBlock {
		t.Fatalf("%d records with a GUID user id: the test needs more than a block", guids)
	}
	if states <= stateBlock {
		t.Fatalf("%d source states: the test needs more than a block of them", states)
	}
	sku, group := "6fd2c87f-b296-42f0-b197-1e91e994b900", "00000000-0000-4000-8000-00000000000a"
	l := License{UserID: "00000000-0000-4000-8000-000000000001", SKUID: sku, LicenseState: LicenseState{Claimed: true, Sources: []SourceState{{State: StateActive, AssignedByGroup: group, DisabledPlans: []string{"a23b959c-7ce8-4e57-9140-b90eb88a9e97"}}}}}
	a, err1 := d.Decode(AppendLicenseBinary(nil, &l))
	l.UserID = "00000000-0000-4000-8000-000000000002"
	b, err2 := d.Decode(AppendLicenseBinary(nil, &l))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(a.SKUID, b.SKUID) || !same(a.l.Sources[0].AssignedByGroup, b.l.Sources[0].AssignedByGroup) {
		t.Error("two records of one decoder do not share their product's and group's strings")
	}
	if !same(a.l.Sources[0].DisabledPlans[0], b.l.Sources[0].DisabledPlans[0]) {
		t.Error("two records of one decoder do not share their disabled plan's string")
	}
	if same(a.UserID, b.UserID) || a.UserID == b.UserID {
		t.Error("the users' ids are shared")
	}
}

// A UserDecoder decodes what DecodeUser does, into records carved from
// blocks (consecutive records of a block are adjacent), each its own: a
// record decoded later, or a body overwritten, changes none decoded before
// (over more records than a block holds). A LicenseDecoder's records are
// carved the same way.
func TestRecordDecodersCarveRecordsFromBlocks(t *testing.T) {
	c := codecs[0]
	var d UserDecoder
	type decoded struct {
		got  *UserRecord
		want User
	}
	var all []decoded
	randomBodies(t, c, 7, 3*recordBlock+5, func(b []byte) {
		want, werr := DecodeUser(b)
		got, gerr := d.Decode(b)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("DecodeUser: %v; UserDecoder: %v", werr, gerr)
		}
		if werr == nil {
			all = append(all, decoded{got, want})
		}
	})
	if len(all) <= recordBlock {
		t.Fatalf("%d users decoded: the test needs more than a block", len(all))
	}
	adjacent := 0
	for i, x := range all {
		if !reflect.DeepEqual(x.got.v, x.want) {
			t.Fatalf("user %d: UserDecoder's record is %+v after more records, DecodeUser %+v", i, x.got.v, x.want)
		}
		if i > 0 && uintptr(unsafe.Pointer(x.got)) == uintptr(unsafe.Pointer(all[i-1].got))+unsafe.Sizeof(UserRecord{}) {
			adjacent++
		}
	}
	if adjacent < len(all)-len(all)/recordBlock-2 {
		t.Fatalf("%d of %d user records follow the one before: not carved from blocks", adjacent, len(all))
	}

	var ld LicenseDecoder
	l := License{UserID: "00000000-0000-4000-8000-000000000001", SKUID: "6fd2c87f-b296-42f0-b197-1e91e994b900", LicenseState: LicenseState{Claimed: true}}
	a, err1 := ld.Decode(AppendLicenseBinary(nil, &l))
	b, err2 := ld.Decode(AppendLicenseBinary(nil, &l))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if uintptr(unsafe.Pointer(b.l)) != uintptr(unsafe.Pointer(a.l))+unsafe.Sizeof(license{}) {
		t.Fatal("a LicenseDecoder's records are not carved from a block")
	}
	// Their lists of source states too, each with no room beyond its own:
	// an append to one copies it out and leaves the next as it was.
	l.Sources = []SourceState{{State: StateActive}, {State: StateError, Error: ErrCountViolation}}
	a, err1 = ld.Decode(AppendLicenseBinary(nil, &l))
	b, err2 = ld.Decode(AppendLicenseBinary(nil, &l))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	as, bs := a.l.Sources, b.l.Sources
	if len(as) != 2 || cap(as) != 2 || len(bs) != 2 {
		t.Fatalf("lists of %d and %d states, the first with room for %d", len(as), len(bs), cap(as))
	}
	body, none := AppendLicenseBinary(nil, &l), AppendLicenseBinary(nil, &License{UserID: l.UserID, SKUID: l.SKUID, LicenseState: LicenseState{Claimed: true}})
	withStates := testing.AllocsPerRun(2000, func() { ld.Decode(body) })
	without := testing.AllocsPerRun(2000, func() { ld.Decode(none) })
	if withStates > without+0.1 {
		t.Fatalf("a record with states costs %.2f allocations, one without %.2f: its states are not carved from a block", withStates, without)
	}
	grown := append(as, SourceState{State: StateDisabled})
	if len(grown) != 3 || !reflect.DeepEqual(b.l.Sources, l.Sources) {
		t.Fatalf("an append to one record's states changed the next's: %+v", b.l.Sources)
	}
}

// randomBodies calls fn with n random bodies of codec c (seeded), each
// zeroed after fn returns: what fn decoded must not share the body.
func randomBodies(t *testing.T, c codec, seed int64, n int, fn func(b []byte)) {
	g := &gen{t: t, r: rand.New(rand.NewSource(seed))}
	for range n {
		g.times = g.times[:0]
		x := reflect.New(c.typ)
		g.fill(x.Elem(), c.name)
		b := c.encode(nil, x.Interface())
		fn(b)
		for i := range b {
			b[i] = 0
		}
	}
}

// A license record stored before a source state's allotment was its
// record's names the allotment in each state (bit ssAllotmentID): it
// decodes, the state's allotment dropped (the record's is the same), and
// encodes anew without it, in one step.
func TestStatesThatNameTheirAllotmentDecode(t *testing.T) {
	const user, sku, allot = "00000000-0000-4000-8000-000000000001", "6fd2c87f-b296-42f0-b197-1e91e994b900", "00000000-0000-4000-8000-0000000000a1"
	e := encoder{b: []byte{BinaryFormat}, sec: timeBase}
	e.uvarint(licUserID | licSKUID | licSources | licAllotmentID)
	e.str(user)
	e.str(sku)
	e.uvarint(1) // one source state, as the earlier encoder wrote it
	e.uvarint(ssState | ssError | ssAllotmentID)
	e.str(StateActive.String())
	e.str(ErrNone.String())
	e.str(allot)
	e.str(allot)
	old := e.b
	l, legacy, err := decodeLicense(old)
	if err != nil {
		t.Fatal(err)
	}
	if legacy == 0 {
		t.Error("a state that names its allotment is not counted as a legacy form")
	}
	if l.AllotmentID != allot || len(l.Sources) != 1 || l.Sources[0].State != StateActive || l.Sources[0].Error != ErrNone {
		t.Fatalf("decoded %+v", l)
	}
	again := AppendLicenseBinary(nil, &l)
	if bytes.Equal(again, old) || len(again) >= len(old) {
		t.Fatalf("encoded anew as it was: %x", again)
	}
	if l2, legacy2, err := decodeLicense(again); err != nil || legacy2 != 0 || !reflect.DeepEqual(l2, l) {
		t.Fatalf("the new body: %+v, %d, %v", l2, legacy2, err)
	}
}

// license is a decoded record as a License.
func (r *LicenseRecord) license() License {
	return License{UserID: r.UserID, SKUID: r.SKUID, AllotmentID: r.AllotmentID, LicenseState: r.l.LicenseState}
}
