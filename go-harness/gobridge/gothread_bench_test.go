package gobridge

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

// The prototype of an executor thread that Go created and locked (internal/probe/gothread.c),
// beside today's Rust-spawned executor. Every round trip below is one cgo call from the
// submitter that posts a request and waits for it without parking, as BenchmarkCallbackFloor
// does (spinning, then yielding: see gt_submit).

// startGoThread starts the prototype, warms it up (the first Go job on it) and stops it when
// the benchmark ends.
func startGoThread(b *testing.B) {
	probe.GoThreadStart()
	b.Cleanup(probe.GoThreadStop)
	probe.GoThreadDoNoop()
}

// A Go no-op run on the Go-created executor thread for a Go submitter: the serving cgo call
// returns, the locked goroutine calls the no-op as plain Go and re-enters C. Counterparts:
// BenchmarkCallbackFloor (the same round trip as a cgo callback on a C thread) and
// BenchmarkExecutorDo (today's Executor.Do).
func BenchmarkGoThreadDoNoop(b *testing.B) {
	startGoThread(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probe.GoThreadDoNoop()
	}
}

// A C no-op run inside the Go-created executor's serving cgo call, for a Go submitter.
// Counterpart: BenchmarkExecutorPing (a Rust no-op on today's executor thread).
func BenchmarkGoThreadNativeNoop(b *testing.B) {
	startGoThread(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		probe.GoThreadNativeNoop()
	}
}

// A C thread (standing for a Rust thread) submitting b.N jobs to the Go-created executor, each
// waited for without parking: "native" runs a C no-op inside the serving cgo call, "go" a Go no-op
// on the locked goroutine. Counterparts: BenchmarkGoThreadNativeNoop and BenchmarkGoThreadDoNoop
// (the same jobs from a Go submitter); on today's design a Rust submitter is the Rust bench
// round_trip/executor_run (benches/executor.rs).
func BenchmarkGoThreadNativeSubmitter(b *testing.B) {
	for _, c := range []struct {
		name  string
		goJob bool
	}{{"native", false}, {"go", true}} {
		b.Run(c.name, func(b *testing.B) {
			startGoThread(b)
			b.ResetTimer()
			if err := probe.GoThreadNativeSubmitter(b.N, c.goJob); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// A Go no-op round trip after the executor has been idle for longer than its 50 µs spin
// window, so that its thread has parked: 1 ms (the P of the Go-created thread's cgo call is
// usually still its own) and 20 ms (past the 10 ms after which sysmon retakes the P of a
// goroutine in a cgo call even with nothing else to run). ns/op is the round trip alone, the
// idle time excluded. The two rows of each idle time are each other's counterparts:
// GoThreadDo (the prototype) and ExecutorDo (today's Executor.Do).
func BenchmarkAfterIdle(b *testing.B) {
	for _, idle := range []time.Duration{time.Millisecond, 20 * time.Millisecond} {
		b.Run(idle.String(), func(b *testing.B) {
			b.Run("GoThreadDo", func(b *testing.B) {
				startGoThread(b)
				benchAfterIdle(b, idle, probe.GoThreadDoNoop)
			})
			b.Run("ExecutorDo", func(b *testing.B) {
				e := newExec(b, "gb-bench-idle-do")
				noop := func() {}
				benchAfterIdle(b, idle, func() {
					if err := e.Do(context.Background(), noop); err != nil {
						b.Fatal(err)
					}
				})
			})
		})
	}
}

// benchAfterIdle times call after each idle sleep and reports the mean call as ns/op, and its
// median and 90th percentile (timed by hand: StopTimer and StartTimer read the memory
// statistics, which stops the world).
func benchAfterIdle(b *testing.B, idle time.Duration, call func()) {
	calls := make([]time.Duration, b.N)
	var total time.Duration
	for i := range calls {
		time.Sleep(idle)
		start := time.Now()
		call()
		calls[i] = time.Since(start)
		total += calls[i]
	}
	slices.Sort(calls)
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(calls[b.N/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(calls[b.N*9/10].Nanoseconds()), "p90-ns")
}
