package graph

import (
	"errors"
	"testing"
)

func TestDeltaTokenRoundTripAndBinding(t *testing.T) {
	for _, tok := range []deltaToken{
		{kind: 'u', phase: 'i', proc: deltaProc, epoch: 7, seq: 3, curID: "id-1", sel: []string{"displayName", "id"}},
		{kind: 'g', phase: 'c', proc: deltaProc, epoch: 9, seq: 4, curSeq: 12, curID: "x"},
		{kind: 'g', phase: 'l', proc: deltaProc, epoch: 1, seq: 1},
	} {
		s := tok.encode("tenant-a")
		got, err := decodeDeltaToken(s, "tenant-a")
		if err != nil || got.kind != tok.kind || got.phase != tok.phase || got.epoch != tok.epoch || got.seq != tok.seq ||
			got.curSeq != tok.curSeq || got.curID != tok.curID || len(got.sel) != len(tok.sel) || (got.sel == nil) != (tok.sel == nil) {
			t.Fatalf("round trip of %+v: %+v, %v", tok, got, err)
		}
		if _, err := decodeDeltaToken(s, "tenant-b"); !errors.Is(err, errTokenInvalid) {
			t.Fatalf("another tenant's token: %v", err)
		}
	}
	// A token of another process: the resync answer, whatever its MAC.
	old := deltaToken{kind: 'u', phase: 'l', proc: deltaProc + 2, epoch: 1, seq: 1, sel: []string{"displayName"}}
	got, err := decodeDeltaToken(old.encode("tenant-a"), "tenant-a")
	if !errors.Is(err, errTokenStale) || got == nil || got.sel[0] != "displayName" {
		t.Fatalf("another process's token: %v %+v", err, got)
	}
}

// FuzzDeltaToken: decoding never panics, and whatever it accepts encodes
// back to the same token.
func FuzzDeltaToken(f *testing.F) {
	f.Add(((&deltaToken{kind: 'u', phase: 'i', proc: deltaProc, epoch: 3, seq: 2, curID: "a", sel: []string{"id"}}).encode("t")))
	f.Add(((&deltaToken{kind: 'g', phase: 'l', proc: deltaProc, epoch: 3, seq: 2}).encode("t")))
	f.Add("")
	f.Add("AQ")
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
