package gobridge

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func init() {
	childCases["goexit-executor-do"] = func() error {
		e, err := NewExecutor("gb-goexit")
		if err != nil {
			return err
		}
		return e.Do(context.Background(), runtime.Goexit)
	}
	childCases["goexit-pool-do"] = func() error {
		p, err := NewPool(1)
		if err != nil {
			return err
		}
		return p.Do(context.Background(), runtime.Goexit)
	}
	childCases["goexit-with-blocked"] = func() error {
		runtime.LockOSThread()
		return WithBlocked(runtime.Goexit, syscall.SIGINT)
	}
}

// runtime.Goexit (t.Fatal) inside fn never hangs and never leaves a mask changed: the process
// ends at once with a message naming gobridge, the call and Goexit. (Before: in Do and Pool.Do
// the runtime died with "Goexit called in a thread that was not created by the Go runtime",
// naming nothing of ours; in WithBlocked the Rust frames were abandoned with SIGINT blocked
// and the process hung.)
func TestGoexitInCallbackEndsTheProcessWithAClearMessage(t *testing.T) {
	for _, c := range []struct{ child, call string }{
		{"goexit-executor-do", "Executor.Do"},
		{"goexit-pool-do", "Pool.Do"},
		{"goexit-with-blocked", "WithBlocked"},
	} {
		t.Run(c.call, func(t *testing.T) {
			out, err := runChildTimeout(t, c.child, 60*time.Second)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("child exit: %v (want status 2):\n%s", err, out)
			}
			want := "gobridge: fatal: runtime.Goexit called inside the fn of " + c.call
			if !strings.Contains(out, want) {
				t.Fatalf("child output lacks %q:\n%s", want, out)
			}
			if strings.Contains(out, "CHILD-OK") {
				t.Fatalf("the child went on after Goexit:\n%s", out)
			}
		})
	}
}
