// Command demo shows, on a small scale and in plain words, each thing the gobridge harness
// proves: thread ids with and without runtime.LockOSThread, executor thread ids, signals
// delivered under pprof, EINTR counts with and without the scoped mask, OS thread counts with
// a pool and with blocking cgo calls, and the ABI check. It exits non-zero if any does not
// hold.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

var failures int

func check(ok bool, format string, args ...any) {
	mark := "ok  "
	if !ok {
		mark = "FAIL"
		failures++
	}
	fmt.Printf("  [%s] %s\n", mark, fmt.Sprintf(format, args...))
}

func main() {
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	abi()
	// First, while the process has few threads: Go keeps every OS thread it ever made, so
	// idle threads left by the other sections would hide the growth this one shows.
	threads()
	binding()
	executors()
	signals()
	eintr()
	buffers()
	if failures > 0 {
		fmt.Printf("\n%d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("\nevery check held")
}

func abi() {
	fmt.Println("ABI check (also done by the package's init):")
	err := gobridge.CheckABI()
	check(err == nil, "ABI version %d and the layout of every #[repr(C)] type match cgo's view (%v); link mode %s", gobridge.ABIVersion, errOr(err), gobridge.LinkMode)
}

func errOr(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func spin(stop *atomic.Bool, n int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := uint64(1)
			for !stop.Load() {
				x = x*6364136223846793005 + 1442695040888963407
			}
			_ = x
		}()
	}
	return &wg
}

func binding() {
	fmt.Println("\nGoroutines and OS threads:")
	res := make(chan string)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := gobridge.ThreadID()
		tb, err := gobridge.NewThreadBound()
		if err != nil {
			res <- err.Error()
			return
		}
		defer tb.Close()
		for i := 0; i < 1000; i++ {
			runtime.Gosched()
			if gobridge.ThreadID() != tid || tb.Check() != nil {
				res <- fmt.Sprintf("moved at call %d", i)
				return
			}
		}
		res <- fmt.Sprintf("locked goroutine stayed on thread %d for 1000 calls with Gosched; its ThreadBound passed every Check", tid)
	}()
	msg := <-res
	check(!bytes.Contains([]byte(msg), []byte("moved")) && !bytes.Contains([]byte(msg), []byte("error")), "%s", msg)

	var stop atomic.Bool
	wg := spin(&stop, 16)
	tb, err := gobridge.NewThreadBound()
	if err != nil {
		check(false, "NewThreadBound: %v", err)
		return
	}
	seen := map[int]bool{}
	wrong := 0
	for i := 0; i < 20000 && wrong < 10; i++ {
		err := tb.Check()
		var wt *gobridge.WrongThreadError
		if errors.As(err, &wt) {
			wrong++
			seen[wt.Current] = true
		}
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	tb.Close()
	check(wrong > 0, "unlocked goroutine: ThreadBound owned by thread %d was checked on %d other thread(s); every such Check returned ErrWrongThread (%d times), no crash", tb.OwnerThreadID(), len(seen), wrong)
}

func executors() {
	fmt.Println("\nExecutors:")
	e, err := gobridge.NewExecutor("demo-exec")
	if err != nil {
		check(false, "NewExecutor: %v", err)
		return
	}
	defer e.Close()
	var wg sync.WaitGroup
	tids := make(chan int, 1000)
	for g := 0; g < 100; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				e.Do(context.Background(), func() { tids <- gobridge.ThreadID() })
			}
		}()
	}
	wg.Wait()
	close(tids)
	distinct := map[int]int{}
	for t := range tids {
		distinct[t]++
	}
	check(len(distinct) == 1 && distinct[e.ThreadID()] == 1000, "100 goroutines x 10 Do calls ran on %d thread(s): %v (executor thread %d, caller thread now %d)", len(distinct), distinct, e.ThreadID(), gobridge.ThreadID())
	err = e.Do(context.Background(), func() { panic("demo panic") })
	check(errors.Is(err, gobridge.ErrPanicked) && e.Ping(context.Background()) == nil, "a panic in fn came back as an error (%v) and the executor still answers Ping", err)
	e.Close()
	check(errors.Is(e.Do(context.Background(), func() {}), gobridge.ErrShutdown), "after Close, Do returns ErrShutdown")
}

func signals() {
	fmt.Println("\nSignals under pprof (gobridge handlers beside Go's):")
	fmt.Println("  (the runtime's note \"cannot set cpu profile rate\" below is expected: the rate is set to 1000 Hz before StartCPUProfile)")
	var prof bytes.Buffer
	runtime.SetCPUProfileRate(1000)
	pprof.StartCPUProfile(&prof)
	urg, err1 := gobridge.NotifySignals(syscall.SIGURG)
	pr, err2 := gobridge.NotifySignals(syscall.SIGPROF)
	usr, err3 := gobridge.NotifySignals(syscall.SIGUSR1)
	if err := errors.Join(err1, err2, err3); err != nil {
		check(false, "NotifySignals: %v", err)
		return
	}
	notify := make(chan os.Signal, 4)
	signal.Notify(notify, syscall.SIGUSR1)
	var stop atomic.Bool
	wg := spin(&stop, 4)
	var nURG, nPROF, nUSR, nNotify int
	timeout := time.After(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
loop:
	for nURG == 0 || nPROF == 0 || nUSR == 0 || nNotify == 0 {
		select {
		case <-urg.C():
			nURG++
		case <-pr.C():
			nPROF++
		case <-usr.C():
			nUSR++
		case <-notify:
			nNotify++
		case <-tick.C:
			syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		case <-timeout:
			break loop
		}
	}
	tick.Stop()
	stop.Store(true)
	wg.Wait()
	pprof.StopCPUProfile()
	signal.Stop(notify)
	check(nURG > 0 && nPROF > 0, "gobridge saw SIGURG (preemption) %d and SIGPROF (profiler) %d times, and passed them on to Go", nURG, nPROF)
	check(nUSR > 0 && nNotify > 0, "SIGUSR1 reached both gobridge's pipe (%d) and os/signal.Notify (%d)", nUSR, nNotify)
	check(prof.Len() > 0, "the CPU profile was written (%d bytes) and the process did not crash", prof.Len())
	err := gobridge.CheckSignalHandlers()
	check(err == nil, "CheckSignalHandlers: every handler is Go-compatible (%v)", errOr(err))
	urg.Close()
	pr.Close()
	usr.Close()
}

func eintr() {
	fmt.Println("\nEINTR under a storm of SIGURG/SIGPROF (tgkill every 0.5 ms):")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid, pid := gobridge.ThreadID(), os.Getpid()
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			syscall.Tgkill(pid, tid, syscall.SIGURG)
			syscall.Tgkill(pid, tid, syscall.SIGPROF)
			time.Sleep(500 * time.Microsecond)
		}
	}()
	plain, err1 := probe.SleepInterruptible(100*time.Millisecond, false)
	masked, err2 := probe.SleepInterruptible(100*time.Millisecond, true)
	stop.Store(true)
	<-done
	check(err1 == nil && plain > 0, "nanosleep(100ms) without the mask: %d EINTR", plain)
	check(err2 == nil && masked == 0, "nanosleep(100ms) with SIGURG+SIGPROF blocked for the call: %d EINTR", masked)
}

func countThreads() int {
	d, _ := os.ReadDir("/proc/self/task")
	return len(d)
}

func peak(run func()) int {
	stop := make(chan struct{})
	res := make(chan int)
	go func() {
		p := countThreads()
		for {
			select {
			case <-stop:
				res <- p
				return
			default:
				if n := countThreads(); n > p {
					p = n
				}
				time.Sleep(time.Millisecond)
			}
		}
	}()
	run()
	close(stop)
	return <-res
}

func threads() {
	fmt.Println("\nOS threads for 400 goroutines each waiting on 10 ms of blocking native work:")
	p, err := gobridge.NewPool(4)
	if err != nil {
		check(false, "NewPool: %v", err)
		return
	}
	defer p.Close()
	many := func(wait func()) func() {
		return func() {
			var wg sync.WaitGroup
			for i := 0; i < 400; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); wait() }()
			}
			wg.Wait()
		}
	}
	before := countThreads()
	poolPeak := peak(many(func() { p.Sleep(context.Background(), 10*time.Millisecond) }))
	// The blocking run goes second: the threads it makes never go away.
	blockPeak := peak(many(func() { probe.BlockingCgoSleep(10 * time.Millisecond) }))
	bound := before + 8 // the pool's 4 threads already exist; a little slack for the runtime
	check(poolPeak <= bound, "Pool.Sleep on 4 threads: %d OS threads at the peak (%+d over the %d before)", poolPeak, poolPeak-before, before)
	check(blockPeak > poolPeak, "plain blocking cgo usleep: %d OS threads at the peak (%+d)", blockPeak, blockPeak-before)
}

func buffers() {
	fmt.Println("\nBuffers:")
	p := []byte{1, 2, 3, 250}
	check(probe.Sum(p) == 256 && probe.Sum(nil) == 0, "Rust summed a Go slice in place (%d) and a nil slice (0)", probe.Sum(p))
	b, err := gobridge.NewBuffer(64)
	if err != nil {
		check(false, "NewBuffer: %v", err)
		return
	}
	probe.Fill(b.Bytes(), 1)
	check(probe.Sum(b.Bytes()) == 64, "Rust-owned 64-byte buffer filled by Rust through a Go slice view")
	first, second := b.Free(), b.Free()
	check(first == nil && errors.Is(second, gobridge.ErrStaleHandle), "Free once: %v; Free twice: %v", errOr(first), second)
}
