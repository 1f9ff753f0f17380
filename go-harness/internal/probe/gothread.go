package probe

/*
#include "gothread.h"
*/
import "C"

import (
	"errors"
	"runtime"
)

// gtExited is closed when the serving goroutine has returned (see GoThreadStart).
var gtExited chan struct{}

// GoThreadStart starts the prototype of a Go-created executor thread (see gothread.c): a
// goroutine that locks its OS thread and serves requests in one cgo call, leaving it only to
// run Go jobs as plain Go code. One at a time per process; GoThreadStop ends it.
func GoThreadStart() {
	C.probe_gt_reset()
	gtExited = make(chan struct{})
	go gtServe(gtExited)
}

// gtServe is the executor's goroutine. It never unlocks its thread, so when it returns the
// runtime terminates the thread, as a Rust executor's thread ends when it is closed.
func gtServe(exited chan struct{}) {
	defer close(exited)
	runtime.LockOSThread()
	finished := C.int(0)
	for C.probe_gt_serve(finished) == C.GT_GO {
		gtGoNoop()
		finished = 1
	}
}

// gtGoNoop is the Go job: a Go no-op, like floor.c's probeGoNoop.
//
//go:noinline
func gtGoNoop() {}

// GoThreadDoNoop is one Go-job round trip: a cgo call that posts the request and waits,
// spinning then yielding but never parking, until the executor's goroutine has run gtGoNoop and
// come back into C. The counterpart of FloorCall.
func GoThreadDoNoop() { C.probe_gt_call(C.GT_GO) }

// GoThreadNativeNoop is one native-job round trip: the job is a C no-op that the executor runs
// inside its serving cgo call.
func GoThreadNativeNoop() { C.probe_gt_call(C.GT_NATIVE) }

// GoThreadNativeSubmitter makes n requests (Go jobs if goJob, else native ones) from a C thread,
// one after another, each waited for as in GoThreadDoNoop, and returns once it has joined: what
// a Rust thread submitting to a Go-created executor would pay.
func GoThreadNativeSubmitter(n int, goJob bool) error {
	kind := C.int(C.GT_NATIVE)
	if goJob {
		kind = C.GT_GO
	}
	if C.probe_gt_native_submitter(C.int(n), kind) != 0 {
		return errors.New("probe: pthread_create failed")
	}
	return nil
}

// GoThreadStop stops the executor and waits until its goroutine has returned.
func GoThreadStop() {
	C.probe_gt_call(C.GT_STOP)
	<-gtExited
}
