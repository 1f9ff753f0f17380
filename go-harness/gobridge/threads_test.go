package gobridge

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

func init() {
	childCases["threads-pool"] = func() error { return childThreads(true) }
	childCases["threads-blocking"] = func() error { return childThreads(false) }
}

// OSThreads returns the number of OS threads of this process (entries of /proc/self/task).
func osThreads() int {
	d, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	return len(d)
}

// peakThreads samples the thread count until stop is closed and returns the maximum.
func peakThreads(stop <-chan struct{}) <-chan int {
	res := make(chan int, 1)
	go func() {
		peak := osThreads()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				if n := osThreads(); n > peak {
					peak = n
				}
				res <- peak
				return
			case <-t.C:
				if n := osThreads(); n > peak {
					peak = n
				}
			}
		}
	}()
	return res
}

const (
	threadGoroutines = 2000
	threadSleep      = 50 * time.Millisecond
	poolThreads      = 4
)

func childThreads(pool bool) error {
	var p *Pool
	if pool {
		var err error
		if p, err = NewPool(poolThreads); err != nil {
			return err
		}
		defer p.Close()
	}
	before := osThreads()
	stop := make(chan struct{})
	peak := peakThreads(stop)
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := make(chan struct{})
	for i := 0; i < threadGoroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if pool {
				if err := p.Sleep(context.Background(), threadSleep); err != nil {
					failed.Add(1)
				}
			} else {
				probe.BlockingCgoSleep(threadSleep)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(stop)
	n := <-peak
	fmt.Printf("gomaxprocs=%d\nthreads_before=%d\npeak_threads=%d\n", runtime.GOMAXPROCS(0), before, n)
	if failed.Load() != 0 {
		return fmt.Errorf("%d Pool.Sleep calls failed", failed.Load())
	}
	return nil
}

// 2,000 goroutines in Pool.Sleep(50ms) on a 4-thread pool keep the process at most
// GOMAXPROCS + pool + 8 OS threads; 2,000 goroutines in a plain blocking cgo usleep go far
// beyond. Each runs in a fresh child process (thread counts never shrink in Go).
func TestThreadCountPoolVersusBlockingCgo(t *testing.T) {
	poolOut := runChild(t, "threads-pool")
	blockOut := runChild(t, "threads-blocking")
	atoi := func(out, k string) int {
		n, err := strconv.Atoi(childValue(out, k))
		if err != nil {
			t.Fatalf("child output lacks %s:\n%s", k, out)
		}
		return n
	}
	procs := atoi(poolOut, "gomaxprocs")
	poolPeak := atoi(poolOut, "peak_threads")
	blockPeak := atoi(blockOut, "peak_threads")
	bound := procs + poolThreads + 8
	t.Logf("%d goroutines sleeping %v: Pool.Sleep on %d threads peaked at %d OS threads (bound GOMAXPROCS %d + pool %d + 8 = %d); plain blocking cgo usleep peaked at %d",
		threadGoroutines, threadSleep, poolThreads, poolPeak, procs, poolThreads, bound, blockPeak)
	if poolPeak > bound {
		t.Fatalf("Pool.Sleep: %d OS threads, more than %d", poolPeak, bound)
	}
	if blockPeak <= 4*bound {
		t.Fatalf("blocking cgo: only %d OS threads; the comparison expects far more than %d", blockPeak, bound)
	}
}

func TestPoolSleepAndDo(t *testing.T) {
	p, err := NewPool(2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := p.Sleep(ctx, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	tids := make(chan int, 1)
	if err := p.Do(ctx, func() { tids <- ThreadID() }); err != nil {
		t.Fatal(err)
	}
	if tid := <-tids; tid == ThreadID() {
		t.Fatal("pool job ran on the caller's thread")
	}
	if err := p.Do(ctx, func() { panic("pool boom") }); err == nil {
		t.Fatal("panic not reported")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Sleep(cctx, time.Millisecond); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled ctx: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Sleep(ctx, time.Millisecond); err == nil {
		t.Fatal("Sleep after Close succeeded")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// Close while jobs are queued: every waiter returns (ran, or ErrShutdown); none hangs.
func TestPoolCloseWithQueuedJobs(t *testing.T) {
	p, err := NewPool(1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- p.Sleep(context.Background(), 5*time.Millisecond) }()
	}
	time.Sleep(20 * time.Millisecond) // let some queue (not an assertion)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	ok, shut := 0, 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case isShutdown(err):
			shut++
		default:
			t.Fatalf("Sleep: %v", err)
		}
	}
	t.Logf("pool close: %d ran, %d ErrShutdown", ok, shut)
}
