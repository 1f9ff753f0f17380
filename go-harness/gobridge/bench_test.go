package gobridge

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

// Boundary: a bare cgo call into a Rust no-op vs the same call through gobridge's guard.
func BenchmarkCallBare(b *testing.B) {
	for i := 0; i < b.N; i++ {
		probe.BareNoop()
	}
}

// The same, into a Rust function that returns a value (cgo's call sequence for a function with
// a result costs more than for a void one, whatever the callee does).
func BenchmarkCallBareValue(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if probe.BareValueNoop() == 0 {
			b.Fatal("ABI version 0")
		}
	}
}

func BenchmarkCallGuarded(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if code := probe.GuardedNoop(); code != 0 {
			b.Fatalf("guarded no-op returned code %d", code)
		}
	}
}

// Baseline for the executor round trip: an unbuffered request/response between two goroutines.
func BenchmarkGoChanRoundTrip(b *testing.B) {
	req, resp := make(chan func()), make(chan struct{})
	go func() {
		for f := range req {
			f()
			resp <- struct{}{}
		}
	}()
	noop := func() {}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req <- noop
		<-resp
	}
	b.StopTimer()
	close(req)
}

func BenchmarkExecutorPing(b *testing.B) {
	e := newExec(b, "gb-bench-ping")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExecutorDo(b *testing.B) {
	e := newExec(b, "gb-bench-do")
	ctx := context.Background()
	noop := func() {}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Do(ctx, noop); err != nil {
			b.Fatal(err)
		}
	}
}

// The cancellable-context path (submit + ticket fd in the netpoller), for reference.
// Executor.Do on an executor made WithPreemptibleCallbacks: the Go no-op runs with SIGURG and
// SIGPROF open, two signal-mask system calls per call. Counterpart: BenchmarkExecutorDo.
func BenchmarkExecutorDoPreemptible(b *testing.B) {
	e, err := NewExecutor("gb-bench-pre", WithPreemptibleCallbacks())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx, noop := context.Background(), func() {}
	e.Do(ctx, noop)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Do(ctx, noop); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExecutorDoCancellableCtx(b *testing.B) {
	e := newExec(b, "gb-bench-doctx")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	noop := func() {}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.Do(ctx, noop); err != nil {
			b.Fatal(err)
		}
	}
}

var sink uint64

func BenchmarkSum64KiB(b *testing.B) {
	p := make([]byte, 64<<10)
	for i := range p {
		p[i] = byte(i)
	}
	b.SetBytes(int64(len(p)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink += probe.Sum(p)
	}
}

func BenchmarkSumGo64KiB(b *testing.B) {
	p := make([]byte, 64<<10)
	for i := range p {
		p[i] = byte(i)
	}
	b.SetBytes(int64(len(p)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink += goSum(p)
	}
}

// Thread counts: 2,000 goroutines each waiting on 2 ms of blocking native work, on a 4-thread
// Pool vs in blocking cgo calls (2 ms rather than the test's 50 ms so that the pool, which
// serves 4 at a time, finishes an iteration in about a second). Reported as the process's OS
// threads at the peak ("threads" metric); the blocking variant runs last, since threads never
// go away.
func BenchmarkThreadsPoolSleep(b *testing.B) {
	p, err := NewPool(poolThreads)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	benchThreads(b, func() { p.Sleep(context.Background(), benchThreadSleep) })
}

func BenchmarkThreadsZBlockingCgo(b *testing.B) {
	benchThreads(b, func() { probe.BlockingCgoSleep(benchThreadSleep) })
}

const benchThreadSleep = 2 * time.Millisecond

func benchThreads(b *testing.B, wait func()) {
	peakAll := 0
	for i := 0; i < b.N; i++ {
		stop := make(chan struct{})
		peak := peakThreads(stop)
		var wg sync.WaitGroup
		for g := 0; g < threadGoroutines; g++ {
			wg.Add(1)
			go func() { defer wg.Done(); wait() }()
		}
		wg.Wait()
		close(stop)
		if n := <-peak; n > peakAll {
			peakAll = n
		}
	}
	b.ReportMetric(float64(peakAll), "threads")
}

func benchPool(b *testing.B, run func(p *Pool) error) {
	p, err := NewPool(4)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := run(p); err != nil {
			b.Fatal(err)
		}
	}
}

// Pool round trips from one goroutine: a Go no-op on a pool thread, and the built-in sleep of 0.
func BenchmarkPoolDoNoop(b *testing.B) {
	benchPool(b, func(p *Pool) error { return p.Do(context.Background(), func() {}) })
}

func BenchmarkPoolSleep0(b *testing.B) {
	benchPool(b, func(p *Pool) error { return p.Sleep(context.Background(), 0) })
}

// The same two with a ctx that can be cancelled: the netpoller path (with Background, one
// caller at a time waits inside a blocking cgo call instead; see Pool).
func BenchmarkPoolDoNoopCancellableCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchPool(b, func(p *Pool) error { return p.Do(ctx, func() {}) })
}

func BenchmarkPoolSleep0CancellableCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchPool(b, func(p *Pool) error { return p.Sleep(ctx, 0) })
}

// The floor of Executor.Do on this Go version: a C thread calling an exported Go no-op per
// request, the caller spinning inside one cgo call (internal/probe/floor.c).
func BenchmarkCallbackFloor(b *testing.B) {
	if err := probe.FloorStart(); err != nil {
		b.Fatal(err)
	}
	defer probe.FloorStop()
	probe.FloorCall() // the first callback on the thread pays needm
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probe.FloorCall()
	}
}

// Concurrency rows: the same call from 1, 8 and 64 goroutines, reported per call (b.N calls in
// all, spread over the goroutines). Two cores run two goroutines at once, so a per-call cost
// that does not grow with the goroutine count is about half the one-goroutine figure; shared
// state (the handle table's read lock and reference count, an executor's queue) shows up as
// growth instead.
var fanIns = []int{1, 8, 64}

// benchFanIn runs call from goroutines goroutines (b.SetParallelism rounds to a multiple of
// GOMAXPROCS; the "goroutines" metric says how many ran).
func benchFanIn(b *testing.B, goroutines int, call func() error) {
	per := goroutines / runtime.GOMAXPROCS(0)
	if per < 1 {
		per = 1
	}
	if goroutines == 1 {
		b.ReportMetric(1, "goroutines")
		for i := 0; i < b.N; i++ {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.ReportMetric(float64(per*runtime.GOMAXPROCS(0)), "goroutines")
	b.SetParallelism(per)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkFanInCallBare(b *testing.B) {
	for _, n := range fanIns {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchFanIn(b, n, func() error { probe.BareNoop(); return nil }) })
	}
}

func BenchmarkFanInCallGuarded(b *testing.B) {
	for _, n := range fanIns {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchFanIn(b, n, func() error {
				if code := probe.GuardedNoop(); code != 0 {
					return fmt.Errorf("guarded no-op returned code %d", code)
				}
				return nil
			})
		})
	}
}

func BenchmarkFanInExecutorPing(b *testing.B) {
	e := newExec(b, "gb-bench-fanin")
	ctx := context.Background()
	for _, n := range fanIns {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchFanIn(b, n, func() error { return e.Ping(ctx) }) })
	}
}

func BenchmarkFanInPoolSleep0(b *testing.B) {
	p, err := NewPool(4)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	for _, n := range fanIns {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchFanIn(b, n, func() error { return p.Sleep(ctx, 0) }) })
	}
}

// The Go baseline of the pool rows: request/response with 4 server goroutines (the pool's 4
// threads), each caller with its own reply channel.
func BenchmarkFanInGoChanRoundTrip(b *testing.B) {
	req := make(chan chan struct{})
	done := make(chan struct{})
	defer close(done)
	for i := 0; i < 4; i++ {
		go func() {
			for {
				select {
				case r := <-req:
					r <- struct{}{}
				case <-done:
					return
				}
			}
		}()
	}
	for _, n := range fanIns {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var replies sync.Pool
			benchFanIn(b, n, func() error {
				r, _ := replies.Get().(chan struct{})
				if r == nil {
					r = make(chan struct{})
				}
				req <- r
				<-r
				replies.Put(r)
				return nil
			})
		})
	}
}

// Idle cost: the process's CPU time over 5 s while an Executor and a Pool(4), each warmed up
// by a burst of jobs, sit idle. Their threads spin only for their spin window after the last
// job, then park; the metric is CPU milliseconds per 5 s (user + system, the whole process).
func BenchmarkIdleCPU(b *testing.B) {
	e := newExec(b, "gb-bench-idle")
	p, err := NewPool(4)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	var worst float64
	for i := 0; i < b.N; i++ {
		for j := 0; j < 1000; j++ {
			if err := e.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			if err := p.Sleep(ctx, 0); err != nil {
				b.Fatal(err)
			}
		}
		before := processCPU(b)
		time.Sleep(5 * time.Second)
		if ms := float64(processCPU(b)-before) / 1e6; ms > worst {
			worst = ms
		}
	}
	b.ReportMetric(worst, "cpu-ms/5s")
}

func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
