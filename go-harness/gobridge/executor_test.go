package gobridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// everyOtherCancellable gives goroutine g a ctx that can be cancelled when g is odd and
// context.Background() when g is even, so that both of Do's paths run side by side.
func everyOtherCancellable(g int) (context.Context, context.CancelFunc) {
	if g%2 == 1 {
		return context.WithCancel(context.Background())
	}
	return context.Background(), func() {}
}

func newExec(t testing.TB, name string, opts ...Option) *Executor {
	t.Helper()
	e, err := NewExecutor(name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// 1,000 goroutines x 100 Do calls all run on the executor's one thread.
func TestExecutorThousandGoroutinesOneThread(t *testing.T) {
	e := newExec(t, "gb-thousand")
	if e.ThreadID() == ThreadID() {
		t.Fatal("executor thread is the test's thread")
	}
	const goroutines, calls = 1000, 100
	var wrong, ran atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				err := e.Do(context.Background(), func() {
					ran.Add(1)
					if ThreadID() != e.ThreadID() {
						wrong.Add(1)
					}
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ran.Load() != goroutines*calls || wrong.Load() != 0 {
		t.Fatalf("ran %d (want %d), on a wrong thread %d", ran.Load(), goroutines*calls, wrong.Load())
	}
}

// The ctx-aware path (submit + ticket fd in the netpoller) also runs everything on the
// executor's thread.
func TestExecutorDoWithCancellableContext(t *testing.T) {
	e := newExec(t, "gb-ctx")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wrong, ran atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := e.Do(ctx, func() {
					ran.Add(1)
					if ThreadID() != e.ThreadID() {
						wrong.Add(1)
					}
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if ran.Load() != 1000 || wrong.Load() != 0 {
		t.Fatalf("ran %d, wrong thread %d", ran.Load(), wrong.Load())
	}
	if err := e.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// A job that outlasts the short spin is waited for in one blocking wait that ctx can cut
// short (no file descriptor), and a ctx cancelled after the job started does not abandon it:
// Do returns context.Canceled, but only once fn has finished.
func TestExecutorLongJobWaitAndStartedJobsFinish(t *testing.T) {
	e := newExec(t, "gb-longjob")
	var blocking, netpoll atomic.Int64
	testHookBlockingFallback = func() { blocking.Add(1) }
	testHookNetpollWait = func() { netpoll.Add(1) }
	defer func() { testHookBlockingFallback, testHookNetpollWait = nil, nil }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Do(ctx, func() { time.Sleep(20 * time.Millisecond) }); err != nil {
		t.Fatalf("long job: %v", err)
	}
	if blocking.Load() != 1 || netpoll.Load() != 0 {
		t.Fatalf("a 20 ms job: %d blocking waits, %d netpoller waits; want 1, 0", blocking.Load(), netpoll.Load())
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	started := make(chan struct{})
	var finished atomic.Bool
	res := make(chan error)
	go func() {
		res <- e.Do(ctx2, func() {
			close(started)
			time.Sleep(20 * time.Millisecond) // cancelled meanwhile
			finished.Store(true)
		})
	}()
	<-started
	cancel2()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do of a job cancelled after it started: %v, want context.Canceled", err)
	}
	if !finished.Load() {
		t.Fatal("Do returned before the started job finished")
	}
}

// Do on a cancelled context does not run fn.
func TestExecutorCancelledContextDoesNotRun(t *testing.T) {
	e := newExec(t, "gb-cancelled")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := e.Do(ctx, func() { ran = true }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do: %v, want context.Canceled", err)
	}
	if ran {
		t.Fatal("fn ran on a cancelled context")
	}
}

// Cancelling a context while the job is queued behind another withdraws it: fn never runs.
func TestExecutorCancelQueuedJob(t *testing.T) {
	e := newExec(t, "gb-cancelq")
	release := make(chan struct{})
	started := make(chan struct{})
	blockerDone := make(chan error)
	go func() {
		blockerDone <- e.Do(context.Background(), func() { close(started); <-release })
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	submitted := make(chan struct{})
	testHookSubmitted = func() { close(submitted) }
	defer func() { testHookSubmitted = nil }()
	var ran atomic.Bool
	res := make(chan error)
	go func() { res <- e.Do(ctx, func() { ran.Store(true) }) }()
	<-submitted
	testHookSubmitted = nil
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Do: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-blockerDone; err != nil {
		t.Fatal(err)
	}
	if err := e.Ping(context.Background()); err != nil { // the queue has moved past the withdrawn job
		t.Fatal(err)
	}
	if ran.Load() {
		t.Fatal("a withdrawn job ran")
	}
}

// Close with jobs queued: every Do returns, each either ran (nil) or ErrShutdown
// (and never ran); none is lost; later Do returns ErrShutdown; Close is idempotent.
func TestExecutorCloseWithQueuedJobs(t *testing.T) {
	e, err := NewExecutor("gb-close")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	started := make(chan struct{})
	blockerDone := make(chan error)
	go func() {
		blockerDone <- e.Do(context.Background(), func() { close(started); <-release })
	}()
	<-started

	const queued = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// MaxBlockedWaiters-1 of them get a slot and are queued in Rust behind the blocker; the
	// rest wait for a slot in Go. Either way each must come back: ran, or ErrShutdown.
	var submitted atomic.Int64
	testHookSubmitted = func() { submitted.Add(1) }
	defer func() { testHookSubmitted = nil }()
	var ranCount atomic.Int64
	ranFlags := make([]atomic.Bool, queued)
	results := make(chan struct {
		i   int
		err error
	}, queued)
	for i := 0; i < queued; i++ {
		go func(i int) {
			err := e.Do(ctx, func() { ranFlags[i].Store(true); ranCount.Add(1) })
			results <- struct {
				i   int
				err error
			}{i, err}
		}(i)
	}
	for submitted.Load() < MaxBlockedWaiters-1 {
		runtimeGosched()
	}
	closed := make(chan error)
	go func() { closed <- e.Close() }()
	// Close refuses new work at once; the blocker is still running.
	for !e.shuttingDown() {
		runtimeGosched()
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-blockerDone; err != nil {
		t.Fatalf("blocker: %v", err)
	}
	shut, ok := 0, 0
	for i := 0; i < queued; i++ {
		r := <-results
		switch {
		case r.err == nil:
			if !ranFlags[r.i].Load() {
				t.Errorf("job %d: nil error but fn did not run", r.i)
			}
			ok++
		case errors.Is(r.err, ErrShutdown):
			if ranFlags[r.i].Load() {
				t.Errorf("job %d: ErrShutdown but fn ran", r.i)
			}
			shut++
		default:
			t.Errorf("job %d: %v", r.i, r.err)
		}
	}
	t.Logf("close with %d queued jobs: %d ran, %d returned ErrShutdown, 0 lost", queued, ok, shut)
	if int(ranCount.Load()) != ok {
		t.Fatalf("%d functions ran but %d Do calls returned nil", ranCount.Load(), ok)
	}
	if err := e.Do(context.Background(), func() {}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Do after Close: %v", err)
	}
	if err := e.Ping(context.Background()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Ping after Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A panic in fn is recovered on the Go side and returned; the executor lives on.
func TestExecutorPanicIsReturned(t *testing.T) {
	e := newExec(t, "gb-panic")
	err := e.Do(context.Background(), func() { panic("boom") })
	var pe *PanicError
	if !errors.Is(err, ErrPanicked) || !errors.As(err, &pe) || pe.Value != "boom" {
		t.Fatalf("Do: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Do(ctx, func() { panic(fmt.Errorf("boom2")) }); !errors.Is(err, ErrPanicked) {
		t.Fatalf("Do (ctx path): %v", err)
	}
	if err := e.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Do from 100 goroutines concurrently, and nested Do on two executors (and on the
// same one, which runs inline).
func TestExecutorConcurrentAndNested(t *testing.T) {
	a := newExec(t, "gb-a")
	b := newExec(t, "gb-b")
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, cancel := everyOtherCancellable(g)
			defer cancel()
			err := a.Do(ctx, func() {
				if ThreadID() != a.ThreadID() {
					bad.Add(1)
				}
				if err := b.Do(ctx, func() {
					if ThreadID() != b.ThreadID() {
						bad.Add(1)
					}
				}); err != nil {
					bad.Add(1)
				}
				if err := a.Do(ctx, func() { // same executor: runs inline
					if ThreadID() != a.ThreadID() {
						bad.Add(1)
					}
				}); err != nil {
					bad.Add(1)
				}
				if ThreadID() != a.ThreadID() {
					bad.Add(1)
				}
			})
			if err != nil {
				bad.Add(1)
			}
		}(g)
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d nested calls went wrong", bad.Load())
	}
}

func TestExecutorNilFuncAndName(t *testing.T) {
	e := newExec(t, "")
	if err := e.Do(context.Background(), nil); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("Do(nil): %v", err)
	}
	if e.ThreadID() <= 0 {
		t.Fatal("no tid")
	}
}

// Options reach the Rust thread: the stack size and the blocked set are checked there (an
// unblockable signal is Rust's ErrUnblockable), and the mask is the one the thread has.
func TestExecutorOptions(t *testing.T) {
	if _, err := NewExecutor("tiny", WithStackSize(4096)); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("4 KiB stack: %v", err)
	}
	if _, err := NewExecutor("segv", WithBlockedSignals(syscall.SIGSEGV)); !errors.Is(err, ErrUnblockable) {
		t.Fatalf("blocking SIGSEGV: %v", err)
	}
	e, err := NewExecutor("opts", WithStackSize(1<<20), WithBlockedSignals(syscall.SIGUSR2))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	mask := sigBlkOf(t, e.ThreadID())
	if mask != sigBit(syscall.SIGUSR2) {
		t.Fatalf("SigBlk of the executor thread = %#x, want only SIGUSR2 (%#x)", mask, sigBit(syscall.SIGUSR2))
	}
	if e.Handle() == 0 {
		t.Fatal("Handle() is 0")
	}
}

// Every Do runs the fn it was given, exactly once, whichever of the executor's slots carried
// it and whether or not its ctx can be cancelled: 64 goroutines (16 times the slots), each
// counting its own calls.
func TestExecutorDoRunsEachCallersOwnFunc(t *testing.T) {
	e := newExec(t, "gb-own")
	const goroutines, calls = 64, 200
	var counts [goroutines]atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, cancel := everyOtherCancellable(g)
			defer cancel()
			for i := 0; i < calls; i++ {
				if err := e.Do(ctx, func() { counts[g].Add(1) }); err != nil {
					t.Errorf("goroutine %d: %v", g, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	for g := range counts {
		if n := counts[g].Load(); n != calls {
			t.Errorf("goroutine %d: its fn ran %d times, want %d", g, n, calls)
		}
	}
}

// Ping from inside fn on the executor's own thread, under MaxBlockedWaiters nested Do calls
// that hold every blocking-wait slot: it runs inline instead of waiting for a slot that only
// this thread's return would free. (Nested Do and Ping run inline in Rust.)
func TestPingInsideNestedDoHoldingEverySlot(t *testing.T) {
	e := newExec(t, "gb-ping-nest")
	var nest func(depth int) error
	nest = func(depth int) error {
		if depth == 0 {
			return e.Ping(context.Background())
		}
		var inner error
		if err := e.Do(context.Background(), func() { inner = nest(depth - 1) }); err != nil {
			return err
		}
		return inner
	}
	stressWithin(t, 60*time.Second, "Ping inside nested Do", func() {
		if err := nest(MaxBlockedWaiters); err != nil {
			t.Error(err)
		}
	})
}
