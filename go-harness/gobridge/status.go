package gobridge

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"syscall"
	"unsafe"
)

// CallStatus calls call with a valid GobridgeStatus* and returns the error the call reported,
// as the same *Error value gobridge's own calls return (errors.Is with ErrInvalidArgument,
// ErrPanicked, ErrStaleHandle, ..., the message Rust wrote kept in Message). call returns the
// status code of a C function that follows gobridge's conventions, typically a Rust author's own
// `extern "C"` function built with gobridge's ffi helpers:
//
//	err := gobridge.CallStatus(func(st unsafe.Pointer) int32 {
//		return int32(C.myapp_render(C.uint64_t(exec.Handle()), view, (*C.GobridgeStatus)(st)))
//	})
//
// The status and its 256-byte message buffer are C memory taken from a pool, so passing them is
// legal under GOEXPERIMENT=cgocheck2 and the success path allocates nothing. The pointer is
// valid only until call returns: never keep it.
func CallStatus(call func(status unsafe.Pointer) int32) error {
	b := statusBlocks.Get().(*statusBlock)
	b.reset()
	code := call(unsafe.Pointer(&b.c.st))
	var err error
	if code != 0 {
		err = b.err(Code(code))
	}
	statusBlocks.Put(b)
	return err
}

// ErrorFromCode turns a status code returned without a status (a C call made with a NULL
// GobridgeStatus*) into the matching *Error, with no message; 0 is nil.
func ErrorFromCode(code int32) error {
	if code == 0 {
		return nil
	}
	return &Error{Code: Code(code)}
}

// statusBlock owns one C-allocated gb_status_block. Blocks live in a sync.Pool; one the pool
// drops is freed by its finalizer (C.free never blocks, so the finalizer goroutine never waits).
type statusBlock struct {
	c *C.gb_status_block
}

var statusBlocks = sync.Pool{New: func() any {
	b := &statusBlock{c: (*C.gb_status_block)(C.calloc(1, C.sizeof_gb_status_block))}
	if b.c == nil {
		panic("gobridge: out of C memory for a status block")
	}
	runtime.SetFinalizer(b, func(b *statusBlock) { C.free(unsafe.Pointer(b.c)) })
	return b
}}

// reset makes the block an empty status pointing at its own buffer (the callee may have
// written anything into it last time).
func (b *statusBlock) reset() {
	b.c.st.code = 0
	b.c.st.sys_errno = 0
	b.c.st.msg = &b.c.msg[0]
	b.c.st.msg_cap = C.GB_MSG_CAP
	b.c.st.msg_len = 0
	b.c.msg[0] = 0
}

// err builds the *Error for a non-zero code from what the callee wrote.
func (b *statusBlock) err(code Code) error {
	e := &Error{Code: code}
	n := int(b.c.st.msg_len)
	if n > C.GB_MSG_CAP-1 || n < 0 {
		n = C.GB_MSG_CAP - 1
	}
	if n > 0 {
		e.Message = C.GoStringN(&b.c.msg[0], C.int(n))
	}
	if code == CodeSys {
		e.Errno = syscall.Errno(b.c.st.sys_errno)
	}
	return e
}
