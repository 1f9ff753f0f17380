package gobridge

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// Sentinel errors, matched with errors.Is. Every error the package returns for a failure on
// the Rust side wraps exactly one of them (and, for system errors, the syscall.Errno).
var (
	// ErrWrongThread: a thread-bound object was used from an OS thread other than its owner.
	ErrWrongThread = errors.New("gobridge: wrong thread")
	// ErrShutdown: the executor or pool was closed before the job ran; the job never ran.
	ErrShutdown = errors.New("gobridge: shut down")
	// ErrPanicked: the job panicked (a Go panic in fn, recovered on the Go side, or a Rust
	// panic caught at the boundary). The process lives on.
	ErrPanicked = errors.New("gobridge: panicked")
	// ErrStaleHandle: the handle was already freed or closed, or never valid.
	ErrStaleHandle = errors.New("gobridge: stale or invalid handle")
	// ErrInvalidArgument: an argument is out of its documented range.
	ErrInvalidArgument = errors.New("gobridge: invalid argument")
	// ErrUnblockable: a signal that must never be blocked (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,
	// SIGFPE, SIGILL, SIGTRAP) was asked to be.
	ErrUnblockable = errors.New("gobridge: signal cannot be blocked")
	// ErrInvalidBuffer: a buffer view was rejected (NULL with a length, overflow, misaligned).
	ErrInvalidBuffer = errors.New("gobridge: invalid buffer")
	// ErrSys: a system call failed; the error also wraps the syscall.Errno.
	ErrSys = errors.New("gobridge: system error")
	// ErrTimeout: a bounded wait ran out of time.
	ErrTimeout = errors.New("gobridge: timed out")
	// ErrHandlerReplaced: somebody else replaced gobridge's signal handler.
	ErrHandlerReplaced = errors.New("gobridge: signal handler replaced")
	// ErrLimitExceeded: a resource limit (such as the owned-buffer budget) would be exceeded.
	ErrLimitExceeded = errors.New("gobridge: resource limit exceeded")
)

// ErrCancelled: the job was cancelled before it started (it never ran), or a running job saw
// its cancellation token and stopped early. Calls that take a context return ctx.Err() rather
// than this sentinel; it reaches Go from authors' functions through CallStatus.
var ErrCancelled = errors.New("gobridge: cancelled")

// Code is a stable status code of gobridge's C ABI: one per GOBRIDGE_E_* constant of
// gobridge.h, taken from the header itself (the Rust crate's one error table generates it).
type Code int32

// The status codes, from the header.
const (
	CodeOK              Code = C.GOBRIDGE_OK
	CodeWrongThread     Code = C.GOBRIDGE_E_WRONG_THREAD
	CodeShutdown        Code = C.GOBRIDGE_E_SHUTDOWN
	CodePanicked        Code = C.GOBRIDGE_E_PANICKED
	CodeUnblockable     Code = C.GOBRIDGE_E_UNBLOCKABLE
	CodeInvalidBuffer   Code = C.GOBRIDGE_E_INVALID_BUFFER
	CodeStaleHandle     Code = C.GOBRIDGE_E_STALE_HANDLE
	CodeSys             Code = C.GOBRIDGE_E_SYS
	CodeTimeout         Code = C.GOBRIDGE_E_TIMEOUT
	CodeInvalidArgument Code = C.GOBRIDGE_E_INVALID_ARGUMENT
	CodeHandlerReplaced Code = C.GOBRIDGE_E_HANDLER_REPLACED
	CodeLimitExceeded   Code = C.GOBRIDGE_E_LIMIT_EXCEEDED
	CodeCancelled       Code = C.GOBRIDGE_E_CANCELLED
)

// Untyped short names inside the package, comparable with cgo's C.int32_t results.
const (
	codeOK              = C.GOBRIDGE_OK
	codeWrongThread     = C.GOBRIDGE_E_WRONG_THREAD
	codeShutdown        = C.GOBRIDGE_E_SHUTDOWN
	codeSys             = C.GOBRIDGE_E_SYS
	codeTimeout         = C.GOBRIDGE_E_TIMEOUT
	codeInvalidArgument = C.GOBRIDGE_E_INVALID_ARGUMENT
)

// sentinels maps every code but CodeOK to its sentinel; header_test.go checks that every
// GOBRIDGE_E_* of the header has an entry and that the values agree.
var sentinels = map[Code]error{
	CodeWrongThread:     ErrWrongThread,
	CodeShutdown:        ErrShutdown,
	CodePanicked:        ErrPanicked,
	CodeUnblockable:     ErrUnblockable,
	CodeInvalidBuffer:   ErrInvalidBuffer,
	CodeStaleHandle:     ErrStaleHandle,
	CodeSys:             ErrSys,
	CodeTimeout:         ErrTimeout,
	CodeInvalidArgument: ErrInvalidArgument,
	CodeHandlerReplaced: ErrHandlerReplaced,
	CodeLimitExceeded:   ErrLimitExceeded,
	CodeCancelled:       ErrCancelled,
}

// String names the code as the header does, e.g. "GOBRIDGE_E_STALE_HANDLE".
func (c Code) String() string {
	switch c {
	case CodeOK:
		return "GOBRIDGE_OK"
	case CodeWrongThread:
		return "GOBRIDGE_E_WRONG_THREAD"
	case CodeShutdown:
		return "GOBRIDGE_E_SHUTDOWN"
	case CodePanicked:
		return "GOBRIDGE_E_PANICKED"
	case CodeUnblockable:
		return "GOBRIDGE_E_UNBLOCKABLE"
	case CodeInvalidBuffer:
		return "GOBRIDGE_E_INVALID_BUFFER"
	case CodeStaleHandle:
		return "GOBRIDGE_E_STALE_HANDLE"
	case CodeSys:
		return "GOBRIDGE_E_SYS"
	case CodeTimeout:
		return "GOBRIDGE_E_TIMEOUT"
	case CodeInvalidArgument:
		return "GOBRIDGE_E_INVALID_ARGUMENT"
	case CodeHandlerReplaced:
		return "GOBRIDGE_E_HANDLER_REPLACED"
	case CodeLimitExceeded:
		return "GOBRIDGE_E_LIMIT_EXCEEDED"
	case CodeCancelled:
		return "GOBRIDGE_E_CANCELLED"
	}
	return fmt.Sprintf("gobridge code %d", int32(c))
}

// Error is a failure reported by the Rust side: its stable code, the message Rust wrote into
// the call's status, and for system errors the errno. errors.Is matches it against the
// sentinel for its code and against its syscall.Errno.
type Error struct {
	Code    Code          // the stable C ABI code (CodeWrongThread, CodeShutdown, ...)
	Errno   syscall.Errno // for ErrSys, the errno; otherwise 0
	Message string        // Rust's description
}

// Error returns Rust's description of the failure, prefixed with "gobridge: ".
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("gobridge: error %v (code %d)", e.Code, int32(e.Code))
	}
	return "gobridge: " + e.Message
}

// Unwrap returns the sentinel for the code and, when set, the errno.
func (e *Error) Unwrap() []error {
	var errs []error
	if s, ok := sentinels[e.Code]; ok {
		errs = append(errs, s)
	}
	if e.Errno != 0 {
		errs = append(errs, e.Errno)
	}
	return errs
}

// WrongThreadError is returned by ThreadBound.Check off the owner thread. It matches
// ErrWrongThread with errors.Is and carries both thread ids.
type WrongThreadError struct {
	Owner   int // the thread that created the object
	Current int // the thread the check ran on
}

// Error names both threads.
func (e *WrongThreadError) Error() string {
	return fmt.Sprintf("gobridge: wrong thread: object is owned by thread %d, used from thread %d", e.Owner, e.Current)
}

// Is reports whether target is ErrWrongThread.
func (e *WrongThreadError) Is(target error) bool { return target == ErrWrongThread }

// PanicError is returned by Executor.Do and Pool.Do when fn panicked. The panic was recovered
// on the Go side, on the executor's thread, and never unwound through Rust. It matches
// ErrPanicked with errors.Is.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the goroutine stack at the panic
}

// Error includes the value passed to panic (the stack is in Stack).
func (e *PanicError) Error() string { return fmt.Sprintf("gobridge: panicked: %v", e.Value) }

// Is reports whether target is ErrPanicked.
func (e *PanicError) Is(target error) bool { return target == ErrPanicked }

// resultErr turns a wrapper's result into an error (nil for code 0), freeing the message.
func resultErr(r C.gb_result) error {
	if r.code == codeOK {
		return nil
	}
	e := &Error{Code: Code(r.code)}
	if r.msg != nil {
		e.Message = C.GoString(r.msg)
		C.free(unsafe.Pointer(r.msg))
	}
	if e.Code == codeSys {
		e.Errno = syscall.Errno(r.sys_errno)
	}
	return e
}

func invalidArg(what string) error {
	return &Error{Code: codeInvalidArgument, Message: "invalid argument: " + what}
}

func shutdownErr(what string) error {
	return &Error{Code: codeShutdown, Message: what + " is closed"}
}
