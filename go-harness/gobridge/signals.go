package gobridge

/*
#include "bridge.h"
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
// SA_ONSTACK|SA_SIGINFO|SA_RESTART, chaining to the handler that was there before, normally
// Go's) to a channel. The handler only writes the signal number to a pipe; a goroutine reads
// the pipe in the netpoller. Unlike os/signal, it can observe the Go runtime's own signals
// (SIGURG, SIGPROF) without taking them away from the runtime.
type SignalPipe struct {
	h       C.uint64_t
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
// async preemption (SIGURG) and CPU profiling (SIGPROF) keep working.
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
	p := &SignalPipe{h: C.uint64_t(r.value), c: make(chan os.Signal, signalChanCap), done: make(chan struct{})}
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
	go p.loop(rc)
	return p, nil
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
// other SignalPipe needs it) and closes C(). It is idempotent.
func (p *SignalPipe) Close() error {
	p.once.Do(func() {
		p.f.SetReadDeadline(aLongTimeAgo)
		<-p.done
		p.f.Close()
		p.err = resultErr(C.gb_signal_pipe_close(p.h))
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
// and a *HandlerError naming the others (a handler without SA_ONSTACK runs on a goroutine
// stack and makes the runtime throw "non-Go code set up signal handler without SA_ONSTACK
// flag" the first time it chains into Go's handler).
func CheckSignalHandlers() error {
	reports, err := AuditSignals()
	if err != nil {
		return err
	}
	var bad []HandlerReport
	for _, r := range reports {
		if r.Handler && !r.GoCompatible {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		return &HandlerError{Reports: bad}
	}
	return nil
}
