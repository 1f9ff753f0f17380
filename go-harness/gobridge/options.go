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
	stackSize   int    // 0: the platform default
	blocked     uint64 // bit n-1 for signal n
	preemptible bool   // Go callbacks run with SIGURG and SIGPROF unblocked
}

func defaultThreadOptions() threadOptions {
	return threadOptions{blocked: asyncSignals}
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

// WithBlockedSignals replaces the signals blocked on each thread from its first instruction.
// The default blocks every asynchronous standard signal (1-31 but the synchronous SIGSEGV,
// SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS and the unblockable SIGKILL, SIGSTOP): SIGURG and
// SIGPROF, so blocking native calls see no EINTR from preemption or profiling, and every other
// one, so the kernel delivers process-directed signals to Go's threads. A signal Go has no use
// for (SIGUSR1 without signal.Notify, SIGPIPE, ...) that lands on a thread Go did not create
// makes Go's handler restore the default action and re-raise it, which kills the process: with
// the default mask it never lands on gobridge's threads. WithBlockedSignals() with no signals
// blocks none. A signal that must never be blocked (SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,
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

// WithPreemptibleCallbacks makes the Go functions that Do runs (Executor.Do, Pool.Do) run with
// SIGURG and SIGPROF unblocked, for as long as each runs — and so does native code that such a
// function calls (a blocking call made from inside fn can then see EINTR, as on any Go thread:
// wrap it in WithBlocked, or submit it as a native job). Native jobs submitted to the same
// threads keep the thread's mask. With the default mask a Go function in Do runs with both blocked (the
// thread's mask is kept across callbacks), so the runtime cannot preempt it asynchronously — a
// loop without function calls holds up every stop-the-world, the garbage collector's included,
// for as long as it runs — and the CPU profiler never samples it. Use it for executors that run
// long Go loops, or that you profile. It costs two signal-mask system calls per Do (0.14 to
// 0.5 µs on the project's VM; make bench prints ExecutorDoPreemptible beside ExecutorDo).
func WithPreemptibleCallbacks() Option {
	return func(o *threadOptions) error {
		o.preemptible = true
		return nil
	}
}

// cPreemptible is the bridge's trampoline choice for these options.
func (o threadOptions) cPreemptible() C.int {
	if o.preemptible {
		return 1
	}
	return 0
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

// asyncSignals is the default mask of threads gobridge spawns: signals 1-31 but the
// synchronous and unblockable ones (real-time signals stay open: glibc uses 32 and 33 to run
// setuid and thread cancellation on every thread).
var asyncSignals = func() uint64 {
	var bits uint64
	for s := syscall.Signal(1); s <= 31; s++ {
		switch s {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE,
			syscall.SIGILL, syscall.SIGTRAP, syscall.SIGSYS:
			continue
		}
		bits |= sigBit(s)
	}
	return bits
}()

func sigBit(s syscall.Signal) uint64 { return 1 << (uint(s) - 1) }
