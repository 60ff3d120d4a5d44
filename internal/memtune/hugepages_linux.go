package licensing

import (
	"syscall"
	"unsafe"
)

// adviseHugePages asks the kernel to back the memory of a large, fresh
// slab with transparent huge pages where it allows them (the "madvise"
// setting). A bulk load writes hundreds of megabytes of new records once;
// with 4 KiB pages every first touch is a page fault, and those faults cost
// more than the writes. Only the 2 MiB-aligned part benefits; errors are
// ignored (the advice is optional).
func adviseHugePages(p unsafe.Pointer, size uintptr) {
	const huge = 2 << 20
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + size) &^ (huge - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, 14 /* MADV_HUGEPAGE */)
}
