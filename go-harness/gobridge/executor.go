package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Executor owns one Rust-spawned OS thread that runs jobs one at a time: a Rust
// PinnedExecutor behind a handle. Everything Do runs, runs on that one thread, whichever
// goroutine or OS thread called Do, so thread-affine native state (a GL context, a
// thread-local "last error" slot, a library that checks pthread_self) stays consistent.
//
// The thread is spawned with every asynchronous signal blocked from its first instruction, so
// blocking native calls on it are not interrupted by the Go runtime's preemption (SIGURG) or
// profiling (SIGPROF), and process-directed signals go to Go's threads (see WithBlockedSignals).
// The mask holds for the thread's life, across Go callbacks: the Go code that Do runs runs with
// it too, so the runtime cannot preempt it asynchronously (a loop without function calls holds
// up garbage collection until it ends) and the CPU profiler does not sample it. An executor
// made WithPreemptibleCallbacks opens both signals for that Go code, and for native code it
// calls, which can then see EINTR.
//
// An Executor is safe for concurrent use, from any number of goroutines: at most
// MaxBlockedWaiters of them wait in a cgo call (each holding an OS thread); the others wait in
// Go, parked, holding no thread and no file descriptor. The executor runs one job at a time, so
// this costs no throughput. Close it when done; a finalizer closes a forgotten one (in a
// goroutine of its own, never blocking the finalizer goroutine) as a safety net only.
type Executor struct {
	h          C.uint64_t
	tid        int
	name       string
	slots      chan int // free blocking-wait slots: one per goroutine allowed to block in cgo
	sync       *syncJobs
	trampoline C.int // 1: Go callbacks run with SIGURG and SIGPROF open (WithPreemptibleCallbacks)
	closed     atomic.Bool
	closeOnce  sync.Once
	closeErr   error
}

// MaxBlockedWaiters is how many goroutines per Executor wait for it inside a blocking cgo call
// at once; the rest wait in Go. With it, 10,000 goroutines calling Do hold about GOMAXPROCS +
// MaxBlockedWaiters OS threads, not 10,000 (past Go's default limit of 10,000 threads the
// process dies).
const MaxBlockedWaiters = 4

// NewExecutor spawns an executor thread named name (the kernel truncates thread names to 15
// bytes). By default it has the platform's stack size and every asynchronous signal blocked
// from its first instruction (see WithBlockedSignals); WithStackSize and WithBlockedSignals
// change that.
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
	e := &Executor{h: C.uint64_t(r.value), name: name, slots: make(chan int, MaxBlockedWaiters)}
	for i := 0; i < MaxBlockedWaiters; i++ {
		e.slots <- i
	}
	e.sync = newSyncJobs()
	e.trampoline = o.cPreemptible()
	tr := C.gb_executor_tid(e.h)
	if err := resultErr(tr); err != nil {
		C.gb_executor_close(e.h)
		e.sync.delete()
		return nil, err
	}
	e.tid = int(tr.value)
	runtime.SetFinalizer(e, finalizeExecutor)
	return e, nil
}

// finalizeExecutor closes a forgotten executor in a goroutine of its own: Close waits for the
// running job, and Go runs every finalizer of the process on one goroutine.
func finalizeExecutor(e *Executor) {
	if hook := testHookFinalized; hook != nil {
		hook("executor")
	}
	go e.Close()
}

// testHookFinalized, when set by a test, is called by the Executor and Pool finalizers.
var testHookFinalized func(what string)

// syncJobs holds the jobs of an executor's Do calls, one per blocking-wait slot, so that the
// callback finds its job by slot with one cgo.Handle lookup instead of a handle created and
// deleted per call (~150 ns). A slot's job is set before the job is submitted and cleared once
// it has finished or can never start (the blocking run returned; waitSubmitted returned, which
// it does only then); cgo calls order both for Go's race detector. It does not refer to its Executor, so the handle does not keep it from its
// finalizer; Close deletes the handle once no callback can come.
type syncJobs struct {
	handle cgo.Handle
	jobs   [MaxBlockedWaiters]*goJob
}

// The values Rust passes back to gobridgeGoCallback are tagged by their top two bits: 00 a
// plain cgo.Handle of a *goJob (a small counter, never near the top bits); 10 a slot reference,
// the syncJobs handle above the low 8 bits and the slot in them; 11 a pool reference (see
// poolJobs). Handles at or above slotHandleLimit do not fit (2^54 on 64-bit platforms, 2^22 on
// 32-bit ones, where a long-lived process can reach it): such an executor uses a handle per
// call instead (syncJobs nil).
const (
	slotRefBit      = ^(^uintptr(0) >> 1)
	poolRefBit      = slotRefBit >> 1
	slotHandleLimit = poolRefBit >> 8
)

func newSyncJobs() *syncJobs {
	s := &syncJobs{}
	var ok bool
	if s.handle, ok = handleBelow(s, slotHandleLimit); !ok {
		return nil
	}
	return s
}

// handleBelow makes a cgo.Handle of v for a tagged reference, if it is below limit (the
// handle's room in the reference); otherwise it makes none.
func handleBelow(v any, limit uintptr) (cgo.Handle, bool) {
	h := cgo.NewHandle(v)
	if uintptr(h) >= limit {
		h.Delete()
		return 0, false
	}
	return h, true
}

func (s *syncJobs) delete() {
	if s != nil {
		s.handle.Delete()
	}
}

// ref returns the value Rust passes back for j in slot: a slot reference, or (s nil) a
// handle of its own, which release deletes.
func (s *syncJobs) ref(slot int, j *goJob) C.uintptr_t {
	if s != nil {
		s.jobs[slot] = j
		return C.uintptr_t(slotRefBit | uintptr(s.handle)<<8 | uintptr(slot))
	}
	return C.uintptr_t(cgo.NewHandle(j))
}

// release undoes ref once the job has finished or can never start. (Not a closure returned by
// ref: that would be one heap allocation per Do.)
func (s *syncJobs) release(slot int, ref C.uintptr_t) {
	if s != nil {
		s.jobs[slot] = nil
		return
	}
	cgo.Handle(ref).Delete()
}

// lookupCallbackJob resolves the value gobridgeGoCallback received: a slot reference, a pool
// reference, or a cgo.Handle of a *goJob. Nil for anything else.
func lookupCallbackJob(v uintptr) *goJob {
	switch {
	case v&slotRefBit == 0:
		j, _ := cgo.Handle(v).Value().(*goJob)
		return j
	case v&poolRefBit != 0:
		return lookupPoolJob(v)
	}
	s, _ := cgo.Handle((v &^ slotRefBit) >> 8).Value().(*syncJobs)
	if s == nil || v&0xff >= MaxBlockedWaiters {
		return nil
	}
	return s.jobs[v&0xff]
}

// tryAcquire takes one of the executor's blocking-wait slots if one is free.
func (e *Executor) tryAcquire() (int, bool) {
	select {
	case slot := <-e.slots:
		return slot, true
	default:
		return 0, false
	}
}

// acquire takes one of the executor's blocking-wait slots, waiting in Go (parked) while all are
// taken; a ctx done first returns ctx.Err() with nothing submitted.
func (e *Executor) acquire(ctx context.Context) (int, error) {
	if slot, ok := e.tryAcquire(); ok {
		return slot, nil
	}
	select {
	case slot := <-e.slots:
		return slot, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (e *Executor) release(slot int) { e.slots <- slot }

// runInSlot runs j on the executor through the caller's slot: waiting in one cgo call, or, with
// a cancellable ctx, as a submitted job whose wait ctx can cut short.
func (e *Executor) runInSlot(ctx context.Context, slot int, j *goJob) error {
	ref := e.sync.ref(slot, j)
	var err error
	if ctx.Done() == nil {
		err = e.mapErr(resultErr(C.gb_executor_run(e.h, ref, e.trampoline)))
	} else {
		err = e.waitSubmitted(ctx, C.gb_executor_submit(e.h, ref, e.trampoline))
	}
	e.sync.release(slot, ref)
	return err
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
// is cancelled before the job has started, the job is withdrawn and fn never runs; if fn is
// running, the job's cancellation token is set (Rust code that fn calls on this thread sees
// gobridge::executor::cancelled() and can stop early) and Do waits for fn to return. Either
// way Do then returns ctx.Err() (or fn's panic), and never while fn runs. With a ctx that can
// never be cancelled (context.Background()), Do makes one blocking cgo call: the fastest path,
// which holds the calling OS thread while it waits.
//
// After Close, Do returns an error wrapping ErrShutdown; a job that was queued when Close was
// called either ran (nil) or returns ErrShutdown and never runs: none is lost.
func (e *Executor) Do(ctx context.Context, fn func()) error {
	if e == nil || e.h == 0 {
		return invalidArg("Do on a nil or zero Executor (use NewExecutor)")
	}
	if fn == nil {
		return invalidArg("nil func")
	}
	if e.closed.Load() {
		return shutdownErr("executor")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &goJob{fn: fn, call: "Executor.Do"}
	var err error
	slot, free := 0, false
	if ctx.Done() == nil {
		slot, free = e.tryAcquire()
	}
	switch {
	case free:
		// The common case needs no thread check (a cgo call): a nested Do, from inside fn on
		// the executor's own thread, is run inline by Rust.
		err = e.runInSlot(ctx, slot, j)
		e.release(slot)
	case ThreadID() == e.tid:
		// Nested Do from inside fn, on the executor's own thread: Rust runs the job inline
		// instead of deadlocking on its own queue, and it must not wait for a slot (the
		// holders wait for this thread).
		h := cgo.NewHandle(j)
		err = e.mapErr(resultErr(C.gb_executor_run(e.h, C.uintptr_t(h), e.trampoline)))
		h.Delete()
	default:
		if slot, err = e.acquire(ctx); err == nil {
			err = e.runInSlot(ctx, slot, j)
			e.release(slot)
		}
	}
	runtime.KeepAlive(e)
	return j.outcome(err)
}

// Ping runs a Rust no-op job on the executor's thread and waits for it: a liveness check, and
// the benchmark of the bare cross-thread handoff. ctx behaves as in Do.
func (e *Executor) Ping(ctx context.Context) error {
	if e == nil || e.h == 0 {
		return invalidArg("Ping on a nil or zero Executor (use NewExecutor)")
	}
	if e.closed.Load() {
		return shutdownErr("executor")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	slot, free := e.tryAcquire()
	if !free && ThreadID() == e.tid {
		// From inside a job on the executor's own thread, with every slot held by callers
		// waiting for this thread: run inline (Rust does), without waiting for a slot.
		return e.mapErr(resultErr(C.gb_executor_ping(e.h)))
	}
	var err error
	if !free {
		if slot, err = e.acquire(ctx); err != nil {
			return err
		}
	}
	if ctx.Done() == nil {
		err = e.mapErr(resultErr(C.gb_executor_ping(e.h)))
	} else {
		err = e.waitSubmitted(ctx, C.gb_executor_submit_ping(e.h))
	}
	e.release(slot)
	runtime.KeepAlive(e)
	return err
}

// testHookSubmitted, when set by a test, is called after a job has been queued by the
// ctx-aware path of Do (so a test can know a job is queued without timing).
var testHookSubmitted func()

// testHookNetpollWait, when set by a test, is called when a WaitTicket outlasts
// submittedSpinWindow and moves to the netpoller.
var testHookNetpollWait func()

// submittedSpinWindow bounds the blocking wait a ctx-aware Do or Ping makes before it moves
// to the netpoller: as long as the executor's own spin window (gobridge::executor::DEFAULT_SPIN).
const submittedSpinWindow = 50 * time.Microsecond

// waitSubmitted waits for the ticket a submit returned (see waitTicket) and frees it.
func (e *Executor) waitSubmitted(ctx context.Context, sr C.gb_result) error {
	if err := resultErr(sr); err != nil {
		return e.mapErr(err)
	}
	t := C.uint64_t(sr.value)
	defer C.gb_ticket_free(t)
	if hook := testHookSubmitted; hook != nil {
		hook()
	}
	return e.mapErr(waitTicket(ctx, t, false))
}

// WaitTicket waits for the job behind a C-ABI ticket handle (gobridge_executor_submit's, or
// one a Rust author's function returned from gobridge::capi::submit_ticket), then frees the
// ticket. It returns the job's outcome (nil, or the *Error the job reported: ErrShutdown,
// ErrPanicked, the author's own error...). If ctx is done first the job is cancelled: withdrawn
// if it has not started, or its cancellation token set if it runs (Rust code in it sees
// gobridge::executor::cancelled() and can stop early); WaitTicket still returns only once the
// job has finished or can never start, and then returns ctx.Err() (or the job's panic).
//
// The goroutine waits in the netpoller (one ticket eventfd), after a short blocking wait that
// catches jobs finishing within microseconds. If no file descriptor can be had (EMFILE), it
// falls back to a blocking wait that still honours ctx; at most a few such waits hold an OS
// thread at once, the other callers park in Go. A ticket must be waited for (or freed)
// exactly once; after WaitTicket it is gone.
func WaitTicket(ctx context.Context, ticket uint64) error {
	if ticket == 0 {
		return invalidArg("ticket 0")
	}
	t := C.uint64_t(ticket)
	err := waitTicket(ctx, t, true)
	if ferr := resultErr(C.gb_ticket_free(t)); err == nil && ferr != nil {
		err = ferr
	}
	return err
}

// waitTicket waits for ticket t (see WaitTicket; it does not free t): in the netpoller if
// netpoll (one eventfd per waiter), else in one blocking cgo call that a goroutine watching ctx
// can cut short (an OS thread per waiter, no file descriptor: Do and Ping, whose blocking
// waiters are bounded by the executor's slots).
func waitTicket(ctx context.Context, t C.uint64_t, netpoll bool) error {
	// Most jobs finish within microseconds. Waiting for them in one short blocking call (Rust
	// spins, then parks until the deadline) skips the eventfd, dup, epoll registration and
	// netpoller wake-up that a wait in the netpoller costs (~15 µs here). The price: ctx is
	// not watched during this window, so a cancellation is noticed at most
	// submittedSpinWindow later (a job that has not started by then is still withdrawn).
	if res := C.gb_ticket_wait(t, C.int64_t(submittedSpinWindow)); res.code != codeTimeout {
		return resultErr(res)
	}
	var cancelled bool
	var res C.gb_result
	if netpoll {
		if hook := testHookNetpollWait; hook != nil {
			hook()
		}
		cancelled, res = waitTicketNetpoll(ctx, t)
	} else {
		cancelled, res = waitTicketBlocking(ctx, t)
	}
	if !cancelled {
		return resultErr(res)
	}
	// ctx was cancelled while the job waited or ran: withdraw it, or set its token.
	cr := C.gb_ticket_cancel(t)
	if resultErr(cr) == nil && cr.value != 0 {
		return ctx.Err() // withdrawn: it never runs
	}
	// It has started (or finished): wait until it has finished, never returning while it runs,
	// in the same way as before (the netpoller, or the caller's bounded blocking wait).
	if netpoll {
		_, res = waitTicketNetpoll(context.Background(), t)
	} else {
		res = C.gb_ticket_wait(t, -1)
	}
	if err := resultErr(res); errors.Is(err, ErrPanicked) {
		return err
	}
	return ctx.Err()
}

// ticketBlockers bounds how many WaitTicket calls wait in a blocking cgo call at once, which
// they do only when no file descriptor can be had for the netpoller: each holds an OS thread,
// so without a bound 10,000 waiters out of descriptors would pass Go's 10,000-thread limit.
// The rest park in Go until a slot frees.
var ticketBlockers = make(chan struct{}, 4*MaxBlockedWaiters)

// waitTicketNetpoll waits for t in the netpoller until it finishes (false, its outcome) or ctx
// is done (true). Without a file descriptor for the poller (EMFILE, ENFILE) it degrades to a
// blocking wait on this OS thread (at most cap(ticketBlockers) at once), with ctx watched by a
// goroutine that cancels the ticket.
func waitTicketNetpoll(ctx context.Context, t C.uint64_t) (cancelled bool, res C.gb_result) {
	fr := C.gb_ticket_fd(t)
	var f *os.File
	var rc syscall.RawConn
	err := resultErr(fr)
	if err == nil {
		f, rc, err = pollFile(int(int64(fr.value)), "gobridge-ticket")
	}
	if err != nil {
		select {
		case ticketBlockers <- struct{}{}:
		case <-ctx.Done():
			return true, res // not waited for: the caller cancels, then waits again
		}
		defer func() { <-ticketBlockers }()
		return waitTicketBlocking(ctx, t)
	}
	defer f.Close()
	ready := func(uintptr) bool {
		res = C.gb_ticket_wait(t, 0)
		return res.code != codeTimeout
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(aLongTimeAgo) })
	rerr := rc.Read(ready)
	stop()
	if rerr != nil {
		return true, res
	}
	return false, res
}

// waitTicketBlocking is the fallback of waitTicketNetpoll: one blocking wait, with ctx's
// cancellation delivered to the ticket (gobridge_ticket_cancel never waits for a waiter).
func waitTicketBlocking(ctx context.Context, t C.uint64_t) (cancelled bool, res C.gb_result) {
	if hook := testHookBlockingFallback; hook != nil {
		hook()
	}
	var fired atomic.Bool
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		fired.Store(true)
		C.gb_ticket_cancel(t)
	})
	res = C.gb_ticket_wait(t, -1)
	if !stop() {
		<-done // the cancel may still be using t: let it finish before t is freed
	}
	return fired.Load(), res
}

// testHookBlockingFallback, when set by a test, is called when a wait blocks in cgo after the
// spin window (Do and Ping always; WaitTicket when no file descriptor could be had).
var testHookBlockingFallback func()

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
// call's result; later Do and Ping return ErrShutdown. Close on a nil or zero Executor returns
// an error matching ErrInvalidArgument.
func (e *Executor) Close() error {
	if e == nil || e.h == 0 {
		return invalidArg("Close on a nil or zero Executor (use NewExecutor)")
	}
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		runtime.SetFinalizer(e, nil)
		e.closeErr = resultErr(C.gb_executor_close(e.h))
		e.sync.delete() // the thread is gone (or closed from itself, past its callback)
	})
	return e.closeErr
}
