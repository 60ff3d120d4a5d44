package licensing

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The kept reason and list live out of line (one pointer per source state)
// but marshal exactly as the fields they were: a record stored before and
// one stored now read and write the same JSON (the same keys; their order
// is the struct's, "held" next to "claimed" since the record was packed).
func TestLicenseRecordJSONKeepsItsShapeWithKeptSourcesOutOfLine(t *testing.T) {
	at := time.Date(2026, 12, 5, 22, 0, 0, 123000, time.UTC)
	stored := []string{
		// a record without kept sources (almost every one)
		`{"userId":"u1","skuId":"s1","claimed":true,"held":true,"since":"2026-12-05T22:00:00.000123Z","heldSince":"2026-12-05T22:00:00.000123Z","sources":[{"assignedByGroup":"g1","disabledPlans":null,"state":"Active","error":"None","lastUpdatedDateTime":"2026-12-05T22:00:00.000123Z","assignedDateTime":"2026-12-05T22:00:00.000123Z","appliesDateTime":"2026-12-05T22:00:00.000123Z"}]}`,
		// a record keeping a replaced source and a needed one
		`{"userId":"u1","skuId":"s1","allotmentId":"a1","claimed":true,"held":true,"since":"2026-12-05T22:00:00.000123Z","heldSince":"2026-12-05T22:00:00.000123Z","sources":[{"assignedByGroup":"g1","allotmentId":"a1","disabledPlans":["p1"],"state":"ActiveWithError","error":"None","lastUpdatedDateTime":"2026-12-05T22:00:00.000123Z","assignedDateTime":"0001-01-01T00:00:00Z","kept":"replacement","replacedBy":["s2","s3/a2"]},{"assignedByGroup":"g2","disabledPlans":[],"state":"ActiveWithError","error":"None","lastUpdatedDateTime":"0001-01-01T00:00:00Z","assignedDateTime":"0001-01-01T00:00:00Z","kept":"dependency"}],"keptSources":[{"assignedByGroup":"g1","allotmentId":"a1","disabledPlans":["p1"],"state":"","error":"","lastUpdatedDateTime":"0001-01-01T00:00:00Z","assignedDateTime":"0001-01-01T00:00:00Z","kept":"replacement","replacedBy":["s2","s3/a2"]}]}`,
	}
	for _, in := range stored {
		var l License
		if err := json.Unmarshal([]byte(in), &l); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(&l)
		if err != nil {
			t.Fatal(err)
		}
		// A source state no longer names its allotment (its record's):
		// read from a record that has it, it is left out.
		if want := strings.ReplaceAll(in, `"allotmentId":"a1","disabledPlans"`, `"disabledPlans"`); string(out) != want {
			t.Fatalf("round trip changed the record:\n in: %s\nout: %s\nwant %s", in, out, want)
		}
	}
	var plain, kept License
	_ = json.Unmarshal([]byte(stored[0]), &plain)
	_ = json.Unmarshal([]byte(stored[1]), &kept)
	if plain.Retained() != nil || plain.Sources[0].KeptReason() != "" || plain.Sources[0].KeptReplacedBy() != nil || plain.Sources[0].KeptState != nil {
		t.Fatalf("a record without kept sources reads as keeping one: %+v", plain)
	}
	if !plain.Sources[0].AppliesSince.Time().Equal(at) {
		t.Fatalf("appliesDateTime: %v", plain.Sources[0].AppliesSince)
	}
	s := kept.Sources[0]
	if s.KeptReason() != KeptForReplacement || len(s.KeptReplacedBy()) != 2 || s.KeptReplacedBy()[1] != "s3/a2" {
		t.Fatalf("kept source: %+v", s)
	}
	if kept.Sources[1].KeptReason() != KeptForDependency || kept.Sources[1].KeptReplacedBy() != nil {
		t.Fatalf("kept source: %+v", kept.Sources[1])
	}
	if r := kept.Retained(); len(r) != 1 || r[0].AssignedByGroup != "g1" || r[0].KeptReason() != KeptForReplacement {
		t.Fatalf("keptSources: %+v", r)
	}
	// Clearing a kept reason leaves nothing behind in the JSON.
	s.SetKept("", nil)
	kept.SetRetained(nil)
	b, _ := json.Marshal(s)
	if want := `{"assignedByGroup":"g1","disabledPlans":["p1"],"state":"ActiveWithError","error":"None","lastUpdatedDateTime":"2026-12-05T22:00:00.000123Z","assignedDateTime":"0001-01-01T00:00:00Z"}`; string(b) != want {
		t.Fatalf("cleared source: %s", b)
	}
	if kept.KeptSources != nil {
		t.Fatal("SetRetained(nil) kept a pointer")
	}
}

// AppliesSince is stored in 8 bytes but reads and writes as the time it
// was: nanoseconds kept, the zero time omitted, times before 1970 kept.
func TestAppliesSinceInEightBytesRoundTripsAsATime(t *testing.T) {
	for _, in := range []string{
		`{"disabledPlans":null,"state":"","error":"","lastUpdatedDateTime":"0001-01-01T00:00:00Z","assignedDateTime":"0001-01-01T00:00:00Z"}`,
		`{"disabledPlans":null,"state":"","error":"","lastUpdatedDateTime":"0001-01-01T00:00:00Z","assignedDateTime":"0001-01-01T00:00:00Z","appliesDateTime":"2026-12-05T22:00:00.123456789Z"}`,
		`{"disabledPlans":null,"state":"","error":"","lastUpdatedDateTime":"0001-01-01T00:00:00Z","assignedDateTime":"0001-01-01T00:00:00Z","appliesDateTime":"1970-01-01T00:00:00Z"}`,
		`{"disabledPlans":null,"state":"","error":"","lastUpdatedDateTime":"0001-01-01T00:00:00Z","assignedDateTime":"0001-01-01T00:00:00Z","appliesDateTime":"1969-07-20T20:17:40Z"}`,
	} {
		var s SourceState
		if err := json.Unmarshal([]byte(in), &s); err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(&s)
		if string(out) != in {
			t.Fatalf("round trip changed the source:\n in: %s\nout: %s", in, out)
		}
	}
	at := time.Date(2026, 12, 5, 22, 0, 0, 1, time.UTC)
	s := SourceState{AssignedAt: InstantOf(at.Add(time.Hour)), AppliesSince: InstantOf(at)}
	if !s.Precedence().Equal(at) || s.Precedence().Location() != time.UTC {
		t.Fatalf("precedence %v, want %v", s.Precedence(), at)
	}
	s.AppliesSince = InstantOf(time.Time{})
	if !s.AppliesSince.IsZero() || !s.Precedence().Equal(at.Add(time.Hour)) {
		t.Fatalf("a zero AppliesSince must defer to AssignedAt: %v", s.Precedence())
	}
	var bad SourceState
	if err := json.Unmarshal([]byte(`{"appliesDateTime":"3000-01-01T00:00:00Z"}`), &bad); err == nil {
		t.Fatal("a time an Instant cannot hold was accepted")
	}
}
