package licensing

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

// wordIndex is the dictionary as a map, for the tests.
var wordIndex = func() map[string]int {
	m := make(map[string]int, len(words))
	for i, w := range words {
		m[w] = i
	}
	return m
}()

// wordOf finds exactly the dictionary's words, as wordIndex does, in a
// string or in bytes.
func TestWordOfIsTheDictionary(t *testing.T) {
	for i, w := range words {
		if k, ok := wordOf(w); !ok || k != i {
			t.Fatalf("wordOf(%q) = %d, %v, want %d", w, k, ok, i)
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		w := words[rnd.IntN(len(words))]
		b := []byte(w)
		switch rnd.IntN(4) {
		case 0:
			b[rnd.IntN(len(b))] ^= byte(1 + rnd.IntN(255))
		case 1:
			b = b[:rnd.IntN(len(b))]
		case 2:
			b = append(b, 'x')
		case 3:
			b = []byte(strings.Repeat("a", rnd.IntN(60)))
		}
		k, ok := wordOf(string(b))
		want, wantOK := wordIndex[string(b)]
		if ok != wantOK || k != want {
			t.Fatalf("wordOf(%q) = %d, %v, wordIndex has %d, %v", b, k, ok, want, wantOK)
		}
		if kb, okb := wordOf(b); okb != ok || kb != k {
			t.Fatalf("wordOf(%q bytes) = %d, %v, as a string %d, %v", b, kb, okb, k, ok)
		}
	}
}

// parseGUID accepts exactly the canonical form, lower-case hex 8-4-4-4-12,
// and gives its bytes.
func TestParseGUIDTakesTheCanonicalForm(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var raw [16]byte
		for i := range raw {
			raw[i] = byte(rnd.UintN(256))
		}
		h := hex.EncodeToString(raw[:])
		s := []byte(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
		valid := true
		if rnd.IntN(2) == 0 { // spoil one byte, or not
			i := rnd.IntN(len(s))
			const spoil = "0123456789abcdefABCDEFg-/ \x00\xff"
			s[i] = spoil[rnd.IntN(len(spoil))]
			canon := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
			valid = string(s) == canon || (s[i] != '-' && strings.IndexByte("0123456789abcdef", s[i]) >= 0 && i != 8 && i != 13 && i != 18 && i != 23)
		}
		g, ok := parseGUID(string(s))
		if ok != valid {
			t.Fatalf("parseGUID(%q) ok %v, want %v", s, ok, valid)
		}
		if ok {
			want, _ := hex.DecodeString(strings.ReplaceAll(string(s), "-", ""))
			if string(g[:]) != string(want) || formatGUID(g[:]) != string(s) {
				t.Fatalf("parseGUID(%q) = %x", s, g)
			}
		}
	}
	for _, s := range []string{"", "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000", "00000000_0000-0000-0000-000000000000"} {
		if _, ok := parseGUID(s); ok {
			t.Fatalf("parseGUID(%q) accepted", s)
		}
	}
}
