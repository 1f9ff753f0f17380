package gobridge

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

// Zero values and nil pointers are refused with ErrInvalidArgument, never a hang or a panic.
// (Before: Close on a zero Pool or SignalPipe blocked forever; Close on a nil *Executor
// panicked.)
func TestZeroValuesAreRefused(t *testing.T) {
	stressWithin(t, 30*time.Second, "zero values", func() {
		var nilExec *Executor
		var zeroExec Executor
		var zeroPool Pool
		var nilPool *Pool
		var zeroPipe SignalPipe
		for what, err := range map[string]error{
			"nil Executor Close":  nilExec.Close(),
			"zero Executor Do":    zeroExec.Do(context.Background(), func() {}),
			"zero Executor Ping":  zeroExec.Ping(context.Background()),
			"zero Pool Close":     zeroPool.Close(),
			"nil Pool Close":      nilPool.Close(),
			"zero Pool Do":        zeroPool.Do(context.Background(), func() {}),
			"zero Pool Sleep":     zeroPool.Sleep(context.Background(), 0),
			"zero SignalPipe Cls": zeroPipe.Close(),
		} {
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s: %v, want ErrInvalidArgument", what, err)
			}
		}
	})
}

// A Pool.Do whose fn closes the pool reports fn's own result (it ran), not ErrShutdown.
func TestPoolDoWhoseFnClosesThePool(t *testing.T) {
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Bool
	stressWithin(t, 60*time.Second, "Do closing its own pool", func() {
		err = p.Do(context.Background(), func() {
			if cerr := p.Close(); cerr != nil {
				t.Errorf("Close from inside fn: %v", cerr)
			}
			ran.Store(true)
		})
	})
	if err != nil || !ran.Load() {
		t.Fatalf("Do: %v (fn ran: %v), want nil", err, ran.Load())
	}
	if err := p.Do(context.Background(), func() {}); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Do after Close: %v", err)
	}
}

// A nested Pool.Do on a one-thread pool runs inline instead of deadlocking.
func TestNestedPoolDoRunsInline(t *testing.T) {
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var outer, inner int
	stressWithin(t, 60*time.Second, "nested Pool.Do", func() {
		err = p.Do(context.Background(), func() {
			outer = ThreadID()
			if err := p.Do(context.Background(), func() { inner = ThreadID() }); err != nil {
				t.Errorf("nested Do: %v", err)
			}
			if err := p.Do(context.Background(), func() { panic("nested") }); !errors.Is(err, ErrPanicked) {
				t.Errorf("nested panicking Do: %v", err)
			}
		})
	})
	if err != nil || outer == 0 || inner != outer {
		t.Fatalf("Do: %v; outer thread %d, inner %d", err, outer, inner)
	}
}

// The nested-Do check skips its thread lookup only while no Do job runs: a Do from another
// goroutine while one runs is still queued to a pool thread (named by the pool's tids), not run
// inline, and a Do from inside the running job still runs inline on that job's thread.
func TestPoolDoWhileAJobRunsIsQueuedUnlessNested(t *testing.T) {
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	running, release := make(chan int), make(chan struct{})
	outerDone := make(chan error, 1)
	go func() {
		outerDone <- p.Do(context.Background(), func() {
			running <- ThreadID()
			<-release
		})
	}()
	var outer, other int
	stressWithin(t, 60*time.Second, "Pool.Do beside a running job", func() {
		outer = <-running
		if err := p.Do(context.Background(), func() { other = ThreadID() }); err != nil {
			t.Error(err)
		}
		close(release)
		if err := <-outerDone; err != nil {
			t.Error(err)
		}
	})
	_, outerIsPool := p.c.tids[outer]
	_, otherIsPool := p.c.tids[other]
	if !outerIsPool || !otherIsPool || other == outer {
		t.Fatalf("outer job on %d, concurrent job on %d; pool threads %v", outer, other, p.c.tids)
	}
}

// Forgotten executors and pools are finalized, and a finalizer never blocks Go's one finalizer
// goroutine, even when the executor's thread is stuck in a job (before: the finalizer joined
// the thread, stalling every finalizer in the process; a forgotten Pool was never collected).
func TestFinalizersNeverBlock(t *testing.T) {
	var finalized atomic.Int64
	seen := make(chan string, 16)
	testHookFinalized = func(what string) { finalized.Add(1); seen <- what }
	defer func() { testHookFinalized = nil }()

	// An executor whose thread is busy in a job that only stops when cancelled.
	tk, exec := stuckExecutor(t)
	forgottenPool(t)
	gotExec, gotPool := false, false
	for i := 0; i < 200 && !(gotExec && gotPool); i++ {
		runtime.GC()
		select {
		case w := <-seen:
			gotExec = gotExec || w == "executor"
			gotPool = gotPool || w == "pool"
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !gotExec || !gotPool {
		t.Fatalf("finalized: executor %v, pool %v", gotExec, gotPool)
	}
	// Another finalizer still runs while the executor's Close waits for its stuck job.
	later := make(chan struct{})
	func() {
		obj := new([64]byte)
		runtime.SetFinalizer(obj, func(*[64]byte) { close(later) })
	}()
	ran := false
	for i := 0; i < 200 && !ran; i++ {
		runtime.GC()
		select {
		case <-later:
			ran = true
		case <-time.After(10 * time.Millisecond):
		}
	}
	if !ran {
		t.Fatal("a later finalizer did not run: the executor's finalizer blocked the finalizer goroutine")
	}
	// Unstick the job (its executor's Close then completes in its goroutine).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = WaitTicket(ctx, tk)
	_ = exec
}

// stuckExecutor returns a ticket of a job that runs until cancelled, on an executor nothing
// references any more (only its handle number is returned).
func stuckExecutor(t *testing.T) (ticket uint64, handle uint64) {
	e, err := NewExecutor("gb-stuck")
	if err != nil {
		t.Fatal(err)
	}
	tk, err := probe.SubmitWaitCancelled(e.Handle(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tk, e.Handle()
}

func forgottenPool(t *testing.T) {
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Sleep(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
}
