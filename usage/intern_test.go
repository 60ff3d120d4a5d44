package usage

import (
	"strconv"
	"testing"
	"unsafe"
)

// More than 65,536 distinct SKU ids (tenants' custom products add to
// Microsoft's catalog) intern without a panic, each to its own index, and
// an activation stays 12 bytes.
func TestInternSKUHasNoSixteenBitLimit(t *testing.T) {
	first := internSKU("intern-test-0")
	for i := 1; i <= 70_000; i++ {
		id := "intern-test-" + strconv.Itoa(i)
		if got := internSKU(id).id(); got != id {
			t.Fatalf("interned %q reads back %q", id, got)
		}
	}
	if internSKU("intern-test-0") != first {
		t.Fatal("an id interned twice has two indexes")
	}
	if n := unsafe.Sizeof(activation{}); n != 12 {
		t.Fatalf("activation is %d bytes, want 12", n)
	}
}
