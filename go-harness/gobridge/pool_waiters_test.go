package gobridge

import (
	"context"
	"errors"
	"math/rand"
	"sync"
	"testing"
	"time"
)

// Waiters' channels (and Sleep's waiters) are reused: a completion must still reach only the
// call it belongs to. Cancelled Sleeps return before their completion arrives; if that late
// completion landed in a reused channel, a later call would return early, with someone else's
// result. So: cancelled sleeps beside calls that must not return before their own job ran (a
// 1 ms sleep takes at least 1 ms; a Do returns nil only after fn ran), all on the netpoller path
// (a ctx that can be cancelled).
func TestPoolWaitersNeverGetAnotherCallsCompletion(t *testing.T) {
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	live, cancel := context.WithCancel(context.Background())
	defer cancel()
	const rounds = 300
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 4; g++ {
		wg.Add(3)
		go func(seed int64) { // cancellers: their sleeps' completions come after they returned
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for i := 0; i < rounds; i++ {
				ctx, cancel := context.WithTimeout(live, time.Duration(r.Intn(300))*time.Microsecond)
				err := p.Sleep(ctx, 2*time.Millisecond)
				cancel()
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					errs <- err
					return
				}
			}
		}(int64(g))
		go func() { // sleepers: their own 1 ms, never less
			defer wg.Done()
			for i := 0; i < rounds/3; i++ {
				start := time.Now()
				if err := p.Sleep(live, time.Millisecond); err != nil {
					errs <- err
					return
				}
				if took := time.Since(start); took < time.Millisecond {
					errs <- errors.New("Sleep(1 ms) returned after " + took.String() + ": another call's completion")
					return
				}
			}
		}()
		go func() { // Do callers: nil only once their own fn ran
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				ran := false
				if err := p.Do(live, func() { ran = true }); err != nil {
					errs <- err
					return
				}
				if !ran {
					errs <- errors.New("Do returned nil before its fn ran: another call's completion")
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		// Each call takes milliseconds: a completion sent into a channel that already holds
		// one blocks the dispatcher, and with it every later call. The pool is left open:
		// Close would wait for that dispatcher too.
		t.Fatal("pool calls still waiting after a minute: a completion reached the wrong waiter")
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// On the netpoller path a Sleep allocates nothing per call (its waiter and channel are reused)
// and a Do only its job and waiter (poolDo; the channel is reused).
func TestPoolNetpollerPathReusesWaiters(t *testing.T) {
	if raceEnabled {
		// Under the race detector sync.Pool drops a share of what is put back, on purpose;
		// make test runs this test again without -race (go-harness/Makefile: allocs).
		t.Skip("allocation counts need a build without -race")
	}
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sleep := testing.AllocsPerRun(500, func() { _ = p.Sleep(ctx, 0) })
	do := testing.AllocsPerRun(500, func() { _ = p.Do(ctx, func() {}) })
	// Averages: a GC in between empties the sync.Pools once.
	if sleep > 0.5 || do > 1.5 {
		t.Fatalf("allocations per call on the netpoller path: Sleep %.2f (want 0), Do %.2f (want 1)", sleep, do)
	}
}
