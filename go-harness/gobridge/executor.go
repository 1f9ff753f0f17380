package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Executor owns one Rust-spawned OS thread that runs jobs one at a time: a Rust
// PinnedExecutor behind a handle. Everything Do runs, runs on that one thread, whichever
// goroutine or OS thread called Do, so thread-affine native state (a GL context, a
// thread-local "last error" slot, a library that checks pthread_self) stays consistent.
//
// The thread is spawned with the Go runtime's asynchronous signals (SIGURG, SIGPROF) blocked
// from its first instruction, so blocking native calls on it are not interrupted by
// preemption or profiling.
//
// An Executor is safe for concurrent use. Close it when done; a finalizer closes a forgotten
// one as a safety net only.
type Executor struct {
	h         C.uint64_t
	tid       int
	name      string
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NewExecutor spawns an executor thread named name (the kernel truncates thread names to 15
// bytes). By default it has the platform's stack size and SIGURG and SIGPROF blocked from its
// first instruction; WithStackSize and WithBlockedSignals change that.
func NewExecutor(name string, opts ...Option) (*Executor, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	var namePtr *C.uint8_t
	if len(name) > 0 {
		b := []byte(name)
		namePtr = (*C.uint8_t)(unsafe.Pointer(&b[0]))
	}
	r := C.gb_executor_new(namePtr, C.size_t(len(name)), C.size_t(o.stackSize), C.uint64_t(o.blocked))
	if err := resultErr(r); err != nil {
		return nil, err
	}
	e := &Executor{h: C.uint64_t(r.value), name: name}
	tr := C.gb_executor_tid(e.h)
	if err := resultErr(tr); err != nil {
		C.gb_executor_close(e.h)
		return nil, err
	}
	e.tid = int(tr.value)
	runtime.SetFinalizer(e, (*Executor).Close)
	return e, nil
}

// ThreadID returns the kernel thread id of the executor's thread (as in /proc/self/task).
func (e *Executor) ThreadID() int { return e.tid }

// Handle returns the executor's C-ABI handle, for a Rust author's own C functions: on the Rust
// side gobridge::capi::executor_from_handle turns it into the executor, so the author's work
// runs on the thread Go created. It is valid until Close; after that the Rust side reports
// GOBRIDGE_E_STALE_HANDLE (ErrStaleHandle), never undefined behaviour. Handles are never 0.
func (e *Executor) Handle() uint64 { return uint64(e.h) }

// Name returns the name the executor was created with.
func (e *Executor) Name() string { return e.name }

// Do runs fn on the executor's OS thread and returns when it has finished. fn runs as a cgo
// callback from a Rust thread (a goroutine on an "extra M"): it may call back into gobridge,
// including Do on another executor, and a panic in fn is recovered there and returned as a
// *PanicError wrapping ErrPanicked; the executor lives on.
//
// A ctx that is already done returns ctx.Err() without running fn. With a ctx that can be
// cancelled (ctx.Done() != nil), Do submits the job and waits for it in the netpoller; if ctx
// is cancelled before the job has started, the job is withdrawn, fn never runs and Do returns
// ctx.Err(); a job that has started runs to completion. With a ctx that can never be cancelled
// (context.Background()), Do makes one blocking cgo call: the fastest path, which holds the
// calling OS thread while it waits.
//
// After Close, Do returns an error wrapping ErrShutdown; a job that was queued when Close was
// called either ran (nil) or returns ErrShutdown and never runs: none is lost.
func (e *Executor) Do(ctx context.Context, fn func()) error {
	if fn == nil {
		return invalidArg("nil func")
	}
	if e.closed.Load() {
		return shutdownErr("executor")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &goJob{fn: fn}
	h := cgo.NewHandle(j)
	var err error
	if ctx.Done() == nil || ThreadID() == e.tid {
		// Blocking path; also taken when already on the executor's own thread (nested Do from
		// inside fn), where Rust runs the job inline instead of deadlocking on its own queue.
		err = e.mapErr(resultErr(C.gb_executor_run(e.h, C.uintptr_t(h))))
	} else {
		err = e.waitSubmitted(ctx, C.gb_executor_submit(e.h, C.uintptr_t(h)))
	}
	h.Delete()
	runtime.KeepAlive(e)
	if err != nil {
		return err
	}
	return j.err()
}

// Ping runs a Rust no-op job on the executor's thread and waits for it: a liveness check, and
// the benchmark of the bare cross-thread handoff. ctx behaves as in Do.
func (e *Executor) Ping(ctx context.Context) error {
	if e.closed.Load() {
		return shutdownErr("executor")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var err error
	if ctx.Done() == nil {
		err = e.mapErr(resultErr(C.gb_executor_ping(e.h)))
	} else {
		err = e.waitSubmitted(ctx, C.gb_executor_submit_ping(e.h))
	}
	runtime.KeepAlive(e)
	return err
}

// testHookSubmitted, when set by a test, is called after a job has been queued by the
// ctx-aware path of Do (so a test can know a job is queued without timing).
var testHookSubmitted func()

// testHookNetpollWait, when set by a test, is called when a ctx-aware wait outlasts
// submittedSpinWindow and moves to the netpoller.
var testHookNetpollWait func()

// submittedSpinWindow bounds the blocking wait a ctx-aware Do or Ping makes before it moves
// to the netpoller: as long as the executor's own spin window (gobridge::executor::DEFAULT_SPIN).
const submittedSpinWindow = 50 * time.Microsecond

// waitSubmitted waits, in the netpoller, for the ticket a submit returned, withdrawing the job
// if ctx is cancelled before it starts.
func (e *Executor) waitSubmitted(ctx context.Context, sr C.gb_result) error {
	if err := resultErr(sr); err != nil {
		return e.mapErr(err)
	}
	t := C.uint64_t(sr.value)
	defer C.gb_ticket_free(t)
	if hook := testHookSubmitted; hook != nil {
		hook()
	}
	// Most jobs finish within microseconds. Waiting for them in one short blocking call (Rust
	// spins, then parks until the deadline) skips the eventfd, dup, epoll registration and
	// netpoller wake-up that a wait in the netpoller costs (~15 µs here). The price: ctx is
	// not watched during this window, so a cancellation is noticed at most
	// submittedSpinWindow later (a job that has not started by then is still withdrawn).
	if res := C.gb_ticket_wait(t, C.int64_t(submittedSpinWindow)); res.code != codeTimeout {
		return e.mapErr(resultErr(res))
	}
	if hook := testHookNetpollWait; hook != nil {
		hook()
	}
	fr := C.gb_ticket_fd(t)
	if err := resultErr(fr); err != nil {
		return err
	}
	f, rc, err := pollFile(int(int64(fr.value)), "gobridge-ticket")
	if err != nil {
		return err
	}
	defer f.Close()

	var res C.gb_result
	ready := func(uintptr) bool {
		res = C.gb_ticket_wait(t, 0)
		if res.code == codeTimeout {
			return false
		}
		return true
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(aLongTimeAgo) })
	rerr := rc.Read(ready)
	stop()
	if rerr != nil {
		// ctx was cancelled while the job waited: withdraw it if it has not started.
		cr := C.gb_ticket_cancel(t)
		if resultErr(cr) == nil && cr.value != 0 {
			return ctx.Err()
		}
		// It has started (or finished): it runs to completion; wait for it.
		res = C.gb_ticket_wait(t, -1)
	}
	return e.mapErr(resultErr(res))
}

// mapErr reports calls that raced with Close (whose handle is gone) as ErrShutdown.
func (e *Executor) mapErr(err error) error {
	if err != nil && e.closed.Load() && errors.Is(err, ErrStaleHandle) {
		return shutdownErr("executor")
	}
	return err
}

// shuttingDown reports whether the Rust executor has begun shutting down (a closed one
// whose handle is gone counts as shut down).
func (e *Executor) shuttingDown() bool {
	r := C.gb_executor_is_shutdown(e.h)
	if err := resultErr(r); err != nil {
		return true
	}
	return r.value != 0
}

// Close shuts the executor down: jobs still queued fail with ErrShutdown (they never run), a
// running job finishes, and the thread exits. Close is idempotent: later calls return the first
// call's result; later Do and Ping return ErrShutdown.
func (e *Executor) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		runtime.SetFinalizer(e, nil)
		e.closeErr = resultErr(C.gb_executor_close(e.h))
	})
	return e.closeErr
}
