//go:build !linux

package licensing

import "unsafe"

func adviseHugePages(unsafe.Pointer, uintptr) {}
