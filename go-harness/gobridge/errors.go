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

// Stable codes of the C ABI (gobridge::Error::code on the Rust side).
const (
	codeOK              = 0
	codeWrongThread     = 1
	codeShutdown        = 2
	codePanicked        = 3
	codeUnblockable     = 4
	codeInvalidBuffer   = 5
	codeStaleHandle     = 6
	codeSys             = 7
	codeTimeout         = 8
	codeInvalidArgument = 9
	codeHandlerReplaced = 10
	codeLimitExceeded   = 11
)

var sentinels = map[int]error{
	codeWrongThread:     ErrWrongThread,
	codeShutdown:        ErrShutdown,
	codePanicked:        ErrPanicked,
	codeUnblockable:     ErrUnblockable,
	codeInvalidBuffer:   ErrInvalidBuffer,
	codeStaleHandle:     ErrStaleHandle,
	codeSys:             ErrSys,
	codeTimeout:         ErrTimeout,
	codeInvalidArgument: ErrInvalidArgument,
	codeHandlerReplaced: ErrHandlerReplaced,
	codeLimitExceeded:   ErrLimitExceeded,
}

// Error is a failure reported by the Rust side: its stable code, the message Rust wrote into
// the call's status, and for system errors the errno. errors.Is matches it against the
// sentinel for its code and against its syscall.Errno.
type Error struct {
	Code    int           // the stable C ABI code (1 = wrong thread, 2 = shut down, ...)
	Errno   syscall.Errno // for ErrSys, the errno; otherwise 0
	Message string        // Rust's description
}

// Error returns Rust's description of the failure, prefixed with "gobridge: ".
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("gobridge: error code %d", e.Code)
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
	e := &Error{Code: int(r.code)}
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
