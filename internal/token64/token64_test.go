package token64

import (
	"bytes"
	"testing"
)

// A token decodes to the bytes it was written from; its other spellings
// (a line break inside, unused bits set, padding) are refused.
func TestDecodeTakesOnlyTheOneSpelling(t *testing.T) {
	for _, b := range [][]byte{nil, {1}, {1, 2}, {1, 2, 3}, []byte("a longer token, of several groups")} {
		s := Encode(b)
		got, err := Decode(s)
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", b, got, err)
		}
	}
	for _, s := range []string{"AQ\r", "A\nQ", "\r\nAQ", "AR", "AQ==", "AQ=", "A+", "A/", "A", "AQ AQ"} {
		if b, err := Decode(s); err == nil {
			t.Errorf("Decode(%q) = %q, nil; want ErrToken", s, b)
		}
	}
}

// FuzzDecode: whatever Decode accepts encodes back to the same string.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"", "AQ", "AR", "AQ\r", "AmdyAAAAAAAAAAIAAAAAAAA\rAAAA", "AQID", "AQ=="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := Decode(s)
		if err != nil {
			return
		}
		if again := Encode(b); again != s {
			t.Fatalf("accepted %q but it encodes as %q", s, again)
		}
	})
}
