package gobridge

/*
#include <signal.h>
#include <stdint.h>
#include "bridge.h"

// The address of the handler installed for sig (SIG_DFL is 0, SIG_IGN 1), read without
// changing anything; 0 if sigaction fails.
static uintptr_t gbgo_handler_address(int sig) {
	struct sigaction sa;
	if (sigaction(sig, NULL, &sa) != 0) return 0;
	return (uintptr_t)sa.sa_handler;
}
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// SignalPipe delivers signals caught by a gobridge write-only handler (installed with
// SA_ONSTACK|SA_SIGINFO, chaining to the handler that was there before, normally Go's) to a
// channel. The handler only writes the signal number to a pipe; a goroutine reads the pipe in
// the netpoller. Unlike os/signal, it can observe the Go runtime's own signals (SIGURG,
// SIGPROF) without taking them away from the runtime.
//
// # Living with os/signal
//
// gobridge's handler sits in front of whatever was installed, and passes every signal on to
// it with the outcome it would have had alone (the same exit, stop, EINTR, reaping; see the
// Rust crate's signal module). With the Go runtime's handler behind it:
//
//   - signal.Notify for a signal the runtime handles from start-up (SIGUSR1, SIGTERM, SIGHUP,
//     SIGINT, ...) does not touch the installed handler: the SignalPipe and the Notify channel
//     both receive.
//   - signal.Ignore replaces gobridge's handler with SIG_IGN, and signal.Notify for a signal the
//     runtime was not handling (SIGTSTP, or one ignored before) replaces it with the
//     runtime's. From then on the SignalPipe receives nothing; AuditSignals shows it (Ours false,
//     Replaced true, Owner naming the handler that is installed), and Close returns
//     ErrHandlerReplaced. A later NotifySignals for that signal works again once nothing can
//     chain back to gobridge's old handler: the disposition is SIG_DFL or SIG_IGN, or the Go
//     runtime's handler gobridge had chained to is back (signal.Notify or signal.Reset after
//     signal.Ignore). Otherwise it returns ErrHandlerReplaced rather than loop between two
//     handlers that chain to each other.
//   - A program started with SIGHUP or SIGINT ignored (under nohup, or as a background job of a
//     non-interactive shell) gets ErrInvalidArgument from NotifySignals for them: the runtime
//     restores that SIG_IGN after signal.Stop/Reset only if Notify found it, and with
//     gobridge's handler over it the next SIGHUP would kill the program. The same holds after
//     signal.Ignore for them. Use os/signal for those signals.
type SignalPipe struct {
	h       C.uint64_t
	bits    uint64
	f       *os.File
	c       chan os.Signal
	done    chan struct{}
	dropped atomic.Uint64
	once    sync.Once
	err     error
}

// signalChanCap is C()'s buffer; signals that arrive while it is full are dropped and counted
// (as os/signal does), never blocking the reader.
const signalChanCap = 256

// NotifySignals installs gobridge's handler for sigs and returns a SignalPipe whose channel
// receives them. Each signal is also passed on to the previous handler, so os/signal.Notify,
// async preemption (SIGURG) and CPU profiling (SIGPROF) keep working. It returns
// ErrInvalidArgument for SIGHUP or SIGINT while they are ignored, and ErrHandlerReplaced while
// someone else's handler that may chain back to gobridge's is installed (see SignalPipe).
func NotifySignals(sigs ...os.Signal) (*SignalPipe, error) {
	if len(sigs) == 0 {
		return nil, invalidArg("no signals")
	}
	bits, err := signalBits(sigs)
	if err != nil {
		return nil, err
	}
	r := C.gb_signal_pipe_new(C.uint64_t(bits))
	if err := resultErr(r); err != nil {
		return nil, err
	}
	p := &SignalPipe{h: C.uint64_t(r.value), bits: bits, c: make(chan os.Signal, signalChanCap), done: make(chan struct{})}
	fr := C.gb_signal_pipe_fd(p.h)
	if err := resultErr(fr); err != nil {
		C.gb_signal_pipe_close(p.h)
		return nil, err
	}
	f, rc, err := pollFile(int(int64(fr.value)), "gobridge-signal-pipe")
	if err != nil {
		C.gb_signal_pipe_close(p.h)
		return nil, err
	}
	p.f = f
	watch(bits, 1)
	go p.loop(rc)
	return p, nil
}

// watching counts the open SignalPipes per signal number, for HandlerReport.Replaced.
var watching [65]atomic.Int32

func watch(bits uint64, delta int32) {
	for n := 1; n <= 64; n++ {
		if bits&(1<<(n-1)) != 0 {
			watching[n].Add(delta)
		}
	}
}

func (p *SignalPipe) loop(rc syscall.RawConn) {
	defer close(p.done)
	_ = rc.Read(func(uintptr) bool {
		for {
			r := C.gb_signal_pipe_recv(p.h)
			if resultErr(r) != nil {
				return true
			}
			if r.value == 0 {
				return false // nothing pending: wait in the netpoller
			}
			select {
			case p.c <- syscall.Signal(r.value):
			default:
				p.dropped.Add(1)
			}
		}
	})
}

// C returns the channel signals are delivered on. It is closed by Close.
func (p *SignalPipe) C() <-chan os.Signal { return p.c }

// Dropped returns how many signals were dropped because C() was full.
func (p *SignalPipe) Dropped() uint64 { return p.dropped.Load() }

// Close stops delivery, uninstalls the handler (restoring the previous disposition once no
// other SignalPipe needs it) and closes C(). It returns ErrHandlerReplaced when another
// disposition had replaced gobridge's handler on one of the signals (so the pipe had stopped
// receiving it; that disposition is left in place). It is idempotent.
func (p *SignalPipe) Close() error {
	if p == nil || p.done == nil {
		return invalidArg("Close on a nil or zero SignalPipe (use NotifySignals)")
	}
	p.once.Do(func() {
		p.f.SetReadDeadline(aLongTimeAgo)
		<-p.done
		p.f.Close()
		p.err = resultErr(C.gb_signal_pipe_close(p.h))
		watch(p.bits, -1)
		close(p.c)
	})
	return p.err
}

// HandlerReport is the current disposition of one signal, as sigaction reports it.
type HandlerReport struct {
	Signal       syscall.Signal
	Handler      bool // a handler function is installed (not SIG_DFL or SIG_IGN)
	OnStack      bool // SA_ONSTACK
	SigInfo      bool // SA_SIGINFO
	Restart      bool // SA_RESTART
	GoCompatible bool // safe in a Go process: no handler, or a handler with SA_ONSTACK
	Ours         bool // installed by gobridge
	Flags        int  // raw sa_flags
	Mask         uint64
	// Owner says whose disposition is installed: "gobridge", "go" (the Go runtime's handler,
	// as found on SIGURG when this package was initialised), "other" (any other handler),
	// "default" (SIG_DFL) or "ignored" (SIG_IGN).
	Owner string
	// Replaced: a SignalPipe of this package is open on the signal but gobridge's handler is
	// not installed (signal.Ignore or signal.Notify replaced it): the pipe receives nothing,
	// and its Close will return ErrHandlerReplaced.
	Replaced bool
}

// goRuntimeHandler is the address of the Go runtime's signal handler (the same function for
// every signal it handles), read from SIGURG — which the runtime always handles, for
// preemption — before any gobridge handler can exist; 0 if it is not there.
var goRuntimeHandler = func() uintptr {
	a := uintptr(C.gbgo_handler_address(C.int(syscall.SIGURG)))
	if a <= 1 {
		return 0
	}
	return a
}()

func ownerOf(sig syscall.Signal, ours bool) string {
	a := uintptr(C.gbgo_handler_address(C.int(sig)))
	switch {
	case ours:
		return "gobridge"
	case a == 0:
		return "default"
	case a == 1:
		return "ignored"
	case a == goRuntimeHandler:
		return "go"
	}
	return "other"
}

// Advice lists how a handler departs from the flags the Go runtime installs its own with
// (SA_ONSTACK|SA_SIGINFO|SA_RESTART, every signal blocked), apart from a missing SA_ONSTACK —
// which crashes Go and which CheckSignalHandlers reports. These are advice, not crashes: a
// Crashpad-style handler (SA_ONSTACK|SA_SIGINFO, empty mask) is safe in a Go process. Nil
// without a handler.
func (r HandlerReport) Advice() []string {
	if !r.Handler {
		return nil
	}
	var advice []string
	if !r.SigInfo {
		advice = append(advice, "no SA_SIGINFO: a handler chained from it cannot get siginfo/ucontext")
	}
	if !r.Restart {
		advice = append(advice, "no SA_RESTART: system calls it interrupts fail with EINTR")
	}
	const catchable = (uint64(1)<<31 - 1) &^ (1<<(syscall.SIGKILL-1) | 1<<(syscall.SIGSTOP-1))
	if r.Mask&catchable != catchable {
		advice = append(advice, "mask does not block every signal: other handlers can interrupt it")
	}
	return advice
}

// AuditSignals reads every standard signal's disposition.
func AuditSignals() ([]HandlerReport, error) {
	var buf [64]C.GobridgeHandlerReport
	r := C.gb_signal_audit((*C.GobridgeHandlerReport)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if err := resultErr(r); err != nil {
		return nil, err
	}
	n := int(r.value)
	if n > len(buf) {
		n = len(buf)
	}
	out := make([]HandlerReport, 0, n)
	for _, b := range buf[:n] {
		sig := syscall.Signal(b.signal)
		out = append(out, HandlerReport{
			Signal:       syscall.Signal(b.signal),
			Handler:      bool(b.handler),
			OnStack:      bool(b.on_stack),
			SigInfo:      bool(b.siginfo),
			Restart:      bool(b.restart),
			GoCompatible: bool(b.go_compatible),
			Ours:         bool(b.ours),
			Flags:        int(b.flags),
			Mask:         uint64(b.mask),
			Owner:        ownerOf(sig, bool(b.ours)),
			Replaced:     int(sig) < len(watching) && watching[sig].Load() > 0 && !bool(b.ours),
		})
	}
	return out, nil
}

// HandlerError names the signals whose handlers would crash the Go runtime.
type HandlerError struct {
	Reports []HandlerReport
}

// Error names every offending signal with its sa_flags.
func (e *HandlerError) Error() string {
	names := make([]string, len(e.Reports))
	for i, r := range e.Reports {
		names[i] = fmt.Sprintf("%v (signal %d, sa_flags %#x)", r.Signal, int(r.Signal), r.Flags)
	}
	return "gobridge: signal handlers installed without SA_ONSTACK would crash the Go runtime: " + strings.Join(names, ", ")
}

// CheckSignalHandlers returns nil when every installed signal handler is safe in a Go process,
// and a *HandlerError naming the others: handlers without SA_ONSTACK, which run on a goroutine
// stack and make the runtime throw "non-Go code set up signal handler without SA_ONSTACK
// flag" the first time they chain into Go's handler. Other departures from Go's flags (no
// SA_RESTART, a partial mask) do not crash Go and are not errors; HandlerReport.Advice lists
// them.
func CheckSignalHandlers() error {
	reports, err := AuditSignals()
	if err != nil {
		return err
	}
	var bad []HandlerReport
	for _, r := range reports {
		if r.Handler && !r.OnStack {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		return &HandlerError{Reports: bad}
	}
	return nil
}
