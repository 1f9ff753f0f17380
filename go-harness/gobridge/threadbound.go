package gobridge

/*
#include "bridge.h"
*/
import "C"

import "runtime"

// ThreadBound is a Rust-side gobridge::ThreadBound created on the caller's current OS thread:
// a value that Rust lets only its owner thread touch. It shows, from Go, what happens to
// thread-affine native state: a goroutine under runtime.LockOSThread keeps passing Check; an
// unlocked goroutine that migrates gets ErrWrongThread (never a crash, never a false nil).
type ThreadBound struct {
	h     C.uint64_t
	owner int
}

// NewThreadBound creates a thread-bound object owned by the OS thread running the caller.
// Lock the goroutine to its thread first (runtime.LockOSThread) if it must stay usable.
func NewThreadBound() (*ThreadBound, error) {
	r := C.gb_thread_bound_new()
	if err := resultErr(r); err != nil {
		return nil, err
	}
	t := &ThreadBound{h: C.uint64_t(r.value)}
	or := C.gb_thread_bound_owner(t.h)
	if err := resultErr(or); err != nil {
		C.gb_thread_bound_free(t.h)
		return nil, err
	}
	t.owner = int(or.value)
	return t, nil
}

// OwnerThreadID returns the kernel thread id of the owner thread.
func (t *ThreadBound) OwnerThreadID() int { return t.owner }

// Check asks Rust whether the calling OS thread is the owner. It returns nil on the owner
// thread and a *WrongThreadError (matching ErrWrongThread, with both thread ids as Rust saw
// them in the same cgo call) elsewhere.
func (t *ThreadBound) Check() error {
	_, err := t.check()
	return err
}

// check is Check plus the tid of the thread the check ran on, read inside the same cgo call
// (so the tests can verify every nil against the thread it was given on).
func (t *ThreadBound) check() (current int, err error) {
	r := C.gb_thread_bound_check_here(t.h)
	current = int(r.value)
	err = resultErr(r)
	runtime.KeepAlive(t)
	if err != nil && r.code == codeWrongThread {
		err = &WrongThreadError{Owner: t.owner, Current: current}
	}
	return current, err
}

// Close frees the Rust object (from any thread: freeing off the owner thread is defined by
// gobridge::ThreadBound). A second Close returns ErrStaleHandle.
func (t *ThreadBound) Close() error {
	return resultErr(C.gb_thread_bound_free(t.h))
}
