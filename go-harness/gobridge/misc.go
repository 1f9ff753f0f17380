package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"os"
	"runtime/cgo"
	"syscall"
	"time"
)

// ThreadID returns the kernel thread id (gettid) of the OS thread running the caller right
// now. Without runtime.LockOSThread the goroutine may be on another thread by the time it
// looks at the result.
func ThreadID() int { return int(C.gobridge_current_tid()) }

// SleepInterruptible sleeps for d with nanosleep on the calling OS thread, resuming after each
// EINTR with the remaining time, and returns how many EINTRs it saw. With
// blockRuntimeSignals, SIGURG and SIGPROF are blocked for the duration of this one cgo call
// (and the exact previous mask restored before it returns, so pending signals are delivered to
// Go's handlers then): the call then sees no EINTR from the Go runtime's preemption and
// profiling signals. Lock the goroutine to its thread to direct signals at it.
func SleepInterruptible(d time.Duration, blockRuntimeSignals bool) (eintr int, err error) {
	if d < 0 {
		return 0, invalidArg("negative duration")
	}
	r := C.gb_sleep_interruptible(C.uint64_t(d), C.bool(blockRuntimeSignals))
	return int(r.value), resultErr(r)
}

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
	j := &goJob{fn: fn}
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

// bareNoop is a bare cgo call into a Rust no-op (no status, no guard): the benchmark baseline.
func bareNoop() { C.gobridge_bench_noop() }

// bareValueNoop is a bare cgo call into a Rust function that does nothing but return a
// constant (gobridge_abi_version): the baseline with a result, which cgo's call sequence
// handles at a cost of its own, beside the void one.
func bareValueNoop() uint32 { return uint32(C.gobridge_abi_version()) }

// guardedNoop is a gobridge call into a Rust no-op through the full boundary: status on the C
// stack, ffi::call's panic guard, status write-back.
func guardedNoop() error { return resultErr(C.gb_bench_noop_guarded()) }

// BlockingCgoSleep is a plain blocking cgo call (usleep) that holds the calling OS thread: the
// baseline Pool.Sleep is compared with (each goroutine in it holds one OS thread). For
// demonstrations and benchmarks; it is not part of gobridge proper.
func BlockingCgoSleep(d time.Duration) { C.gb_usleep(C.uint32_t(d / time.Microsecond)) }
