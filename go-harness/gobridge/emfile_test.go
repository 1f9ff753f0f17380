package gobridge

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

func init() {
	childCases["emfile-do"] = childEMFILEDo
}

// With every file descriptor in use (EMFILE), a ctx-aware Do must still work: it takes no file
// descriptor to wait (a bounded blocking wait), never returns while fn still runs, never drops
// a queued fn. (Before: 200 of 200 Do returned the EMFILE error at once, 199 fns were still
// running and wrote into the caller's memory afterwards, one never ran.) WaitTicket, which
// waits in the netpoller, falls back to the same blocking wait.
func TestDoUnderFDExhaustion(t *testing.T) {
	out := runChild(t, "emfile-do")
	t.Logf("child: fallbacks=%s, peak threads of 500 WaitTicket callers=%s", childValue(out, "fallbacks"), childValue(out, "waitticket_threads"))
}

func childEMFILEDo() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	lim.Cur = 256
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	e, err := NewExecutor("gb-emfile")
	if err != nil {
		return err
	}
	defer e.Close()
	// Thread counting needs a descriptor too: open /proc/self/task while there are some.
	taskDir, err := os.Open("/proc/self/task")
	if err != nil {
		return err
	}
	defer taskDir.Close()
	var fallbacks atomic.Int64
	testHookBlockingFallback = func() { fallbacks.Add(1) }
	// Use up every descriptor.
	var hold []*os.File
	for {
		f, err := os.Open("/dev/null")
		if err != nil {
			break
		}
		hold = append(hold, f)
	}
	defer func() {
		for _, f := range hold {
			f.Close()
		}
	}()
	const n = 200
	var ran atomic.Int64
	results := make([]int, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			slot := 0
			err := e.Do(ctx, func() {
				time.Sleep(200 * time.Microsecond) // outlasts the 50 µs blocking pre-wait
				slot = i + 1
				ran.Add(1)
			})
			if err != nil {
				errs <- fmt.Errorf("Do %d: %v", i, err)
				return
			}
			if slot != i+1 {
				errs <- fmt.Errorf("Do %d returned before its fn finished", i)
			}
			results[i] = slot
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	if ran.Load() != n {
		return fmt.Errorf("%d of %d fns ran", ran.Load(), n)
	}
	if fallbacks.Load() == 0 {
		return fmt.Errorf("no wait blocked after its spin window (%d descriptors held)", len(hold))
	}
	// WaitTicket's netpoller wait cannot get a descriptor: it degrades, and honours ctx.
	tk, err := probe.SubmitWaitCancelled(e.Handle(), 0)
	if err != nil {
		return err
	}
	if err := WaitTicket(ctx, tk); err != nil {
		return fmt.Errorf("WaitTicket with descriptors exhausted: %v", err)
	}
	// Many WaitTicket callers out of descriptors: their blocking fallback is bounded, so the
	// OS thread count stays small (before the bound: one thread per waiter).
	const waiters = 500
	stopPeak := make(chan struct{})
	peak := make(chan int, 1)
	go func() {
		max := 0
		for {
			if _, err := taskDir.Seek(0, 0); err == nil {
				if names, err := taskDir.Readdirnames(-1); err == nil && len(names) > max {
					max = len(names)
				}
			}
			select {
			case <-stopPeak:
				peak <- max
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var twg sync.WaitGroup
	terrs := make(chan error, waiters)
	for i := 0; i < waiters; i++ {
		twg.Add(1)
		go func() {
			defer twg.Done()
			tk, err := probe.SubmitWaitCancelled(e.Handle(), 2*time.Millisecond)
			if err == nil {
				err = WaitTicket(ctx, tk)
			}
			if err != nil {
				terrs <- err
			}
		}()
	}
	twg.Wait()
	close(stopPeak)
	close(terrs)
	for err := range terrs {
		return fmt.Errorf("WaitTicket out of descriptors: %v", err)
	}
	if threads := <-peak; threads > 64 || threads == 0 {
		return fmt.Errorf("%d WaitTicket callers out of descriptors peaked at %d OS threads, want <= 64", waiters, threads)
	} else {
		fmt.Printf("waitticket_threads=%d\n", threads)
	}
	fmt.Printf("fallbacks=%d\n", fallbacks.Load())
	return nil
}
