package gobridge_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/gobridge-rs/gobridge/go-harness/gobridge"
)

// Everything Do runs, runs on the executor's one OS thread.
func ExampleExecutor_Do() {
	e, err := gobridge.NewExecutor("example")
	if err != nil {
		panic(err)
	}
	defer e.Close()
	var tid int
	if err := e.Do(context.Background(), func() { tid = gobridge.ThreadID() }); err != nil {
		panic(err)
	}
	fmt.Println(tid == e.ThreadID())
	err = e.Do(context.Background(), func() { panic("oops") })
	fmt.Println(errors.Is(err, gobridge.ErrPanicked))
	// Output:
	// true
	// true
}

// A ThreadBound is usable only on its owner thread.
func ExampleThreadBound_Check() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tb, err := gobridge.NewThreadBound()
	if err != nil {
		panic(err)
	}
	defer tb.Close()
	fmt.Println(tb.Check())
	e, _ := gobridge.NewExecutor("elsewhere")
	defer e.Close()
	e.Do(context.Background(), func() { fmt.Println(errors.Is(tb.Check(), gobridge.ErrWrongThread)) })
	// Output:
	// <nil>
	// true
}

// Blocking native work on a bounded pool; the goroutine waits in the netpoller.
func ExamplePool_Sleep() {
	p, err := gobridge.NewPool(2)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	fmt.Println(p.Sleep(context.Background(), time.Millisecond))
	// Output: <nil>
}

// Rust-owned memory: Go reads and writes it as a slice until Free; a second Free is caught.
func ExampleBuffer() {
	b, err := gobridge.NewBuffer(4)
	if err != nil {
		panic(err)
	}
	copy(b.Bytes(), "gobr")
	fmt.Println(string(b.Bytes()), b.Len())
	fmt.Println(b.Free(), errors.Is(b.Free(), gobridge.ErrStaleHandle))
	// Output:
	// gobr 4
	// <nil> true
}

// SIGUSR1 arrives through gobridge's write-only handler.
func ExampleNotifySignals() {
	p, err := gobridge.NotifySignals(syscall.SIGUSR1)
	if err != nil {
		panic(err)
	}
	defer p.Close()
	syscall.Kill(syscall.Getpid(), syscall.SIGUSR1)
	fmt.Println(<-p.C())
	fmt.Println(gobridge.CheckSignalHandlers())
	// Output:
	// user defined signal 1
	// <nil>
}
