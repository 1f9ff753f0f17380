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
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Pool is a fixed set of Rust-owned OS threads that serve blocking native work, so that any
// number of goroutines can wait on blocking work while the process holds a bounded number of
// OS threads. A goroutine waiting in Sleep or Do is parked in the Go netpoller (on a channel fed
// by the pool's one completion file descriptor), not blocked in a cgo call on an OS thread,
// with one exception: with a ctx that can never be cancelled (ctx.Done() == nil, as for
// context.Background()), one waiter per pool at a time takes the fast path and waits inside
// one blocking cgo call, as Executor.Do does (one OS thread more, at most, than the others
// hold).
//
// A Pool is safe for concurrent use. Close it when done; a forgotten one is closed by a
// finalizer (in a goroutine of its own) as a safety net only. Do called from inside a Pool.Do
// fn of the same pool runs inline on that thread, so nesting never deadlocks.
type Pool struct {
	c *poolCore
}

// poolCore is the pool itself; Pool wraps it so that the dispatcher goroutine, which holds the
// core, does not keep a forgotten Pool reachable (its finalizer could never run).
type poolCore struct {
	h          C.uint64_t
	threads    int
	trampoline C.int // 1: Go callbacks run with SIGURG and SIGPROF open (WithPreemptibleCallbacks)
	f          *os.File
	rc         syscall.RawConn
	done       chan struct{}

	mu      sync.Mutex
	closed  bool
	waiters map[uint64]*poolWaiter
	jobs    *poolJobs // the Do jobs' references; nil: a handle per Do

	tids      map[int]struct{} // kernel tid of each pool thread; read-only after NewPool
	callbacks atomic.Int32     // Do jobs running on the pool's threads right now
	spinning  atomic.Bool      // a waiter is polling the completion queue (spinWait)

	// The fast path: one caller at a time (blocked) waits for its job in a blocking cgo call;
	// a Do's job is found through slot 0 of blocking (nil: a handle per call).
	blocked  atomic.Bool
	blocking *syncJobs
}

type poolWaiter struct {
	ch  chan error  // buffered (1): the dispatcher never blocks on it
	job *goJob      // nil for Sleep
	ref C.uintptr_t // what the callback gets for job (poolJobs.ref); 0 for Sleep
}

// poolDo is what a Pool.Do allocates: its job and, on the netpoller path, its waiter.
type poolDo struct {
	waiter poolWaiter
	job    goJob
}

// A registered waiter's channel gets exactly one send (complete and Close each take the waiter
// out of p.waiters under p.mu before sending), so once its waiter has received that value, or
// was never registered, the channel is empty for good and is reused: waiterChans for Do's
// channels, sleepWaiters for Sleep's whole waiter (nothing else points to it by then). A
// cancelled Sleep returns before its completion is sent; its waiter is left to the GC.
var (
	waiterChans  = sync.Pool{New: func() any { return make(chan error, 1) }}
	sleepWaiters = sync.Pool{New: func() any { return &poolWaiter{ch: make(chan error, 1)} }}
)

// completionBatch is how many completions the dispatcher takes per call.
const completionBatch = 256

// NewPool starts a pool of threads Rust-owned OS threads (1 to 1024). By default each has the
// platform's stack size and every asynchronous signal blocked from its first instruction (see
// WithBlockedSignals); WithStackSize and WithBlockedSignals change that.
func NewPool(threads int, opts ...Option) (*Pool, error) {
	if threads < 1 || threads > 1024 {
		return nil, invalidArg("pool threads must be in 1..=1024")
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	r := C.gb_pool_new_with(C.size_t(threads), C.size_t(o.stackSize), C.uint64_t(o.blocked))
	if err := resultErr(r); err != nil {
		return nil, err
	}
	p := &poolCore{h: C.uint64_t(r.value), threads: threads, trampoline: o.cPreemptible(), done: make(chan struct{}), waiters: make(map[uint64]*poolWaiter), jobs: newPoolJobs(), blocking: newSyncJobs()}
	p.tids = make(map[int]struct{}, threads)
	for i := 0; i < threads; i++ {
		tr := C.gb_pool_thread_tid(p.h, C.size_t(i))
		if err := resultErr(tr); err != nil {
			C.gb_pool_close(p.h)
			return nil, err
		}
		p.tids[int(tr.value)] = struct{}{}
	}
	fr := C.gb_pool_fd(p.h)
	if err := resultErr(fr); err != nil {
		C.gb_pool_close(p.h)
		return nil, err
	}
	f, rc, err := pollFile(int(int64(fr.value)), "gobridge-pool")
	if err != nil {
		C.gb_pool_close(p.h)
		return nil, err
	}
	p.f, p.rc = f, rc
	go p.dispatch()
	pool := &Pool{c: p}
	runtime.SetFinalizer(pool, func(pool *Pool) {
		if hook := testHookFinalized; hook != nil {
			hook("pool")
		}
		go pool.c.Close() // never block the finalizer goroutine
	})
	return pool, nil
}

// Threads returns the number of OS threads of the pool.
func (p *Pool) Threads() int {
	if p == nil || p.c == nil {
		return 0
	}
	return p.c.threads
}

// Sleep runs the pool's built-in blocking job, a sleep of d on a pool thread (the stand-in for
// any blocking native call), and returns when it has finished or ctx is done, whichever is
// first. The calling goroutine waits in the netpoller: 2,000 goroutines in Sleep on a 4-thread
// pool hold 4 pool threads, not 2,000 OS threads. When ctx is done first, the native sleep is
// cancelled too (it polls its cancellation token every millisecond), so the pool thread is
// free again within a millisecond, and Sleep returns ctx.Err().
func (p *Pool) Sleep(ctx context.Context, d time.Duration) error {
	if p == nil || p.c == nil {
		return invalidArg("Sleep on a nil or zero Pool (use NewPool)")
	}
	err := p.c.Sleep(ctx, d)
	runtime.KeepAlive(p)
	return err
}

// Do runs fn on one of the pool's threads (as a cgo callback from a Rust thread) and waits in
// the netpoller for it to finish. A panic in fn is returned as a *PanicError wrapping
// ErrPanicked. If ctx is done first, a job that has not started is withdrawn (fn never runs)
// and a running one has its cancellation token set (gobridge::executor::cancelled() is true for
// Rust code fn calls on that thread); either way Do returns ctx.Err() only once fn has finished
// or can no longer start, never while it runs. Called from inside fn of a Do on the same pool,
// Do runs the nested fn inline on that thread.
func (p *Pool) Do(ctx context.Context, fn func()) error {
	if p == nil || p.c == nil {
		return invalidArg("Do on a nil or zero Pool (use NewPool)")
	}
	err := p.c.Do(ctx, fn)
	runtime.KeepAlive(p)
	return err
}

// Close shuts the pool down: queued jobs never run and their waiters get ErrShutdown; running
// jobs finish first and report normally (a fn that closes its own pool gets its own result).
// Close is idempotent; on a nil or zero Pool it returns an error matching ErrInvalidArgument.
func (p *Pool) Close() error {
	if p == nil || p.c == nil {
		return invalidArg("Close on a nil or zero Pool (use NewPool)")
	}
	runtime.SetFinalizer(p, nil)
	return p.c.Close()
}

// dispatch is the pool's one goroutine that waits, in the netpoller, for the completion fd
// and hands each completion to its waiter.
func (p *poolCore) dispatch() {
	defer close(p.done)
	buf := make([]C.GobridgeCompletion, completionBatch)
	// Read calls drain until it returns true; false parks the goroutine until the fd is
	// readable. It returns when the pool is gone or Close sets a deadline.
	_ = p.rc.Read(func(uintptr) bool { return !p.drain(buf) })
}

// drain delivers every completion that is ready; false means the pool handle is gone.
func (p *poolCore) drain(buf []C.GobridgeCompletion) bool {
	for {
		r := C.gb_pool_take_completions(p.h, (*C.GobridgeCompletion)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
		if resultErr(r) != nil {
			return false
		}
		n := int(r.value)
		for _, c := range buf[:n] {
			p.complete(uint64(c.job), int(c.code))
		}
		if n < len(buf) {
			return true
		}
	}
}

// poolSpinWindow bounds how long one waiter polls the completion queue itself before it parks
// on its channel (fed by the dispatcher from the netpoller). Most pool jobs finish within it,
// and a poll costs one cgo call where a netpoller wake-up costs tens of microseconds.
const poolSpinWindow = 50 * time.Microsecond

// spinPays: with one CPU, a spinning goroutine only keeps the pool thread it waits for off
// that CPU (runtime.Gosched does not give the OS thread up): Pool.Sleep(0) under taskset -c 0
// took 80 µs spinning, against a netpoller wake-up without.
var spinPays = runtime.NumCPU() > 1

// spinBatch is how many completions one poll takes (a batch of the spinner's buffer).
const spinBatch = 16

var spinBufs = sync.Pool{New: func() any { return new([spinBatch]C.GobridgeCompletion) }}

// spinWait polls for w's completion for up to poolSpinWindow, delivering every completion it
// takes to its waiter (as the dispatcher does). One goroutine spins at a time: with many
// waiters the queue never goes quiet and the dispatcher keeps up. ok is false if w is still
// waiting (or another goroutine was spinning).
func (p *poolCore) spinWait(w *poolWaiter) (err error, ok bool) {
	if !spinPays || !p.spinning.CompareAndSwap(false, true) {
		return nil, false
	}
	defer p.spinning.Store(false)
	// While registered as the pool's poller, completions do not wake the dispatcher (no
	// eventfd write per job, no netpoller wake-up competing for the CPU); the end hands
	// whatever is left to it.
	if resultErr(C.gb_pool_poll_begin(p.h)) != nil {
		return nil, false
	}
	defer C.gb_pool_poll_end(p.h)
	buf := spinBufs.Get().(*[spinBatch]C.GobridgeCompletion)
	defer spinBufs.Put(buf)
	start := time.Now()
	for i := 0; ; i++ {
		select {
		case err := <-w.ch:
			return err, true
		default:
		}
		r := C.gb_pool_poll_completions(p.h, &buf[0], spinBatch)
		if resultErr(r) != nil {
			return nil, false
		}
		for _, c := range buf[:int(r.value)] {
			p.complete(uint64(c.job), int(c.code))
		}
		if r.value == 0 && i%8 == 7 {
			if time.Since(start) > poolSpinWindow {
				return nil, false
			}
			runtime.Gosched()
		}
	}
}

func (p *poolCore) complete(job uint64, code int) {
	p.mu.Lock()
	w, ok := p.waiters[job]
	delete(p.waiters, job)
	if ok && w.job != nil {
		p.jobs.release(w.ref)
	}
	p.mu.Unlock()
	if !ok {
		return
	}
	var err error
	if code != codeOK {
		err = &Error{Code: Code(code), Message: "pool job failed"}
		if code == codeShutdown {
			err = shutdownErr("pool")
		}
	} else if w.job != nil {
		err = w.job.err()
	}
	w.ch <- err
}

// submit registers a waiter for the job that call queues and returns the job's id; call gets
// the reference of w's Do job (0 for Sleep). The lock is held across the call so the
// dispatcher cannot see the completion before the waiter is registered.
func (p *poolCore) submit(w *poolWaiter, call func(ref C.uintptr_t) C.gb_result) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, shutdownErr("pool")
	}
	if w.job != nil {
		w.ref = p.jobs.ref(w.job)
	}
	r := call(w.ref)
	if err := resultErr(r); err != nil {
		if w.job != nil {
			p.jobs.release(w.ref)
		}
		return 0, err
	}
	p.waiters[uint64(r.value)] = w
	return uint64(r.value), nil
}

// wait waits for job's completion. If ctx is done first, the job is cancelled (withdrawn if it
// has not started; its token set if it runs, so Rust code inside it can stop early) and, when
// waitAfterCancel is set (the job runs Go code that may touch the caller's memory), wait still
// waits for the completion, so it never returns while the job runs. A cancelled wait returns
// ctx.Err(), or the job's panic. received says w.ch got its one value (see waiterChans).
func (p *poolCore) wait(ctx context.Context, job uint64, w *poolWaiter, waitAfterCancel bool) (err error, received bool) {
	if err, ok := p.spinWait(w); ok {
		return err, true
	}
	select {
	case err := <-w.ch:
		return err, true
	case <-ctx.Done():
	}
	C.gb_pool_cancel(p.h, C.uint64_t(job)) // a gone pool or job: its completion is on its way
	if !waitAfterCancel {
		return ctx.Err(), false // the built-in sleep touches no Go memory; its completion is dropped
	}
	if err := <-w.ch; errors.Is(err, ErrPanicked) {
		return err, true
	}
	return ctx.Err(), true
}

// Sleep: see Pool.Sleep.
func (p *poolCore) Sleep(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return invalidArg("negative duration")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Done() == nil && p.blocked.CompareAndSwap(false, true) {
		err := p.blockingErr(resultErr(C.gb_pool_run_sleep(p.h, C.uint64_t(d))))
		p.blocked.Store(false)
		return err
	}
	w := sleepWaiters.Get().(*poolWaiter)
	job, err := p.submit(w, func(C.uintptr_t) C.gb_result { return C.gb_pool_submit_sleep(p.h, C.uint64_t(d)) })
	if err != nil {
		sleepWaiters.Put(w)
		return err
	}
	err, received := p.wait(ctx, job, w, false)
	if received {
		sleepWaiters.Put(w)
	}
	return err
}

// Do: see Pool.Do.
func (p *poolCore) Do(ctx context.Context, fn func()) error {
	if fn == nil {
		return invalidArg("nil func")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A nested Do, from inside fn on one of our threads, runs inline: queueing could deadlock.
	// Only while some Do job runs can the caller be inside one, so the thread check (a cgo
	// call) is skipped otherwise.
	if p.callbacks.Load() > 0 && p.onPoolThread() {
		return runInline(fn)
	}
	// The job and its waiter in one allocation (the fast path uses only the job).
	d := &poolDo{job: goJob{fn: fn, call: "Pool.Do", running: &p.callbacks}}
	j := &d.job
	if ctx.Done() == nil && p.blocked.CompareAndSwap(false, true) {
		err := p.runBlocking(j)
		p.blocked.Store(false)
		return err
	}
	w := &d.waiter
	*w = poolWaiter{ch: waiterChans.Get().(chan error), job: j}
	job, err := p.submit(w, func(ref C.uintptr_t) C.gb_result { return C.gb_pool_submit(p.h, ref, p.trampoline) })
	if err == nil {
		err, _ = p.wait(ctx, job, w, true) // waits for the completion even when cancelled
	}
	waiterChans.Put(w.ch)
	return err
}

// runBlocking runs j on a pool thread and waits for it inside one cgo call: the fast path of
// Do, taken by the caller that holds p.blocked.
func (p *poolCore) runBlocking(j *goJob) error {
	ref := p.blocking.ref(0, j)
	err := p.blockingErr(resultErr(C.gb_pool_run(p.h, ref, p.trampoline)))
	p.blocking.release(0, ref)
	return j.outcome(err)
}

// blockingErr maps the fast path's errors to the netpoller path's: a pool shut down or
// closed under the call is ErrShutdown, as a refused submission is.
func (p *poolCore) blockingErr(err error) error {
	if errors.Is(err, ErrShutdown) || errors.Is(err, ErrStaleHandle) {
		return shutdownErr("pool")
	}
	return err
}

// Close: see Pool.Close.
func (p *poolCore) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	// Shut down (the handle stays valid), stop the dispatcher, deliver the last completions,
	// then free the handle.
	err := resultErr(C.gb_pool_shutdown(p.h))
	p.f.SetReadDeadline(aLongTimeAgo)
	<-p.done
	p.drain(make([]C.GobridgeCompletion, completionBatch))
	if cerr := resultErr(C.gb_pool_close(p.h)); err == nil {
		err = cerr
	}
	p.f.Close()
	p.mu.Lock()
	left := p.waiters
	p.waiters = nil
	p.mu.Unlock()
	for _, w := range left {
		if w.job != nil && w.job.started.Load() {
			// Started, not reported: only a fn that is itself calling Close (its completion
			// comes after this returns). It ran: its caller gets its result once it returns.
			go func(w *poolWaiter) {
				for !w.job.finished.Load() {
					time.Sleep(time.Millisecond)
				}
				p.releaseRef(w)
				w.ch <- w.job.err()
			}(w)
			continue
		}
		if w.job != nil {
			p.releaseRef(w)
		}
		w.ch <- shutdownErr("pool")
	}
	// No callback can look a job up any more: queued jobs were failed, and a started one
	// found its job before it set started.
	p.jobs.delete()
	p.blocking.delete()
	runtime.KeepAlive(p)
	return err
}

// releaseRef gives w's job reference back (Close: its completion will never be taken).
func (p *poolCore) releaseRef(w *poolWaiter) {
	p.mu.Lock()
	p.jobs.release(w.ref)
	p.mu.Unlock()
}

// onPoolThread reports whether the caller runs on one of the pool's threads (inside a Do job).
func (p *poolCore) onPoolThread() bool {
	_, ok := p.tids[ThreadID()]
	return ok
}

// runInline runs fn on the calling goroutine, returning a panic as a *PanicError.
func runInline(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	fn()
	return nil
}
