package gobridge

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

// A ctx cancelled while fn runs reaches Rust code that fn calls on the executor's thread (the
// job's token), and Do returns context.Canceled once fn has returned.
func TestExecutorDoCancellationReachesRust(t *testing.T) {
	e := newExec(t, "gb-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var seen, returned atomic.Bool
	res := make(chan error, 1)
	go func() {
		res <- e.Do(ctx, func() {
			close(started)
			seen.Store(probe.WaitCancelled(60 * time.Second))
			returned.Store(true)
		})
	}()
	<-started
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do: %v, want context.Canceled", err)
	}
	if !returned.Load() || !seen.Load() {
		t.Fatalf("Rust inside fn saw the cancellation: %v; fn had returned: %v", seen.Load(), returned.Load())
	}
	// Without cancellation the token stays clear.
	var clear bool
	if err := e.Do(context.Background(), func() { clear = !probe.WaitCancelled(time.Millisecond) }); err != nil || !clear {
		t.Fatalf("uncancelled Do: err %v, token clear %v", err, clear)
	}
}

// A ticket from an author-style Rust function (gobridge::capi::submit_ticket): WaitTicket
// returns the job's result, and a cancelled ctx makes the running job stop early.
func TestWaitTicketFromRust(t *testing.T) {
	e := newExec(t, "gb-ticket")
	tk, err := probe.SubmitWaitCancelled(e.Handle(), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := WaitTicket(context.Background(), tk); err != nil {
		t.Fatalf("uncancelled job: %v", err)
	}
	if err := WaitTicket(context.Background(), tk); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("waiting for a freed ticket: %v, want ErrStaleHandle", err)
	}
	tk, err = probe.SubmitWaitCancelled(e.Handle(), 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := WaitTicket(ctx, tk); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled job: %v, want context.DeadlineExceeded", err)
	}
	// The executor is free again: the 60 s job stopped on its token.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := e.Ping(ctx2); err != nil {
		t.Fatalf("Ping after the cancelled job: %v", err)
	}
	if _, err := probe.SubmitWaitCancelled(e.Handle()+1, 0); !isCode(err, CodeStaleHandle) {
		t.Fatalf("submit on a forged executor handle: %v", err)
	}
}

func isCode(err error, c Code) bool {
	var pe *probe.Error
	return errors.As(err, &pe) && Code(pe.Code) == c
}

// Pool.Sleep with a ctx that expires cancels the native sleep too: a one-thread pool is free
// for the next job at once, not after the first one's 60 s.
func TestPoolSleepCancellationFreesTheThread(t *testing.T) {
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.Sleep(ctx, 60*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Sleep: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := p.Sleep(ctx2, 0); err != nil {
		t.Fatalf("the next Sleep on the one-thread pool: %v (the cancelled sleep still held it)", err)
	}
}

// Pool.Do: a queued job whose ctx is cancelled never runs; a running one sees its token in
// Rust, and Do returns only after fn has returned.
func TestPoolDoCancellation(t *testing.T) {
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	started := make(chan struct{})
	var seen, returned atomic.Bool
	ctx1, cancel1 := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		first <- p.Do(ctx1, func() {
			close(started)
			seen.Store(probe.WaitCancelled(60 * time.Second))
			returned.Store(true)
		})
	}()
	<-started
	// Queued behind the running job, then cancelled: it must never run.
	var queuedRan atomic.Bool
	ctx2, cancel2 := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() { second <- p.Do(ctx2, func() { queuedRan.Store(true) }) }()
	for p.pendingJobs() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel2()
	cancel1()
	if err := <-first; !errors.Is(err, context.Canceled) || !returned.Load() || !seen.Load() {
		t.Fatalf("running job: err %v, fn returned %v, Rust saw the token %v", err, returned.Load(), seen.Load())
	}
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued job: %v", err)
	}
	if err := p.Do(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	if queuedRan.Load() {
		t.Fatal("a job cancelled while queued ran")
	}
}

// Pool options reach the threads; bad values are the matching errors.
func TestPoolOptions(t *testing.T) {
	if _, err := NewPool(2, WithStackSize(1024)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("1 KiB stack: %v", err)
	}
	if _, err := NewPool(2, WithBlockedSignals(syscall.SIGKILL)); !errors.Is(err, ErrUnblockable) {
		t.Fatalf("blocking SIGKILL: %v", err)
	}
	p, err := NewPool(2, WithStackSize(256<<10), WithBlockedSignals(syscall.SIGUSR1, syscall.SIGPROF))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var mu sync.Mutex
	masks := map[int]uint64{}
	for i := 0; i < 50; i++ {
		if err := p.Do(context.Background(), func() {
			mu.Lock()
			masks[ThreadID()] = 0
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := sigBit(syscall.SIGUSR1) | sigBit(syscall.SIGPROF)
	for tid := range masks {
		if got := sigBlkOf(t, tid); got&want != want {
			t.Errorf("pool thread %d: SigBlk %#x lacks %#x", tid, got, want)
		}
	}
	if len(masks) == 0 {
		t.Fatal("no pool thread seen")
	}
}

// pendingJobs is how many of the pool's jobs have been accepted and not yet completed: the
// waiters registered, and the caller on the blocking fast path (its flag is set just before
// it submits). With every pool thread held by a blocker, the jobs beyond them are queued.
func (p *Pool) pendingJobs() int {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	n := len(p.c.waiters)
	if p.c.blocked.Load() {
		n++
	}
	return n
}

// An executor or pool thread keeps the mask it was born with after Go callbacks: Go's needm
// unblocks SIGURG/SIGPROF on the first callback of a foreign thread and keeps it so; gobridge
// puts the mask back after each callback (it was 0x4400000 -> 0 after one Do before).
func TestThreadMaskSurvivesGoCallbacks(t *testing.T) {
	want := sigBit(syscall.SIGURG) | sigBit(syscall.SIGPROF)
	e := newExec(t, "gb-mask")
	if got := sigBlkOf(t, e.ThreadID()); got&want != want {
		t.Fatalf("executor thread born with SigBlk %#x, lacks %#x", got, want)
	}
	var inside uint64
	for i := 0; i < 3; i++ {
		if err := e.Do(context.Background(), func() { inside = sigBlk(t) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := sigBlkOf(t, e.ThreadID()); got&want != want {
		t.Fatalf("executor thread after Do: SigBlk %#x lacks %#x (inside the callback: %#x)", got, want, inside)
	}
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var tid int
	if err := p.Do(context.Background(), func() { tid = ThreadID() }); err != nil {
		t.Fatal(err)
	}
	if got := sigBlkOf(t, tid); got&want != want {
		t.Fatalf("pool thread after Do: SigBlk %#x lacks %#x", got, want)
	}
	// And the mask does its job: a native sleep on the executor after a callback sees no
	// EINTR from a storm of thread-directed SIGURG.
	stop := make(chan struct{})
	var storms sync.WaitGroup
	storms.Add(1)
	go func() {
		defer storms.Done()
		for {
			select {
			case <-stop:
				return
			default:
				syscall.Tgkill(syscall.Getpid(), e.ThreadID(), syscall.SIGURG)
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	var eintr int
	var serr error
	err = e.Do(context.Background(), func() { eintr, serr = probe.SleepInterruptible(100*time.Millisecond, false) })
	close(stop)
	storms.Wait()
	if err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	if eintr != 0 {
		t.Fatalf("nanosleep on the executor after Go callbacks saw %d EINTR from SIGURG", eintr)
	}
}

// WithPreemptibleCallbacks opens SIGURG and SIGPROF for the Go code of Do only: inside fn they
// are unblocked, and the executor's and pool's threads keep them blocked around it. And it does
// what it is for: a garbage collection completes while fn spins in a loop without function
// calls. The same loop on a default executor holds the collection up until it ends (compared
// in the same run, except under -race, where atomics are function calls and so preemption
// points).
func TestPreemptibleCallbacksOpenRuntimeSignalsForGoCodeOnly(t *testing.T) {
	want := sigBit(syscall.SIGURG) | sigBit(syscall.SIGPROF)
	e := newExec(t, "gb-preempt", WithPreemptibleCallbacks())
	p, err := NewPool(1, WithPreemptibleCallbacks())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, run := range []struct {
		name string
		do   func(func()) error
	}{
		{"Executor.Do", func(fn func()) error { return e.Do(context.Background(), fn) }},
		{"Executor.Do (cancellable ctx)", func(fn func()) error {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			return e.Do(ctx, fn)
		}},
		{"Pool.Do", func(fn func()) error { return p.Do(context.Background(), fn) }},
	} {
		for i := 0; i < 3; i++ { // the first callback on a thread runs Go's needm; later ones do not
			var inside uint64
			var tid int
			if err := run.do(func() { inside, tid = sigBlk(t), ThreadID() }); err != nil {
				t.Fatal(err)
			}
			if inside&want != 0 {
				t.Fatalf("%s, call %d: SigBlk inside fn %#x blocks %#x", run.name, i, inside, inside&want)
			}
			if got := sigBlkOf(t, tid); got&want != want {
				t.Fatalf("%s, call %d: thread's SigBlk after fn %#x lacks %#x", run.name, i, got, want)
			}
		}
	}

	// First, preemption requests racing the ends of callbacks (collections stopping the world
	// while short jobs come and go): a request that arrives as a callback returns must not
	// leave the thread unpreemptible afterwards.
	stop := make(chan struct{})
	collector := make(chan struct{})
	go func() {
		defer close(collector)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	for i := 0; i < 20000; i++ {
		if err := e.Do(context.Background(), func() {}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	<-collector
	// The bound only ends a loop that nothing stopped: generous where the GC must stop it
	// (about 6 s of iterations; it takes milliseconds), short where it cannot (0.7 s).
	if !gcCompletesDuringCallFreeLoop(t, e, 1<<34) {
		t.Fatal("WithPreemptibleCallbacks: a GC could not stop a call-free loop in Do")
	}
	if !raceEnabled && gcCompletesDuringCallFreeLoop(t, newExec(t, "gb-default"), 1<<31) {
		t.Fatal("default executor: a GC stopped a call-free loop in Do; the option's docs are wrong")
	}
}

// gcCompletesDuringCallFreeLoop runs, in e.Do, a loop without function calls that ends when a
// GC started after it has completed, or after bound iterations; it reports whether the GC
// completed first.
func gcCompletesDuringCallFreeLoop(t *testing.T, e *Executor, bound int64) bool {
	// Not the thread's first callback: in that one Go's needm has opened the runtime's signals.
	if err := e.Do(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	var started, gcDone atomic.Bool
	go func() {
		for !started.Load() {
			runtime.Gosched() // runnable, not asleep on a timer: sysmon hands it a P at once
		}
		runtime.GC() // stops the world: it must preempt the loop
		gcDone.Store(true)
	}()
	var early bool
	err := e.Do(context.Background(), func() {
		started.Store(true)
		for i := int64(0); i < bound && !gcDone.Load(); i++ {
		}
		early = gcDone.Load()
	})
	if err != nil {
		t.Fatal(err)
	}
	for !gcDone.Load() { // let the GC goroutine finish before the next loop
		time.Sleep(time.Millisecond)
	}
	return early
}
