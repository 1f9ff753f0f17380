package gobridge

/*
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"runtime/debug"
)

// goJob is what a runtime/cgo.Handle passed to Rust refers to: the Go function to run on a
// Rust-owned thread, and what happened when it ran.
type goJob struct {
	fn       func()
	ran      bool
	panicked bool
	value    any
	stack    []byte
}

// err is the job's outcome as an error, once the call that ran it has returned.
func (j *goJob) err() error {
	if j.panicked {
		return &PanicError{Value: j.value, Stack: j.stack}
	}
	return nil
}

// gobridgeGoCallback is the one Go function Rust calls (through gb_go_trampoline): it runs the
// job behind the handle and recovers any panic, so that no Go panic ever unwinds through Rust
// frames (which would be undefined behaviour).
//
//export gobridgeGoCallback
func gobridgeGoCallback(h C.uintptr_t) {
	var j *goJob
	defer func() {
		if r := recover(); r != nil && j != nil {
			j.panicked = true
			j.value = r
			j.stack = debug.Stack()
		}
	}()
	v, ok := cgo.Handle(h).Value().(*goJob)
	if !ok {
		return
	}
	j = v
	j.ran = true
	j.fn()
}
