package gobridge

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// a locked goroutine keeps its thread and its ThreadBound across 10,000 calls with
// Gosched and GC in between.
func TestLockedGoroutineKeepsItsThread(t *testing.T) {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := ThreadID()
		tb, err := NewThreadBound()
		if err != nil {
			done <- err
			return
		}
		defer tb.Close()
		if tb.OwnerThreadID() != tid {
			done <- fmt.Errorf("owner %d, locked thread %d", tb.OwnerThreadID(), tid)
			return
		}
		for i := 0; i < 10000; i++ {
			runtime.Gosched()
			if i%500 == 0 {
				runtime.GC()
			}
			if got := ThreadID(); got != tid {
				done <- fmt.Errorf("call %d: thread %d, want %d", i, got, tid)
				return
			}
			if err := tb.Check(); err != nil {
				done <- fmt.Errorf("call %d: Check: %v", i, err)
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// without the lock, with 64 busy goroutines and GOMAXPROCS >= 2, the goroutine
// migrates; every Check made on another thread is ErrWrongThread (with the ids Rust saw) and
// every nil was on the owner thread.
func TestUnlockedMigrationIsCaught(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for !stop.Load() {
				for j := 0; j < 10000; j++ {
					x += j
				}
				if x == -1 {
					fmt.Print(x)
				}
			}
		}()
	}
	defer func() { stop.Store(true); wg.Wait() }()

	tb, err := NewThreadBound()
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	owner := tb.OwnerThreadID()
	wrong, right := 0, 0
	// Bounded by iterations and a generous liveness limit, not by time assertions.
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; wrong < 50 && i < 1000000 && time.Now().Before(deadline); i++ {
		current, err := tb.check()
		switch {
		case err == nil:
			if current != owner {
				t.Fatalf("false nil: Check passed on thread %d, owner %d", current, owner)
			}
			right++
		case errors.Is(err, ErrWrongThread):
			var wt *WrongThreadError
			if !errors.As(err, &wt) || wt.Owner != owner || wt.Current == owner {
				t.Fatalf("bad wrong-thread error: %#v", err)
			}
			wrong++
		default:
			t.Fatalf("Check: %v", err)
		}
	}
	t.Logf("unlocked goroutine: %d checks on the owner thread %d, %d on other threads (ErrWrongThread)", right, owner, wrong)
	if wrong == 0 {
		t.Fatal("no migration observed with 64 busy goroutines")
	}
}

// a locked goroutine that exits takes its thread with it. (If the goroutine happens
// to run on the main thread, the runtime wedges that thread instead of exiting it, as
// documented in runtime.LockOSThread; the test then tries again on another thread.)
func TestLockedGoroutineExitTakesThread(t *testing.T) {
	tid := 0
	for attempt := 0; attempt < 100; attempt++ {
		tidc := make(chan int)
		go func() {
			runtime.LockOSThread()
			tidc <- ThreadID()
			// Exit while locked: the runtime terminates the thread.
		}()
		if tid = <-tidc; tid != os.Getpid() {
			break
		}
	}
	if tid == os.Getpid() {
		t.Skip("every locked goroutine ran on the main thread")
	}
	path := fmt.Sprintf("/proc/self/task/%d", tid)
	for i := 0; ; i++ {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			t.Logf("thread %d left /proc/self/task after the locked goroutine exited", tid)
			return
		}
		if i > 3000 {
			t.Fatalf("thread %d still in /proc/self/task", tid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestThreadBoundCloseTwice(t *testing.T) {
	tb, err := NewThreadBound()
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("second Close: %v, want ErrStaleHandle", err)
	}
	if err := tb.Check(); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("Check after Close: %v, want ErrStaleHandle", err)
	}
}
