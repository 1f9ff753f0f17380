package gobridge

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Pool.Do whose ctx is cancelled while its job is queued behind jobs that hold every pool
// thread returns ctx.Err() while those threads are still busy, and its fn never runs (Pool.Do's
// doc: "If ctx is done first, a job that has not started is withdrawn (fn never runs)"). An
// Executor.Do withdraws a queued job at once (gb_ticket_cancel reports it withdrawn); a cancelled
// Pool.Do must not wait for the work queued ahead of it either, or ctx bounds nothing: behind an
// hour-long native job, a cancelled Do would return an hour later.
func TestStressPoolCancelledQueuedDoReturns(t *testing.T) {
	const threads = 2
	queued := stressSize(50, 500)
	p, err := NewPool(threads)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	defer func() { releaseAll(); p.Close() }()
	var errs stressErrs
	blockers := stressHoldThreads(p, threads, release, &errs) // every pool thread is now held
	defer errs.report(t)
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int64
	results := make(chan error, queued)
	for i := 0; i < queued; i++ {
		go func() { results <- p.Do(ctx, func() { ran.Add(1) }) }()
	}
	for p.pendingJobs() < threads+queued {
		runtime.Gosched() // every job is queued
	}
	cancel()
	returned := 0
	guard := time.After(10 * time.Second) // a hang guard (it takes microseconds): the threads stay held all along
	for returned < queued {
		select {
		case err := <-results:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled queued Do: %v, want context.Canceled", err)
			}
			returned++
		case <-guard:
			t.Errorf("%d of %d Pool.Do cancelled while queued have not returned after 10s while the pool's threads stay busy: the cancel does not withdraw a queued job, Do waits for a thread to reach it", queued-returned, queued)
			releaseAll()
			for ; returned < queued; returned++ {
				<-results
			}
		}
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("%d fns of cancelled queued Do ran", n)
	}
	releaseAll()
	blockers.Wait()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("%d fns of cancelled queued Do ran once the threads were free", n)
	}
}
