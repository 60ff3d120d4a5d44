package sqlite

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// uvarintLen is the length binary.AppendUvarint writes, and of a varint
// once zig-zagged as binary.AppendVarint does: the decoder's canonical
// check relies on it.
func TestUvarintLenIsTheEncodedLength(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	vals := []uint64{0, 1, 127, 128, 16383, 16384, math.MaxUint64, 1 << 63, 1<<63 - 1}
	for range 100_000 {
		vals = append(vals, rng.Uint64()>>rng.IntN(64))
	}
	for _, v := range vals {
		if got, want := uvarintLen(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Fatalf("uvarintLen(%d) = %d, want %d", v, got, want)
		}
		x := int64(v)
		if got, want := uvarintLen(uint64(x)<<1^uint64(x>>63)), len(binary.AppendVarint(nil, x)); got != want {
			t.Fatalf("the varint %d: %d bytes, want %d", x, got, want)
		}
	}
}
