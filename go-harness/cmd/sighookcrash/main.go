//go:build gobridge_sighook

// Command sighookcrash registers a SIGURG handler through signal-hook-registry (installed
// without SA_ONSTACK) in a busy Go program and waits for the Go runtime to crash with
// "non-Go code set up signal handler without SA_ONSTACK flag". It is the comparison run of the
// harness's signal proof: built only with -tags gobridge_external,gobridge_sighook against a staticlib with the
// test-only signal-hook-compare feature. Exit status 0 means it did not crash.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
	"github.com/gobridge-rs/gobridge/go-harness/internal/probe"
)

func main() {
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	if err := probe.InstallSignalHookRegistryForTest(syscall.SIGURG); err != nil {
		fmt.Fprintln(os.Stderr, "install:", err)
		os.Exit(2)
	}
	if err := gobridge.CheckSignalHandlers(); err != nil {
		fmt.Println("CheckSignalHandlers:", err)
	}
	// The same workload as the harness's signal proof: CPU profiling on (SIGPROF at 1 kHz per
	// busy thread) beside async preemption (SIGURG).
	runtime.SetCPUProfileRate(1000)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(2)
	}
	var stop atomic.Bool
	for i := 0; i < 4; i++ {
		go func() {
			x := uint64(1)
			for !stop.Load() {
				x = x*6364136223846793005 + 1442695040888963407
			}
			_ = x
		}()
	}
	// Async preemption sends SIGURG to the busy threads within milliseconds; GC adds more.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	pprof.StopCPUProfile()
	fmt.Println("NO CRASH")
}
