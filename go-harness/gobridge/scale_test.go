package gobridge

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func init() {
	childCases["scale-do"] = childScaleDo
}

// scaleGoroutines is how many goroutines the scale test starts, and scaleCalls how many Do
// each makes: GOBRIDGE_SCALE_GOROUTINES / GOBRIDGE_SCALE_CALLS (`make stress`: 10,000 x 100);
// the default keeps `make test` quick.
func scaleParams() (goroutines, calls int) {
	goroutines, calls = 10_000, 5
	if raceEnabled {
		goroutines = 4_000 // the race detector's limit is 8,128 live goroutines
	}
	if v, err := strconv.Atoi(os.Getenv("GOBRIDGE_SCALE_GOROUTINES")); err == nil && v > 0 {
		goroutines = v
	}
	if v, err := strconv.Atoi(os.Getenv("GOBRIDGE_SCALE_CALLS")); err == nil && v > 0 {
		calls = v
	}
	return goroutines, calls
}

// Thousands of goroutines calling Do on one executor, with a never-cancelled and with a
// cancellable ctx, under CPU profiling at 1 kHz and GC churn: no error, every fn runs once,
// and the process stays within GOMAXPROCS(2) + a small constant OS threads (<= 64). Before,
// every waiter held an OS thread: 10,000 goroutines crashed the process past Go's 10,000-thread
// limit, and a cancellable waiter held two file descriptors.
func TestThousandsOfGoroutinesStayWithinBoundedThreads(t *testing.T) {
	out := runChild(t, "scale-do", "GOMAXPROCS=2")
	t.Logf("%s", childValue(out, "scale"))
}

func childScaleDo() error {
	goroutines, calls := scaleParams()
	e, err := NewExecutor("gb-scale")
	if err != nil {
		return err
	}
	defer e.Close()
	runtime.SetCPUProfileRate(1000)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	stop := make(chan struct{})
	peak := peakThreads(stop)
	var churn sync.WaitGroup
	churn.Add(1)
	go func() { // GC churn: garbage and collections while the waiters wait
		defer churn.Done()
		var sink [][]byte
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sink = append(sink, make([]byte, 64<<10))
			if len(sink) > 64 {
				sink = nil
				runtime.GC()
			}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ran, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := context.Background()
			if g%2 == 1 {
				c = ctx // half with a cancellable ctx (never cancelled)
			}
			for i := 0; i < calls; i++ {
				if err := e.Do(c, func() { ran.Add(1) }); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	threads := <-peak
	want := int64(goroutines * calls)
	fmt.Printf("scale=%d goroutines x %d Do: %d ran, %d errors, peak %d OS threads\n", goroutines, calls, ran.Load(), failed.Load(), threads)
	if failed.Load() != 0 {
		return fmt.Errorf("%d Do failed, first: %v", failed.Load(), firstErr.Load())
	}
	if ran.Load() != want {
		return fmt.Errorf("%d fns ran, want %d", ran.Load(), want)
	}
	if threads > 64 {
		return fmt.Errorf("peak %d OS threads, want <= 64", threads)
	}
	return nil
}
