package gobridge

import (
	"context"
	"errors"
	"testing"
)

// poolPath tells, from inside a Do's fn, which path the call took: "blocking" (the fast path:
// the pool's blocked flag is set and no waiter is registered for it) or "netpoller" (its waiter
// is registered). Only for a pool with one Do in flight besides those counted in others.
func poolPath(p *Pool, others int) string {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	switch {
	case len(p.c.waiters) == others+1:
		return "netpoller"
	case p.c.blocked.Load() && len(p.c.waiters) == others:
		return "blocking"
	}
	return "unknown"
}

// One caller with a ctx that can never be cancelled waits inside a blocking cgo call; a second
// one meanwhile, and any caller with a cancellable ctx, waits in the netpoller. Both run on a
// pool thread and report like any Do: a panic, a nested Do (inline), ErrShutdown after Close.
func TestPoolFastPathIsOneUncancellableCallerAtATime(t *testing.T) {
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	bg := context.Background()
	onPool := func() bool { _, ok := p.c.tids[ThreadID()]; return ok }

	var first, second, cancellable string
	hold, held := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.Do(bg, func() {
			first = poolPath(p, 0)
			if !onPool() {
				first = "off the pool"
			}
			close(held)
			<-hold
		})
	}()
	<-held
	if err := p.Do(bg, func() { second = poolPath(p, 0) }); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	if err := p.Do(ctx, func() { cancellable = poolPath(p, 0) }); err != nil {
		t.Fatal(err)
	}
	if first != "blocking" || second != "netpoller" || cancellable != "netpoller" {
		t.Fatalf("paths: first uncancellable %q, second while it ran %q, cancellable %q; want blocking, netpoller, netpoller", first, second, cancellable)
	}
	if p.c.blocked.Load() {
		t.Fatal("the fast path's flag is still set after its caller returned")
	}

	// On the fast path: a panic is returned, a nested Do runs inline on the same thread.
	var pe *PanicError
	if err := p.Do(bg, func() { panic("fast boom") }); !errors.As(err, &pe) || pe.Value != "fast boom" {
		t.Fatalf("panic on the fast path: %v", err)
	}
	var outer, inner int
	if err := p.Do(bg, func() {
		outer = ThreadID()
		if err := p.Do(bg, func() { inner = ThreadID() }); err != nil {
			t.Error(err)
		}
	}); err != nil || outer != inner || outer == 0 {
		t.Fatalf("nested Do on the fast path: %v, outer thread %d, inner %d", err, outer, inner)
	}
	if err := p.Sleep(bg, 0); err != nil {
		t.Fatal(err)
	}

	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	ran := false
	if err := p.Do(bg, func() { ran = true }); !errors.Is(err, ErrShutdown) || ran {
		t.Fatalf("Do after Close: %v (fn ran: %v), want ErrShutdown", err, ran)
	}
	if err := p.Sleep(bg, 0); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Sleep after Close: %v, want ErrShutdown", err)
	}
}

// The fast path allocates no more than Executor.Do (the job, with its waiter's room: one
// allocation; before, the job and a closure around fn were two).
func TestPoolFastPathAllocatesNoMoreThanExecutorDo(t *testing.T) {
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := newExec(t, "gb-allocs-cmp")
	bg := context.Background()
	pool := testing.AllocsPerRun(200, func() { _ = p.Do(bg, func() {}) })
	exec := testing.AllocsPerRun(200, func() { _ = e.Do(bg, func() {}) })
	if pool > exec {
		t.Fatalf("Pool.Do's fast path allocates %.1f times per call, Executor.Do %.1f", pool, exec)
	}
}
