package blocks

import (
	"strings"
	"testing"
)

// Texts are copies: overwriting what they were made from changes none of
// them, those carved from a shared block and those too long for one, and
// a full block starts a new one without moving the texts handed out.
func TestTextsAreCopiesThatNeverMove(t *testing.T) {
	var block []byte
	src := []byte("group-1/user-1")
	long := strings.Repeat("x", TextSize/4+1)
	var got []string
	for range 2 * TextSize / len(src) { // fills more than one block
		got = append(got, Text(&block, src))
	}
	big := Text(&block, long)
	none := Text(nil, src)
	for i := range src {
		src[i] = '#'
	}
	for i, s := range got {
		if s != "group-1/user-1" {
			t.Fatalf("text %d is %q after its source was overwritten", i, s)
		}
	}
	if big != long || none != "group-1/user-1" {
		t.Fatal("a text of its own changed with its source")
	}
	if Text(&block, "") != "" {
		t.Fatal("an empty text is not empty")
	}
}

// Carve hands out parts that never overlap, with a capacity that ends
// with them, and starts a new block when one is full.
func TestCarvedPartsDoNotOverlap(t *testing.T) {
	var block []int
	var parts [][]int
	for i := range 10 {
		p := Carve(&block, 3, 8)
		if len(p) != 3 || cap(p) != 3 {
			t.Fatalf("part %d: len %d cap %d, want 3 and 3", i, len(p), cap(p))
		}
		for j := range p {
			p[j] = i
		}
		parts = append(parts, p)
	}
	for i, p := range parts {
		for _, v := range p {
			if v != i {
				t.Fatalf("part %d was overwritten by part %d", i, v)
			}
		}
	}
}
