package licensing

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// Every state and error reads and writes as its word; the values are in
// the words' byte order; a word of neither set is refused.
func TestSourceStatusAndErrorCodeWords(t *testing.T) {
	if !slices.IsSorted(statusWords[:]) || !slices.IsSorted(errorWords[:]) {
		t.Fatalf("the values are not in their words' order: %q %q", statusWords, errorWords)
	}
	for i, w := range statusWords {
		s := SourceStatus(i)
		b, err := s.MarshalText()
		var back SourceStatus
		if s.String() != w || err != nil || string(b) != w || back.UnmarshalText([]byte(w)) != nil || back != s {
			t.Errorf("state %d: String %q, text %q %v, read back %d; want %q", i, s, b, err, back, w)
		}
	}
	for i, w := range errorWords {
		c := SourceErrorCode(i)
		b, err := c.MarshalText()
		var back SourceErrorCode
		if c.String() != w || err != nil || string(b) != w || back.UnmarshalText([]byte(w)) != nil || back != c {
			t.Errorf("error %d: String %q, text %q %v, read back %d; want %q", i, c, b, err, back, w)
		}
	}
	for _, w := range []string{"Pending", "active", "None", "Active "} {
		var s SourceStatus
		if err := s.UnmarshalText([]byte(w)); err == nil || !strings.Contains(err.Error(), "unknown source state") {
			t.Errorf("state %q: %v", w, err)
		}
	}
	for _, w := range []string{"Oops", "none", "Active", "CountViolation "} {
		var c SourceErrorCode
		if err := c.UnmarshalText([]byte(w)); err == nil || !strings.Contains(err.Error(), "unknown source error") {
			t.Errorf("error %q: %v", w, err)
		}
	}
	if _, err := SourceStatus(200).MarshalText(); err == nil || SourceStatus(200).String() != "SourceStatus(200)" {
		t.Errorf("state 200: %v %q", err, SourceStatus(200))
	}
	if _, err := SourceErrorCode(200).MarshalText(); err == nil || SourceErrorCode(200).String() != "SourceErrorCode(200)" {
		t.Errorf("error 200: %v %q", err, SourceErrorCode(200))
	}
	for _, w := range append(statusWords[1:], errorWords[1:]...) {
		if _, ok := wordIndex[w]; !ok {
			t.Errorf("%q is not a word of the binary format's dictionary", w)
		}
	}
}

// stringSourceState is SourceState as it was with State and Error
// strings: the JSON of the two is the same, byte for byte.
type stringSourceState struct {
	AssignedByGroup string   `json:"assignedByGroup,omitempty"`
	AllotmentID     string   `json:"allotmentId,omitempty"`
	DisabledPlans   []string `json:"disabledPlans"`
	State           string   `json:"state"`
	Error           string   `json:"error"`
	LastUpdated     Instant  `json:"lastUpdatedDateTime"`
	AssignedAt      Instant  `json:"assignedDateTime"`
	AppliesSince    Instant  `json:"appliesDateTime,omitzero"`
	*KeptState
}

func TestSourceStateJSONIsTheWords(t *testing.T) {
	at := InstantOf(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	for i, sw := range statusWords {
		for j, ew := range errorWords {
			s := SourceState{AssignedByGroup: "g1", State: SourceStatus(i), Error: SourceErrorCode(j), LastUpdated: at, AssignedAt: at}
			old := stringSourceState{AssignedByGroup: "g1", State: sw, Error: ew, LastUpdated: at, AssignedAt: at}
			got, err := json.Marshal(s)
			want, _ := json.Marshal(old)
			if err != nil || string(got) != string(want) {
				t.Fatalf("%s/%s: %s (%v), want %s", sw, ew, got, err, want)
			}
			var back SourceState
			if err := json.Unmarshal(want, &back); err != nil || back.State != s.State || back.Error != s.Error {
				t.Fatalf("%s read back: %+v %v", want, back, err)
			}
		}
	}
	var s SourceState
	if err := json.Unmarshal([]byte(`{"state":null,"error":null}`), &s); err != nil || s.State != StateUnset || s.Error != ErrUnset {
		t.Fatalf("nulls: %+v %v", s, err)
	}
	for _, body := range []string{`{"state":"Pending"}`, `{"error":"Oops"}`, `{"state":1}`} {
		if err := json.Unmarshal([]byte(body), &s); err == nil {
			t.Errorf("%s: read", body)
		}
	}
}

// A stored source state with a word that is no state (no error) is
// refused, naming it.
func TestBinaryDecodeRefusesUnknownSourceWords(t *testing.T) {
	for body, want := range map[string]string{
		string(append([]byte{1, licSources, 1, ssState, 7 << 1}, "Pending"...)):    `unknown source state "Pending"`,
		string([]byte{1, licSources, 1, ssState, byte(3 + 2*wordIndex["None"])}):   `unknown source state "None"`,
		string(append([]byte{1, licSources, 1, ssError, 4 << 1}, "Oops"...)):       `unknown source error "Oops"`,
		string([]byte{1, licSources, 1, ssError, byte(3 + 2*wordIndex["Active"])}): `unknown source error "Active"`,
	} {
		if _, err := DecodeLicense([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%x: %v, want %s", body, err, want)
		}
	}
	l := License{UserID: "u1", LicenseState: LicenseState{Sources: []SourceState{{State: StateError, Error: ErrCountViolation}}}}
	got, err := DecodeLicense(AppendLicenseBinary(nil, &l))
	if err != nil || got.Sources[0].State != StateError || got.Sources[0].Error != ErrCountViolation {
		t.Fatalf("%+v %v", got, err)
	}
}

// A source state is ~3 per user: its size is a tenant's memory.
func TestSourceStateSize(t *testing.T) {
	if n := unsafe.Sizeof(SourceState{}); n > 96 {
		t.Fatalf("SourceState is %d bytes, more than 96", n)
	}
}
