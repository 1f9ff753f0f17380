//! Probes for the Go harness's tests, demo and benchmarks (feature `harness`): not product
//! ABI. The header declares them inside `#if defined(GOBRIDGE_HARNESS)`, and a staticlib built
//! without the feature does not contain them (`tests/c/main.rs` checks).

use crate::Error;
use crate::buffer::{ForeignSlice, ForeignSliceMut};
use crate::executor;
use crate::ffi::{self, Status};
use crate::sigmask::{self, SignalSet};
use std::time::Duration;

/// Sums the bytes of `s` (a view lent for this call) into `*out`, as `uint64_t`.
///
/// `s` is used only during the call: pass a Go slice as
/// `{(*C.uint8_t)(unsafe.SliceData(b)), C.size_t(len(b))}`; `{NULL, 0}` is the empty slice
/// (sum 0). Threads: any.
///
/// Status: `GOBRIDGE_E_INVALID_BUFFER` (NULL with a length, length overflow, address wrap;
/// the message says which), `GOBRIDGE_E_INVALID_ARGUMENT` (`out` NULL or misaligned).
///
/// # Safety
///
/// Unless `s.ptr` is NULL, it points to `s.len` readable bytes not written by anyone during
/// the call; `out` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_sum(
    s: ForeignSlice<'_, u8>,
    out: *mut u64,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out, || Ok(s.get()?.iter().map(|&b| u64::from(b)).sum())) }
}

/// Sets every byte of `s` (a writable view lent for this call) to `value`.
///
/// Threads: any. Status: `GOBRIDGE_E_INVALID_BUFFER` (as for `gobridge_sum`; nothing is
/// written).
///
/// # Safety
///
/// Unless `s.ptr` is NULL, it points to `s.len` writable bytes that nobody else accesses
/// during the call; `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_fill(
    s: ForeignSliceMut<'_, u8>,
    value: u8,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || s.into_slice().map(|bytes| bytes.fill(value))) }
}

/// Sleeps `ns` nanoseconds with `nanosleep` on the calling thread, resuming with the remaining
/// time after each `EINTR`, and writes the number of `EINTR`s to `*eintr_count`.
///
/// With `block_runtime_signals`, SIGURG and SIGPROF (the Go runtime's preemption and profiling
/// signals) are blocked for the duration and the exact previous mask restored before return:
/// signals that arrived meanwhile stay pending and are delivered then. This is the Go harness's
/// EINTR probe: without the mask a storm of SIGURG/SIGPROF at the thread yields `EINTR`s; with
/// it, none.
///
/// Errors: `GOBRIDGE_E_INVALID_ARGUMENT` for a NULL `eintr_count`; `GOBRIDGE_E_SYS` if
/// `nanosleep` or `pthread_sigmask` fails otherwise.
///
/// Any thread; blocks the calling thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`; `eintr_count` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_sleep_interruptible(
    ns: u64,
    block_runtime_signals: bool,
    eintr_count: *mut u32,
    status: *mut Status,
) -> i32 {
    let body = || {
        let runtime_signals = SignalSet::go_runtime();
        let block = block_runtime_signals.then_some(&runtime_signals);
        sigmask::sleep_interruptible(Duration::from_nanos(ns), block)
    };
    // SAFETY:
    // - `eintr_count` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, eintr_count, body) }
}

/// A bare no-op: the baseline of the boundary benchmark (a cgo call with nothing behind it).
///
/// Any thread; never fails.
#[unsafe(no_mangle)]
pub extern "C" fn gobridge_bench_noop() {}

/// A no-op through the full guarded path (`ffi::call`: panic guard, status write-back), for
/// the benchmark against `gobridge_bench_noop`. Always returns 0.
///
/// Any thread.
///
/// # Safety
///
/// `status` is NULL or a valid `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_bench_noop_guarded(status: *mut Status) -> i32 {
    // SAFETY:
    // - `status` is as `call` requires: this function's contract.
    unsafe { ffi::call(status, || Ok(())) }
}

/// Waits up to `timeout_ns` for the running job's cancellation token
/// (`gobridge::executor::cancelled()`), polling every 100 µs, and writes whether it saw it to
/// `*out_seen`. Called from a Go function inside `Executor.Do` / `Pool.Do`, it shows that a
/// cancelled Go `ctx` reaches Rust code running in the job.
///
/// # Safety
///
/// `out_seen` is NULL or valid for a write of `bool`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_probe_wait_cancelled(
    timeout_ns: u64,
    out_seen: *mut bool,
    status: *mut Status,
) -> i32 {
    // SAFETY:
    // - `out_seen` and `status` are as `call_out` requires: this function's contract.
    unsafe {
        ffi::call_out(status, out_seen, || Ok(wait_cancelled(Duration::from_nanos(timeout_ns))))
    }
}

/// Queues, through `gobridge::capi::submit_ticket` (as a Rust author's function would), a job
/// on the executor that waits up to `timeout_ns` for its cancellation token and then fails with
/// `GOBRIDGE_E_CANCELLED` if it saw it (else succeeds), and writes the ticket to `*out_ticket`.
///
/// # Safety
///
/// `out_ticket` is NULL or valid for a write of `uint64_t`; `status` is NULL or a valid
/// `GobridgeStatus`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gobridge_probe_submit_wait_cancelled(
    executor_handle: u64,
    timeout_ns: u64,
    out_ticket: *mut u64,
    status: *mut Status,
) -> i32 {
    let job = move || {
        if wait_cancelled(Duration::from_nanos(timeout_ns)) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };
    // SAFETY:
    // - `out_ticket` and `status` are as `call_out` requires: this function's contract.
    unsafe { ffi::call_out(status, out_ticket, || super::submit_ticket(executor_handle, job)) }
}

fn wait_cancelled(timeout: Duration) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if executor::cancelled() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    executor::cancelled()
}
