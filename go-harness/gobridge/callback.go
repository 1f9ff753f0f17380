package gobridge

/*
#include <signal.h>
#include <stdint.h>

void gb_runtime_signals_open(sigset_t *old);
void gb_runtime_signals_restore(const sigset_t *old);
*/
import "C"

import (
	"os"
	"runtime/debug"
	"sync/atomic"
)

// goJob is what the value passed to Rust refers to (a runtime/cgo.Handle of it, or a slot
// reference of Executor.Do, see syncJobs): the Go function to run on a Rust-owned thread, and
// what happened when it ran.
type goJob struct {
	fn       func()
	call     string        // the API that runs it ("Executor.Do", ...), for the Goexit message
	running  *atomic.Int32 // counts fn while it runs, if set (Pool.Do: the pool's callbacks)
	ran      bool          // set on the thread that runs fn, read after the call that ran it returned
	started  atomic.Bool   // fn has begun (read concurrently by Pool.Close)
	finished atomic.Bool   // fn has returned or panicked (read concurrently by Pool.Close)
	panicked bool
	value    any
	stack    []byte
}

// outcome is what a blocking Do returns once the call that ran j returned with err: fn's panic
// if it panicked (that is the answer, cancelled or not), else err, except that a success for a
// fn that never ran (the callback did not find the job: an internal fault) is an error.
func (j *goJob) outcome(err error) error {
	if jerr := j.err(); jerr != nil {
		return jerr
	}
	if err == nil && !j.ran {
		return &Error{Code: CodeStaleHandle, Message: "internal: " + j.call + "'s callback did not find its job"}
	}
	return err
}

// err is the job's outcome as an error, once the call that ran it has returned.
func (j *goJob) err() error {
	if j.panicked {
		return &PanicError{Value: j.value, Stack: j.stack}
	}
	return nil
}

// gobridgeGoCallback is the one Go function Rust calls (through gb_go_trampoline, or
// gb_go_trampoline_preemptible for WithPreemptibleCallbacks): it runs the job behind the value
// and recovers any panic, so that no Go panic ever unwinds through Rust frames (which would be
// undefined behaviour).
//
//export gobridgeGoCallback
func gobridgeGoCallback(h C.uintptr_t) {
	var j *goJob
	returned := false
	defer func() {
		r := recover()
		if j == nil {
			return
		}
		if r != nil {
			j.panicked = true
			j.value = r
			j.stack = debug.Stack()
		} else if !returned {
			goexitInCallback(j.call) // no panic and fn did not return: runtime.Goexit
		}
		j.finished.Store(true)
	}()
	if j = lookupCallbackJob(uintptr(h)); j == nil {
		return
	}
	j.ran = true
	j.started.Store(true)
	if c := j.running; c != nil {
		c.Add(1)
		defer c.Add(-1)
	}
	j.fn()
	returned = true
}

// gobridgeGoCallbackPreemptible is gobridgeGoCallback with SIGURG and SIGPROF open while the
// job runs (WithPreemptibleCallbacks; see gb_go_trampoline_preemptible for why from here).
//
//export gobridgeGoCallbackPreemptible
func gobridgeGoCallbackPreemptible(h C.uintptr_t) {
	var old C.sigset_t
	C.gb_runtime_signals_open(&old)
	defer C.gb_runtime_signals_restore(&old)
	gobridgeGoCallback(h)
}

// goexitInCallback ends the process when fn called runtime.Goexit (which t.Fatal, t.FailNow
// and t.Skip* do) inside a gobridge callback. Goexit cannot be stopped; letting it go on would
// be worse either way: on a thread gobridge created the Go runtime dies anyway ("Goexit called
// in a thread that was not created by the Go runtime") without naming the call, and on a Go
// thread (WithBlocked) it would unwind past the Rust frames below the callback, leaving the
// signal mask changed and Rust's state undefined. So gobridge says what happened, and exits.
func goexitInCallback(call string) {
	if call == "" {
		call = "a gobridge callback"
	}
	os.Stderr.WriteString("gobridge: fatal: runtime.Goexit called inside the fn of " + call +
		" (t.Fatal, t.FailNow, t.Skip* and runtime.Goexit all call it). fn runs as a callback " +
		"from native code, which a Goexit cannot unwind through; report failures from fn with " +
		"t.Error or return a value and fail after " + call + " returns.\n")
	os.Exit(2)
}
