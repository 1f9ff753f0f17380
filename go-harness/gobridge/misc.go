package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"os"
	"runtime/cgo"
	"syscall"
)

// ThreadID returns the kernel thread id (gettid) of the OS thread running the caller right
// now. Without runtime.LockOSThread the goroutine may be on another thread by the time it
// looks at the result.
func ThreadID() int { return int(C.gobridge_current_tid()) }

// WithBlocked runs fn with sigs blocked on the calling OS thread, inside one cgo call, and
// restores the exact previous mask before returning (the only way non-Go code may touch the
// mask of a Go thread). fn runs as a cgo callback on the same thread; a panic in fn is
// returned as a *PanicError. Blocking a synchronous signal or SIGKILL/SIGSTOP returns
// ErrUnblockable.
func WithBlocked(fn func(), sigs ...os.Signal) error {
	if fn == nil {
		return invalidArg("nil func")
	}
	bits, err := signalBits(sigs)
	if err != nil {
		return err
	}
	j := &goJob{fn: fn, call: "WithBlocked"}
	h := cgo.NewHandle(j)
	defer h.Delete()
	if err := resultErr(C.gb_with_blocked(C.uint64_t(bits), C.uintptr_t(h))); err != nil {
		return err
	}
	return j.err()
}

func signalBits(sigs []os.Signal) (uint64, error) {
	var bits uint64
	for _, s := range sigs {
		ss, ok := s.(syscall.Signal)
		if !ok || ss < 1 || ss > 64 {
			return 0, invalidArg("not a signal number: " + s.String())
		}
		bits |= sigBit(ss)
	}
	return bits, nil
}
