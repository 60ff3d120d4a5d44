package sqlite

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"allot/audit"
)

func auditRowSample() []audit.Entry {
	at := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
	return []audit.Entry{
		{TenantID: "t", Seq: -3, At: at, Actor: "bench", Action: "Add member to group", UserID: "u1", GroupID: "g1"},
		{TenantID: "t", Seq: 7, At: at.Add(-time.Hour), Actor: audit.ActorGroupLicensing, Action: audit.ActivityChangeUserLicense,
			UserID: "u1", GroupID: "g1", SKUID: "s", Why: "member added", Detail: "before: none; after: u1"},
		{TenantID: "t", Seq: 8, At: time.UnixMicro(0).UTC(), Actor: "bench", Action: "", UserID: "\xff", Why: "u1", Detail: "g1"},
		{TenantID: "t", Seq: 1 << 62, At: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Actor: "bench"},
	}
}

func TestAuditRowRoundTrip(t *testing.T) {
	es := auditRowSample()
	b := encodeAuditRow(es)
	got, err := decodeAuditRow("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual([]audit.Entry(got), es) {
		t.Fatalf("round trip:\n got  %+v\n want %+v", got, es)
	}
	if !bytes.Equal(encodeAuditRow(got), b) {
		t.Fatal("encode(decode(b)) != b")
	}
	// Repeated strings are references: the second entry's "u1" and "g1"
	// cost a byte each.
	one := encodeAuditRow(es[:1])
	two := encodeAuditRow([]audit.Entry{es[0], {Seq: -2, At: es[0].At, Actor: "bench", Action: "Add member to group", UserID: "u1", GroupID: "g1"}})
	if len(two)-len(one) != 1+1+7 {
		t.Fatalf("an entry that repeats the previous one's strings costs %d bytes, want 9", len(two)-len(one))
	}
}

func TestAuditRowRefusesNonCanonical(t *testing.T) {
	good := encodeAuditRow(auditRowSample()[:2])
	for name, b := range map[string][]byte{
		"empty":          {},
		"tag":            append([]byte{'b'}, good[1:]...),
		"version":        append([]byte{'a', 2}, good[2:]...),
		"flags":          append([]byte{'a', 1, 1}, good[3:]...),
		"truncated":      good[:len(good)-1],
		"trailing":       append(append([]byte{}, good...), 0),
		"no entries":     {'a', 1, 0, 0},
		"raw repeat":     encodeRawRepeat(),
		"non-minimal n":  {'a', 1, 0, 0x81, 0x00},
		"seq not upward": {'a', 1, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"bad reference":  {'a', 1, 0, 1, 2, 0, 3, 0, 0, 0, 0, 0, 0},
	} {
		if _, err := decodeAuditRow("t", b); err == nil {
			t.Errorf("%s: decoded %x", name, b)
		}
	}
}

// encodeRawRepeat is a one-entry row whose actor and action are the same
// string written out twice.
func encodeRawRepeat() []byte {
	return []byte{'a', 1, 0, 1, 2, 0, 2, 'x', 2, 'x', 0, 0, 0, 0, 0}
}

func FuzzDecodeAuditRow(f *testing.F) {
	f.Add(encodeAuditRow(auditRowSample()))
	f.Add(encodeAuditRow(auditRowSample()[:1]))
	f.Add(encodeRawRepeat())
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := decodeAuditRow("t", b)
		if err != nil {
			return
		}
		for i := 1; i < len(es); i++ {
			if es[i].Seq <= es[i-1].Seq {
				t.Fatalf("entries out of seq order: %d after %d", es[i].Seq, es[i-1].Seq)
			}
		}
		if again := encodeAuditRow(es); !bytes.Equal(again, b) {
			t.Fatalf("not canonical:\n in  %x\n out %x", b, again)
		}
	})
}
