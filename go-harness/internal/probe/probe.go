// Package probe holds the harness's probes: C functions that exist only so the tests, the demo
// and the benchmarks can show what gobridge does (a Go slice read and written through views,
// an EINTR counter, no-op calls to time the boundary, a plain blocking cgo call as the
// thread-count baseline). None of them is product API.
//
// The Rust side builds them only with the `harness` cargo feature (`make build` enables it,
// `make dist` does not), and the header declares them only under GOBRIDGE_HARNESS. This package
// links no archive of its own: the symbols come from the archive package gobridge links, so a
// program must import gobridge too. It does not import gobridge, so gobridge's own tests can
// import it.
package probe

/*
#cgo CFLAGS: -I${SRCDIR}/../../gobridge -DGOBRIDGE_HARNESS
#cgo nocallback probe_guarded_noop
#cgo noescape probe_guarded_noop
#cgo nocallback gobridge_bench_noop
#cgo noescape gobridge_bench_noop
#include <string.h>
#include <unistd.h>
#include "gobridge.h"

#define PROBE_MSG_CAP 256

typedef struct probe_result {
	int32_t code;
	uint64_t value;
	char msg[PROBE_MSG_CAP];
} probe_result;

// The status and its message buffer live in the result, on the C stack: no Go memory crosses.
#define PROBE_CALL(r, call_expr)                                                           \
	GobridgeStatus st;                                                                     \
	memset(&st, 0, sizeof st);                                                             \
	st.msg = (r).msg;                                                                      \
	st.msg_cap = PROBE_MSG_CAP;                                                            \
	(r).msg[0] = '\0';                                                                     \
	(r).code = (call_expr);

static probe_result probe_sum(const uint8_t *ptr, size_t len) {
	probe_result r;
	uint64_t sum = 0;
	GobridgeForeignSlice_u8 s;
	memset(&s, 0, sizeof s);
	s.ptr = ptr;
	s.len = len;
	PROBE_CALL(r, gobridge_sum(s, &sum, &st))
	r.value = sum;
	return r;
}

static probe_result probe_fill(uint8_t *ptr, size_t len, uint8_t v) {
	probe_result r;
	GobridgeForeignSliceMut_u8 s;
	memset(&s, 0, sizeof s);
	s.ptr = ptr;
	s.len = len;
	PROBE_CALL(r, gobridge_fill(s, v, &st))
	r.value = 0;
	return r;
}

static probe_result probe_sleep_interruptible(uint64_t ns, bool block_runtime_signals) {
	probe_result r;
	uint32_t eintr = 0;
	PROBE_CALL(r, gobridge_sleep_interruptible(ns, block_runtime_signals, &eintr, &st))
	r.value = eintr;
	return r;
}

// The guarded no-op returns only the code: the benchmark times the boundary, not a 256-byte copy.
static int32_t probe_guarded_noop(void) {
	char msg[PROBE_MSG_CAP];
	GobridgeStatus st;
	memset(&st, 0, sizeof st);
	st.msg = msg;
	st.msg_cap = PROBE_MSG_CAP;
	return gobridge_bench_noop_guarded(&st);
}

static void probe_usleep(uint32_t usec) { usleep(usec); }

static bool probe_wait_cancelled(uint64_t timeout_ns) {
	bool seen = false;
	gobridge_probe_wait_cancelled(timeout_ns, &seen, NULL);
	return seen;
}

static probe_result probe_submit_wait_cancelled(uint64_t executor, uint64_t timeout_ns) {
	probe_result r;
	uint64_t ticket = 0;
	PROBE_CALL(r, gobridge_probe_submit_wait_cancelled(executor, timeout_ns, &ticket, &st))
	r.value = ticket;
	return r;
}
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// Error is a probe call's failure: the gobridge status code and Rust's message. (The product
// package turns the same codes into gobridge.Error; this package cannot import it.)
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("gobridge probe: code %d: %s", e.Code, e.Message) }

func resultErr(r *C.probe_result) error {
	if r.code == 0 {
		return nil
	}
	return &Error{Code: int(r.code), Message: C.GoString(&r.msg[0])}
}

func slicePtr(p []byte) (*C.uint8_t, C.size_t) {
	if len(p) == 0 {
		return nil, 0 // a nil or empty slice crosses as NULL, 0: never &p[0] of nothing
	}
	return (*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p))
}

// Sum returns the sum of p's bytes, computed by Rust reading the Go slice through a
// ForeignSlice view that lives for the call only. A nil or empty slice sums to 0.
func Sum(p []byte) uint64 {
	ptr, n := slicePtr(p)
	r := C.probe_sum(ptr, n)
	if err := resultErr(&r); err != nil {
		panic("gobridge probe: Sum of a valid Go slice failed: " + err.Error())
	}
	return uint64(r.value)
}

// Fill sets every byte of p to v, written by Rust through a ForeignSliceMut view that lives
// for the call only. A nil or empty slice is left alone.
func Fill(p []byte, v byte) {
	ptr, n := slicePtr(p)
	r := C.probe_fill(ptr, n, C.uint8_t(v))
	if err := resultErr(&r); err != nil {
		panic("gobridge probe: Fill of a valid Go slice failed: " + err.Error())
	}
}

// SleepInterruptible sleeps for d with nanosleep on the calling OS thread, resuming after each
// EINTR with the remaining time, and returns how many EINTRs it saw. With
// blockRuntimeSignals, SIGURG and SIGPROF are blocked for the duration of this one cgo call
// (the exact previous mask is restored before it returns, so pending signals reach Go's
// handlers then). Lock the goroutine to its thread to direct signals at it.
func SleepInterruptible(d time.Duration, blockRuntimeSignals bool) (eintr int, err error) {
	if d < 0 {
		return 0, &Error{Code: int(C.GOBRIDGE_E_INVALID_ARGUMENT), Message: "negative duration"}
	}
	r := C.probe_sleep_interruptible(C.uint64_t(d), C.bool(blockRuntimeSignals))
	return int(r.value), resultErr(&r)
}

// BlockingCgoSleep is a plain blocking cgo call (usleep) that holds the calling OS thread: the
// baseline Pool.Sleep is compared with (each goroutine in it holds one OS thread).
func BlockingCgoSleep(d time.Duration) { C.probe_usleep(C.uint32_t(d / time.Microsecond)) }

// BareNoop is a bare cgo call into a Rust no-op (no status, no guard): the benchmark baseline.
func BareNoop() { C.gobridge_bench_noop() }

// BareValueNoop is a bare cgo call into a Rust function that only returns a constant
// (gobridge_abi_version): the baseline with a result, beside the void one.
func BareValueNoop() uint32 { return uint32(C.gobridge_abi_version()) }

// GuardedNoop is a call into a Rust no-op through the full boundary: a status with a message
// buffer on the C stack, ffi::call's panic guard, the status written back. It returns the code.
func GuardedNoop() int32 { return int32(C.probe_guarded_noop()) }

// ExecutorTid calls gobridge_executor_tid with the caller's status pointer (a GobridgeStatus*,
// as gobridge.CallStatus passes) and out-pointer (nil for NULL): a real C-ABI function to test
// CallStatus with.
func ExecutorTid(executor uint64, out *int32, status unsafe.Pointer) int32 {
	return int32(C.gobridge_executor_tid(C.uint64_t(executor), (*C.int32_t)(unsafe.Pointer(out)), (*C.GobridgeStatus)(status)))
}

// WaitCancelled waits up to d, in Rust, for the cancellation token of the job it runs in
// (gobridge::executor::cancelled()) and reports whether it saw it. Call it from inside
// Executor.Do or Pool.Do to see a cancelled ctx reach Rust code.
func WaitCancelled(d time.Duration) bool { return bool(C.probe_wait_cancelled(C.uint64_t(d))) }

// SubmitWaitCancelled queues, as a Rust author's function would (gobridge::capi::submit_ticket),
// a job on the executor that waits up to d for its cancellation token and fails with
// GOBRIDGE_E_CANCELLED if it saw it; it returns the C-ABI ticket for gobridge.WaitTicket.
func SubmitWaitCancelled(executor uint64, d time.Duration) (uint64, error) {
	r := C.probe_submit_wait_cancelled(C.uint64_t(executor), C.uint64_t(d))
	return uint64(r.value), resultErr(&r)
}
