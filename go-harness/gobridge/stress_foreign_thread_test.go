package gobridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func init() {
	childCases["stress-ignored-signal-on-gobridge-thread"] = childIgnoredSignalOnGobridgeThread
}

// A SIGUSR1 that lands on one of gobridge's own threads (an Executor's or a Pool's) must not
// kill a Go process that survives it on any of its Go threads. In a Go program that has not
// called signal.Notify(SIGUSR1), the runtime drops a SIGUSR1 that arrives on a Go thread; on a
// non-Go thread its handler restores SIG_DFL and re-raises (runtime.raisebadsignal), and the
// process dies, with or without a SignalPipe on SIGUSR1 in front. The kernel gives a
// process-directed signal (kill -USR1 <pid>) to any thread that does not block it, so today a
// program with a busy Pool dies of `kill -USR1` at random; the same program without gobridge's
// threads does not.
func TestStressIgnoredSignalOnGobridgeThread(t *testing.T) {
	out, err := runChildTimeout(t, "stress-ignored-signal-on-gobridge-thread", 60*time.Second)
	if err != nil || !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("a SIGUSR1 on a gobridge thread killed the process (%v), where on a Go thread it is dropped:\n%s", err, out)
	}
	t.Logf("%s", childValue(out, "foreign"))
}

func childIgnoredSignalOnGobridgeThread() error {
	pid := os.Getpid()
	// Without gobridge: a SIGUSR1 at a Go thread (this one, locked) is dropped by the runtime.
	runtime.LockOSThread()
	if err := syscall.Tgkill(pid, ThreadID(), syscall.SIGUSR1); err != nil {
		return err
	}
	runtime.UnlockOSThread()
	runtime.Gosched()

	p, err := NotifySignals(syscall.SIGUSR1)
	if err != nil {
		return err
	}
	var got atomic.Int64
	go func() {
		for range p.C() {
			got.Add(1)
		}
	}()
	e, err := NewExecutor("gb-foreign")
	if err != nil {
		return err
	}
	defer e.Close()
	pool, err := NewPool(1)
	if err != nil {
		return err
	}
	defer pool.Close()
	var poolTid int
	if err := pool.Do(context.Background(), func() { poolTid = ThreadID() }); err != nil {
		return err
	}
	for _, tid := range []int{e.ThreadID(), poolTid} {
		if err := syscall.Tgkill(pid, tid, syscall.SIGUSR1); err != nil {
			return fmt.Errorf("tgkill %d: %v", tid, err)
		}
	}
	// Both threads run a job after the signal was sent to them: they have been back in user
	// space since, so the signal has been handled (or is blocked there).
	if err := e.Do(context.Background(), func() {}); err != nil {
		return err
	}
	if err := pool.Do(context.Background(), func() {}); err != nil {
		return err
	}
	// And the pipe still gets a process-directed SIGUSR1.
	if err := stressAwaitSignal(p, &got, syscall.SIGUSR1, new(atomic.Int64)); err != nil {
		return err
	}
	if err := p.Close(); err != nil {
		return errors.New("Close: " + err.Error())
	}
	fmt.Printf("foreign=survived SIGUSR1 at the executor's and the pool's threads; the pipe took %d\n", got.Load())
	return nil
}
