package graph

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDeltaTokenRoundTripAndBinding(t *testing.T) {
	for _, tok := range []deltaToken{
		{kind: 'u', phase: 'i', log: 3, epoch: 7, idx: 2, curID: "id-1", sel: []string{"displayName", "id"}},
		{kind: 'g', phase: 'c', log: 4, epoch: 9, idx: 4, curSeq: 12, curID: "x", memAfter: "m"},
		{kind: 'g', phase: 'r', log: 4, curSeq: 40, curID: "x", memAfter: "m", sel: []string{""}},
		{kind: 'g', phase: 'l', log: 1, epoch: 1, idx: 1},
		{kind: 'u', phase: 'l', log: 0},
	} {
		s := tok.encode("tenant-a")
		got, err := decodeDeltaToken(s, "tenant-a")
		if err != nil || !reflect.DeepEqual(*got, tok) {
			t.Fatalf("round trip of %+v: %+v, %v", tok, got, err)
		}
		if _, err := decodeDeltaToken(s, "tenant-b"); !errors.Is(err, errTokenInvalid) {
			t.Fatalf("another tenant's token: %v", err)
		}
	}
	// Fields that do not fit the phase are refused, check or not.
	for _, tok := range []deltaToken{
		{kind: 'x', phase: 'l'},
		{kind: 'u', phase: 'z'},
		{kind: 'u', phase: 'l', memAfter: "m"},
		{kind: 'u', phase: 'i', curID: "a", memAfter: "m"},
		{kind: 'u', phase: 'r', log: 5, curSeq: 5, curID: "a"}, // a cursor not after the start
		{kind: 'u', phase: 'r', log: 5, curSeq: 6, curID: "a", epoch: 1, idx: 1},
		{kind: 'u', phase: 'c', log: 5, curID: "a"}, // no index hint
		{kind: 'u', phase: 'l', epoch: 3},           // half a hint
		{kind: 'u', phase: 'i'},                     // no cursor
	} {
		if _, err := decodeDeltaToken(tok.encode("t"), "t"); !errors.Is(err, errTokenInvalid) {
			t.Errorf("%+v accepted: %v", tok, err)
		}
	}
}

// TestDeltaTokenVersion1: a token of an earlier version (bound to the
// process that issued it) is stale, with what it says, never served.
func TestDeltaTokenVersion1(t *testing.T) {
	b := []byte{1, 'u', 'l'}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0)                        // cursor id ""
	b = append(b, byte(len("displayName"))) // select
	b = append(b, "displayName"...)
	b = append(b, 1)                   // select set
	b = append(b, make([]byte, 16)...) // mac
	got, err := decodeDeltaToken(base64.RawURLEncoding.EncodeToString(b), "t")
	if !errors.Is(err, errTokenStale) || got == nil || len(got.sel) != 1 || got.sel[0] != "displayName" || got.kind != 'u' {
		t.Fatalf("version 1: %v %+v", err, got)
	}
}

// FuzzDeltaToken: decoding never panics, and whatever it accepts encodes
// back to the same token.
func FuzzDeltaToken(f *testing.F) {
	f.Add((&deltaToken{kind: 'u', phase: 'i', log: 2, epoch: 3, idx: 2, curID: "a", sel: []string{"id"}}).encode("t"))
	f.Add((&deltaToken{kind: 'g', phase: 'r', log: 2, curSeq: 9, curID: "a", memAfter: "b"}).encode("t"))
	f.Add((&deltaToken{kind: 'g', phase: 'l', log: 2, epoch: 3, idx: 2}).encode("t"))
	f.Add("")
	f.Add("AQ")
	f.Add("AXVsAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAtkaXNwbGF5TmFtZQEAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := decodeDeltaToken(s, "t")
		if err != nil {
			return
		}
		if again := tok.encode("t"); again != s {
			t.Fatalf("accepted %q but it encodes as %q", s, again)
		}
	})
}

// FuzzReportCall: the report function segment parser never panics, and
// what it accepts has the shape name(param=value).
func FuzzReportCall(f *testing.F) {
	for _, s := range []string{"getOffice365ActiveUserDetail(period='D7')", "getMailboxUsageDetail(date=2026-01-01)", "x(", "(=)", "a(b='')", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, param, _, ok := parseReportCall(s)
		if ok && (len(name)+len(param) > len(s) || !strings.HasSuffix(s, ")")) {
			t.Fatalf("%q parsed as %q %q", s, name, param)
		}
	})
}
