package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"sync"
	"unsafe"
)

// Buffer is Rust-owned memory handed to Go: a generation-checked handle plus a pointer and a
// length. The memory is 64-byte aligned, not moved or collected by Go, and stays valid until
// Free. Freeing twice (or using a forged handle) is reported by Rust as ErrStaleHandle, never
// undefined behaviour. A zero-length buffer has a nil Bytes(), never a dangling pointer.
//
// There is deliberately no finalizer: a slice from Bytes does not keep the Buffer reachable,
// so a finalizer could free memory still in use. Call Free.
type Buffer struct {
	mu     sync.Mutex
	handle C.uint64_t
	ptr    unsafe.Pointer
	n      int
}

// NewBuffer allocates n bytes of zeroed, 64-byte aligned Rust memory.
func NewBuffer(n int) (*Buffer, error) {
	if n < 0 {
		return nil, invalidArg("negative buffer length")
	}
	r := C.gb_buffer_alloc(C.size_t(n))
	if err := resultErr(r); err != nil {
		return nil, err
	}
	return &Buffer{handle: C.uint64_t(r.value), ptr: r.ptr, n: int(r.value2)}, nil
}

// Bytes returns the buffer's memory as a slice (nil after Free or for length 0). The slice
// aliases Rust memory: do not use it after Free.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil || b.n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(b.ptr), b.n)
}

// Len returns the buffer's length in bytes.
func (b *Buffer) Len() int { return b.n }

// Handle returns the raw gobridge handle (for logging and tests).
func (b *Buffer) Handle() uint64 { return uint64(b.handle) }

// Free returns the memory to Rust. The handle is checked on the Rust side: a second Free
// returns an error wrapping ErrStaleHandle.
func (b *Buffer) Free() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ptr = nil
	return resultErr(C.gb_buffer_free(b.handle))
}
