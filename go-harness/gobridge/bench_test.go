package gobridge

import (
	"context"
	"sync"
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

// Pool.Sleep(0) from 64 goroutines, per call, beside the same fan-in of Go request/response.
func BenchmarkPoolSleep0Parallel64(b *testing.B) {
	p, err := NewPool(4)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.SetParallelism(32) // x GOMAXPROCS(2) = 64 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.Sleep(context.Background(), 0); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGoChanRoundTripParallel64(b *testing.B) {
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
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		resp := make(chan struct{})
		for pb.Next() {
			req <- resp
			<-resp
		}
	})
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
