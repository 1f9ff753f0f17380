package gobridge

/*
#include "bridge.h"
*/
import "C"

import (
	"os"
	"syscall"
)

// MinStackSize is the smallest stack WithStackSize accepts (64 KiB, the header's
// GOBRIDGE_MIN_STACK_SIZE): below it a Go callback on the thread (Do) or a modest native job
// would overflow it.
const MinStackSize = C.GOBRIDGE_MIN_STACK_SIZE

// Option configures the threads NewExecutor and NewPool spawn.
type Option func(*threadOptions) error

type threadOptions struct {
	stackSize int    // 0: the platform default
	blocked   uint64 // bit n-1 for signal n
}

func defaultThreadOptions() threadOptions {
	return threadOptions{blocked: goRuntimeSignals}
}

// WithStackSize sets each thread's stack size in bytes (MinStackSize or more; the default is
// the platform's). A smaller size is ErrInvalidArgument.
func WithStackSize(bytes int) Option {
	return func(o *threadOptions) error {
		if bytes < MinStackSize {
			return invalidArg("stack size below gobridge.MinStackSize (64 KiB)")
		}
		o.stackSize = bytes
		return nil
	}
}

// WithBlockedSignals replaces the signals blocked on each thread from its first instruction
// (the default: SIGURG and SIGPROF, the Go runtime's asynchronous signals, so blocking native
// calls on the thread see no EINTR from preemption or profiling). WithBlockedSignals() with no
// signals blocks none. A signal that must never be blocked (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGTRAP) is ErrUnblockable, reported by the constructor.
func WithBlockedSignals(sigs ...os.Signal) Option {
	return func(o *threadOptions) error {
		bits, err := signalBits(sigs)
		if err != nil {
			return err
		}
		o.blocked = bits
		return nil
	}
}

func applyOptions(opts []Option) (threadOptions, error) {
	o := defaultThreadOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// goRuntimeSignals is the default mask of threads gobridge spawns: SIGURG | SIGPROF.
var goRuntimeSignals = sigBit(syscall.SIGURG) | sigBit(syscall.SIGPROF)

func sigBit(s syscall.Signal) uint64 { return 1 << (uint(s) - 1) }
