package gobridge

import (
	"context"
	"errors"
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

// pendingJobs is how many of the pool's jobs have not completed yet (waiters registered).
func (p *Pool) pendingJobs() int {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return len(p.c.waiters)
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
