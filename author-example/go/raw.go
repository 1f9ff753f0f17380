//go:build gobridge_external

package tally

/*
#include "tally.h"
*/
import "C"

import (
	"unsafe"

	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
)

// The C calls the tests make the way a careless caller would (cgo is not allowed in _test.go
// files): a NULL out-pointer, a NULL status, a function that panics.

// addNullOut calls tally_add with a NULL out-pointer.
func addNullOut(t *Tally, text []byte) error {
	return gobridge.CallStatus(func(st unsafe.Pointer) int32 {
		return int32(C.tally_add(C.uint64_t(t.h), view(text), nil, status(st)))
	})
}

// countNullStatus calls tally_count with a NULL status: only the code comes back.
func countNullStatus(t *Tally, word string) (uint64, int32) {
	b := []byte(word)
	var n C.uint64_t
	code := int32(C.tally_count(C.uint64_t(t.h), view(b), &n, nil))
	return uint64(n), code
}

// panicForTest calls tally_panic_for_test, which panics inside gobridge's guard.
func panicForTest() error {
	return gobridge.CallStatus(func(st unsafe.Pointer) int32 { return int32(C.tally_panic_for_test(status(st))) })
}

// bareFnv calls tally_fnv without CallStatus (a NULL status): the baseline of the CallStatus
// benchmark (a cheap call on the caller's thread, so the status handling is what differs).
func bareFnv(data []byte, out *uint64) int32 {
	return int32(C.tally_fnv(view(data), (*C.uint64_t)(unsafe.Pointer(out)), nil))
}

// fnvWithStatus is the same call through CallStatus.
func fnvWithStatus(data []byte, out *uint64) error {
	return gobridge.CallStatus(func(st unsafe.Pointer) int32 {
		return int32(C.tally_fnv(view(data), (*C.uint64_t)(unsafe.Pointer(out)), status(st)))
	})
}
